"""A damaged embedded log with the real binary: a flipped byte, a deleted middle
segment, a log restored from a backup. Nothing acknowledged is lost or silently
skipped: serve keeps every valid record and never reuses an offset, tail and
extract read everything or fail with one line naming segment and offset, and
--skip-damaged reads past the damage, naming every range it skips."""

from __future__ import annotations

import json
import shutil
import signal
import struct
import subprocess
from pathlib import Path

import pyarrow.dataset as pads

from conftest import REPO, extract, get, run_questlog, seed_events

HEADER = 24  # crc32c u32, length u32, offset i64, timestamp i64 (docs/formats.md)

INCREMENTAL = """
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "incremental"
"""


def segments(data: Path) -> list[Path]:
    return sorted((data / "events" / "0").glob("*.log"))


def base(segment: Path) -> int:
    return int(segment.stem)


def record_starts(segment: Path) -> list[int]:
    """The byte where each record of an undamaged segment starts."""
    data = segment.read_bytes()
    starts, at = [], 0
    while at < len(data):
        starts.append(at)
        (length,) = struct.unpack_from("<I", data, at + 4)
        at += HEADER + length
    return starts


def flip(path: Path, at: int) -> None:
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0x01]))


def tail(bin_path: str, data: Path, *args: str) -> subprocess.CompletedProcess:
    return run_questlog(bin_path, "tail", "--data", str(data), "-e", *args, timeout=30)


def extract_quiet(bin_path: str, job: Path, data: Path, lake: Path, *args: str) -> subprocess.CompletedProcess:
    return extract(bin_path, job, data, lake, "--show", "0", *args, timeout=60)


def one_error_line(r: subprocess.CompletedProcess) -> str:
    err = r.stderr.decode()
    assert r.returncode != 0, err
    assert err.startswith("questlog: ") and err.count("\n") == 1, err
    return err


def ok(r: subprocess.CompletedProcess) -> str:
    err = r.stderr.decode()
    assert r.returncode == 0, err
    return err


def send(server, prefix: str, n: int) -> None:
    for i in range(n):
        r = get(server.addr, "/purchase_a_sword", extra=f"X-Request-Id: {prefix}-{i}\r\n".encode())
        assert r.status == 200, r


def request_ids(lines: list[bytes]) -> list[str]:
    return [e["X-Request-Id"] for e in map(json.loads, lines) if "X-Request-Id" in e]


def swords(first: int, end: int) -> int:
    """Sword purchases among seed events [first, end) (tests/tools/append_raw.cpp's cycle)."""
    return sum(1 for o in range(first, end) if o % 5 in (2, 3))


def table_rows(path: Path) -> int:
    return pads.dataset(path, format="parquet").count_rows() if path.exists() else 0


def part_files(table: Path) -> list[str]:
    return sorted(p.name for p in table.glob("part-*")) if table.exists() else []


def test_a_flipped_byte_keeps_every_valid_event_and_is_loud(bin_path, start_server, data_dir):
    # The reproduction: 100,000 events in one segment, byte 30 flipped.
    seed_events(bin_path, data_dir, 100_000)
    server = start_server("--threads", "2")
    send(server, "a", 30)
    server.signal(signal.SIGTERM)
    assert server.wait(10) == 0
    [segment] = segments(data_dir)
    size = segment.stat().st_size
    flip(segment, 30)  # inside record 0

    r = tail(bin_path, data_dir)
    err = one_error_line(r)
    assert r.stdout == b""
    assert f"{segment}: checksum mismatch in the record at byte 0, offset 0" in err, err

    again = start_server("--threads", "2")
    err = again.stderr
    assert (f"questlog: {segment}: checksum mismatch in the record at byte 0, offset 0: "
            "offset 0 lost, 100029 valid records follow") in err, err
    assert "from offset 100030" in err, err  # no offset reused
    assert segment.stat().st_size == size  # nothing cut
    send(again, "b", 30)

    err = one_error_line(tail(bin_path, data_dir))
    assert f"{segment}: checksum mismatch in the record at byte 0, offset 0" in err, err

    r = tail(bin_path, data_dir, "--skip-damaged")
    err = ok(r)
    lines = r.stdout.splitlines()
    assert len(lines) == 99_999 + 60
    assert request_ids(lines) == [f"a-{i}" for i in range(30)] + [f"b-{i}" for i in range(30)]
    assert f"questlog: skipped offset 0: {segment} bytes 0 to " in err, err
    assert "questlog: skipped 1 damaged range (1 offset)" in err, err


def test_tail_prints_every_event_before_the_damage_then_fails(bin_path, data_dir):
    seed_events(bin_path, data_dir, 1000)
    [segment] = segments(data_dir)
    everything = tail(bin_path, data_dir).stdout.splitlines()
    at = record_starts(segment)[500]
    flip(segment, at + HEADER + 5)

    r = tail(bin_path, data_dir)
    err = one_error_line(r)
    assert r.stdout.splitlines() == everything[:500]
    assert f"{segment}: checksum mismatch in the record at byte {at}, offset 500" in err, err

    r = tail(bin_path, data_dir, "--skip-damaged")
    err = ok(r)
    assert r.stdout.splitlines() == everything[:500] + everything[501:]
    assert f"questlog: skipped offset 500: {segment} bytes {at} to " in err, err


def test_a_deleted_middle_segment_fails_tail_and_extract_and_commits_nothing(bin_path, tmp_path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    job = tmp_path / "incremental.toml"
    job.write_text(INCREMENTAL)
    seed_events(bin_path, data, 5_000, segment_bytes=65536)
    ok(extract_quiet(bin_path, job, data, lake))
    committed = part_files(lake / "swords")
    assert table_rows(lake / "swords") == swords(0, 5_000)

    # A segment rolls after each batch of 4096: 0, 4096, 5000, 9096, 13192, 15000.
    seed_events(bin_path, data, 10_000, segment_bytes=65536)
    names = [base(s) for s in segments(data)]
    assert names == [0, 4096, 5000, 9096, 13192, 15000], names
    before_gap = segments(data)[2]
    (data / "events" / "0" / "00000000000000009096.log").unlink()

    everything_else = 15_000 - 4096
    r = tail(bin_path, data)
    err = one_error_line(r)
    assert len(r.stdout.splitlines()) == 9096
    assert f"{before_gap} ends at byte " in err and "offset 9096" in err, err
    assert "offsets 9096 to 13191 are missing" in err, err

    # The "read 6255 records, offsets 0 to 15000": now no table at all.
    other = tmp_path / "other_lake"
    err = one_error_line(extract_quiet(bin_path, REPO / "jobs" / "separate_events.toml", data, other))
    assert "offsets 9096 to 13191 are missing" in err, err
    assert not (other / "sword_purchases").exists() and not (other / "default_hits").exists()
    err = one_error_line(extract_quiet(bin_path, job, data, lake))
    assert part_files(lake / "swords") == committed  # the incremental table committed nothing

    r = tail(bin_path, data, "--skip-damaged")
    err = ok(r)
    assert len(r.stdout.splitlines()) == everything_else
    assert "questlog: skipped offsets 9096 to 13191:" in err, err

    err = ok(extract_quiet(bin_path, job, data, lake, "--skip-damaged"))
    assert "questlog: skipped offsets 9096 to 13191:" in err, err
    assert "skipped 1 damaged range (4096 offsets)" in err, err
    assert table_rows(lake / "swords") == swords(0, 9096) + swords(13192, 15_000)
    assert part_files(lake / "swords")[-1].startswith(
        "part-00000000000000005000-00000000000000015000-")  # the skipped range counts as read
    ok(extract_quiet(bin_path, job, data, lake))  # nothing left to read, nothing damaged in it
    assert table_rows(lake / "swords") == swords(0, 9096) + swords(13192, 15_000)


def test_incremental_table_after_a_restored_backup_is_refused(bin_path, tmp_path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    job = tmp_path / "incremental.toml"
    job.write_text(INCREMENTAL)
    seed_events(bin_path, data, 100)
    backup = tmp_path / "backup"
    shutil.copytree(data, backup)
    seed_events(bin_path, data, 200)
    ok(extract_quiet(bin_path, job, data, lake))
    committed = part_files(lake / "swords")

    shutil.rmtree(data)
    shutil.copytree(backup, data)
    err = one_error_line(extract_quiet(bin_path, job, data, lake))
    assert err.startswith(f"questlog: table swords: committed through offset 300 but the log "
                          f"{data / 'events' / '0'} ends at 100 (a restored backup or a cut log?); "
                          "move the table aside"), err
    assert part_files(lake / "swords") == committed
    # What the message advises: the next run rebuilds the table from the log.
    (lake / "swords").rename(tmp_path / "swords.old")
    ok(extract_quiet(bin_path, job, data, lake))
    assert table_rows(lake / "swords") == swords(0, 100)


def test_incremental_table_below_the_logs_start_is_refused_unless_skipping(bin_path, tmp_path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    job = tmp_path / "incremental.toml"
    job.write_text(INCREMENTAL)
    seed_events(bin_path, data, 5_000, segment_bytes=65536)
    ok(extract_quiet(bin_path, job, data, lake))
    seed_events(bin_path, data, 10_000, segment_bytes=65536)
    for segment in segments(data)[:4]:  # older segments deleted: the log starts at 13192
        segment.unlink()

    err = one_error_line(extract_quiet(bin_path, job, data, lake))
    assert err.startswith(f"questlog: table swords: committed through offset 5000 but the log "
                          f"{data / 'events' / '0'} starts at offset 13192"), err
    assert table_rows(lake / "swords") == swords(0, 5_000)

    err = ok(extract_quiet(bin_path, job, data, lake, "--skip-damaged"))
    assert "questlog: table swords: skipped offsets 5000 to 13191:" in err, err
    assert table_rows(lake / "swords") == swords(0, 5_000) + swords(13192, 15_000)


def test_help_names_skip_damaged(bin_path):
    for command in ("tail", "extract"):
        r = run_questlog(bin_path, command, "--help")
        assert r.returncode == 0
        assert "--skip-damaged" in r.stdout.decode(), r.stdout.decode()
