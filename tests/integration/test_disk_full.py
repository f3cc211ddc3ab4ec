"""A full disk: the log cannot take an event, so the client gets 503 with the
reason, never a 200 for an event that is not in the log; once there is room
again, serving goes on and the log stays whole.

Uses a small tmpfs as the data directory, so it needs root (as CI has)."""

from __future__ import annotations

import http.client
import os
import subprocess
from pathlib import Path

import pytest

from conftest import tail_lines


@pytest.fixture
def small_fs(tmp_path: Path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(mnt)],
                       capture_output=True, timeout=10)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=10)


def test_full_disk_answers_503_with_the_reason_and_logs_every_200(bin_path, start_server, small_fs):
    data = small_fs / "data"
    # Leave the log about 16 KiB of room.
    filler = small_fs / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * (128 * 1024 - 16 * 1024))
    server = start_server("--threads", "1", data=data)

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    ok = 0
    refused = None
    for i in range(2000):
        conn.request("GET", "/purchase_a_sword", headers={"X-Request-Id": str(i)})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status == 200:
            ok += 1
            continue
        refused = (resp.status, resp.getheader("Retry-After"), body)
        break
    conn.close()
    assert refused is not None, "2000 events fitted in 16 KiB?"
    status, retry_after, body = refused
    assert status == 503
    assert retry_after == "1"
    assert b"No space left on device" in body, body
    assert ok > 20

    # Every 200 is in the log, once, and nothing else is.
    lines = tail_lines(bin_path, data)
    assert len(lines) == ok
    assert [int(l.split(b'"X-Request-Id":"')[1].split(b'"')[0]) for l in lines] == list(range(ok))

    # Room again: the same server serves and logs.
    os.unlink(filler)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/", headers={"X-Request-Id": "after"})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.read() == b"This is the default response!\n"
    conn.close()
    lines = tail_lines(bin_path, data)
    assert len(lines) == ok + 1
    assert b'"X-Request-Id":"after"' in lines[-1]
