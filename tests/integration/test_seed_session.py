"""The seed's session, replayed with the seed's own clients: ab against the game
API, then the log read back like `kafkacat -C -o beginning`."""

import json
import re
import shutil
import subprocess

import pytest

from conftest import tail_lines

pytestmark = pytest.mark.skipif(shutil.which("ab") is None, reason="ab (apache2-utils) not installed")


def ab(url: str, *args: str, n: int = 10) -> dict:
    r = subprocess.run(
        ["ab", "-n", str(n), *args, url],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, f"ab failed: {out}\n{r.stderr!r}"
    stats = {}
    for key in ("Complete requests", "Failed requests", "Keep-Alive requests", "Non-2xx responses"):
        m = re.search(rf"^{key}:\s+(\d+)", out, re.M)
        if m:
            stats[key] = int(m.group(1))
    m = re.search(r"^Document Length:\s+(\d+) bytes", out, re.M)
    if m:
        stats["Document Length"] = int(m.group(1))
    stats["output"] = out
    return stats


def seed_event(event_type: str, host: str, **extra) -> bytes:
    fields = {"event_type": event_type, **extra, "Host": host,
              "User-Agent": "ApacheBench/2.3", "Accept": "*/*"}
    return json.dumps(fields, separators=(",", ":")).encode()


def test_seed_ab_session_logs_every_request_in_order(server, bin_path):
    runs = [
        ("user1.comcast.com", "/", 30, seed_event("default", "user1.comcast.com")),
        ("user1.comcast.com", "/purchase_a_sword", 17, seed_event("purchase_sword", "user1.comcast.com")),
        ("user2.att.com", "/", 30, seed_event("default", "user2.att.com")),
        ("user2.att.com", "/purchase_a_sword", 17, seed_event("purchase_sword", "user2.att.com")),
        ("user1.comcast.com", "/purchase_a_knife", 17,
         seed_event("purchase_knife", "user1.comcast.com", description="very sharp knife")),
    ]
    expected = []
    for host, path, length, event in runs:
        s = ab(server.url + path, "-H", f"Host: {host}")
        assert s["Complete requests"] == 10, s["output"]
        assert s["Failed requests"] == 0, s["output"]
        assert "Non-2xx responses" not in s, s["output"]
        assert s["Document Length"] == length, s["output"]
        expected += [event] * 10

    lines = tail_lines(bin_path, server.data, "-o", "beginning")
    assert len(lines) == 50
    assert lines == expected


def test_seed_knife_event_has_description_after_event_type(server, bin_path):
    s = ab(server.url + "/purchase_a_knife", "-H", "Host: user2.att.com", n=1)
    assert s["Complete requests"] == 1 and s["Failed requests"] == 0
    [line] = tail_lines(bin_path, server.data)
    assert line == (b'{"event_type":"purchase_knife","description":"very sharp knife",'
                    b'"Host":"user2.att.com","User-Agent":"ApacheBench/2.3","Accept":"*/*"}')


def test_ab_keepalive_logs_exactly_n_events(server, bin_path):
    s = ab(server.url + "/purchase_a_sword", "-k", "-c", "4", "-H", "Host: user1.comcast.com", n=200)
    assert s["Complete requests"] == 200, s["output"]
    assert s["Failed requests"] == 0, s["output"]
    assert s["Keep-Alive requests"] == 200, s["output"]
    assert s["Document Length"] == 17
    lines = tail_lines(bin_path, server.data)
    assert len(lines) == 200
    for line in lines:
        ev = json.loads(line)
        assert ev["event_type"] == "purchase_sword"
        assert ev["Host"] == "user1.comcast.com"
        assert ev["Connection"] == "Keep-Alive"


def test_ab_concurrent_keepalive_logs_exactly_n_events(server, bin_path):
    s = ab(server.url + "/", "-k", "-c", "50", "-H", "Host: user2.att.com", n=3000)
    assert s["Complete requests"] == 3000, s["output"]
    assert s["Failed requests"] == 0, s["output"]
    assert "Non-2xx responses" not in s, s["output"]
    lines = tail_lines(bin_path, server.data)
    assert len(lines) == 3000
    want = {"event_type": "default", "Connection": "Keep-Alive", "Host": "user2.att.com",
            "User-Agent": "ApacheBench/2.3", "Accept": "*/*"}
    assert set(lines) == {json.dumps(want, separators=(",", ":")).encode()}  # ab's header order
