"""`questlog extract`: the seed's three Spark jobs as job files, run by the real
binary on a log that `questlog serve` filled from the seed's ab session, and the
tables read back by pyarrow and DuckDB. Also rejects, widening, bad job files,
kill -9 during an overwrite, and incremental reruns.

Records serve would never write (not JSON objects, other shapes, a million
events) come from tests/tools/append_raw.cpp, next to the binary.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from conftest import (REPO, ab, append_raw, append_raw_bin, extract, extract_ok,
                      log_seed_session, run_questlog, seed_events, write_job)

JOBS = REPO / "jobs"
SEED_COLUMNS = ["Accept", "Cache-Control", "Host", "User-Agent", "event_type", "timestamp"]


# --------------------------------------------------------------------------- the seed's session


@pytest.fixture(scope="module")
def seed_data(tmp_path_factory, bin_path) -> Path:
    """The seed's ab session against `questlog serve`: 10 default and 10 sword
    purchases for user1.comcast.com and for user2.att.com, then 5 knives."""
    return log_seed_session(bin_path, tmp_path_factory.mktemp("seed") / "data")


def show_lines(stdout: bytes) -> list[str]:
    return stdout.decode().splitlines()


def test_separate_events_splits_munges_and_writes_two_tables(seed_data, bin_path, tmp_path):
    lake = tmp_path / "lake"
    r = extract_ok(bin_path, JOBS / "separate_events.toml", seed_data, lake)

    # The two show() screens, in the job's order, as the seed printed them.
    lines = show_lines(r.stdout)
    assert lines[1] == "|Accept|Cache-Control|Host|     User-Agent|    event_type|           timestamp|"
    assert lines[3].startswith("|   */*|     no-cache| moe|ApacheBench/2.3|purchase_sword|20")
    assert lines[3].endswith(":...|") and len(lines[3]) == len(lines[1])
    second = lines.index("|Accept|Cache-Control|Host|     User-Agent|event_type|           timestamp|")
    assert lines[second + 2].startswith("|   */*|     no-cache| moe|ApacheBench/2.3|   default|20")
    assert "only showing" not in r.stdout.decode()  # exactly 20 rows each
    err = r.stderr.decode()
    assert f"questlog: table sword_purchases: 20 rows, 1 file, " in err, err
    assert f" -> {lake / 'sword_purchases'}" in err

    for name, event_type in (("sword_purchases", "purchase_sword"), ("default_hits", "default")):
        table = pq.read_table(lake / name)
        assert table.num_rows == 20
        assert table.column_names == SEED_COLUMNS
        assert str(table.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
        rows = table.to_pylist()
        assert {r["Host"] for r in rows} == {"moe"}
        assert {r["Cache-Control"] for r in rows} == {"no-cache"}
        assert {r["event_type"] for r in rows} == {event_type}
        assert {r["User-Agent"] for r in rows} == {"ApacheBench/2.3"}
        age = time.time() - rows[0]["timestamp"].timestamp()
        assert 0 <= age < 600, rows[0]["timestamp"]

        files = sorted(p.name for p in (lake / name).iterdir())
        assert files[0] == "_SUCCESS" and (lake / name / "_SUCCESS").stat().st_size == 0
        assert len(files) == 2 and files[1].startswith("part-00000-")
        assert files[1].endswith("-c000.snappy.parquet")

        con = duckdb.connect()
        glob = str(lake / name / "*.parquet")
        assert con.execute(f"select count(*) from read_parquet('{glob}')").fetchall() == [(20,)]
        described = con.execute(f"describe select * from read_parquet('{glob}')").fetchall()
        assert [c[0] for c in described] == SEED_COLUMNS
        assert con.execute(f"select distinct Host, \"Cache-Control\" from read_parquet('{glob}')") \
            .fetchall() == [("moe", "no-cache")]


def test_just_filtering_prints_schema_and_rows_and_writes_nothing(seed_data, bin_path, tmp_path):
    lake = tmp_path / "lake"
    r = extract_ok(bin_path, JOBS / "just_filtering.toml", seed_data, lake)
    lines = show_lines(r.stdout)
    assert lines[:7] == [
        "root",
        " |-- Accept: string (nullable = true)",
        " |-- Host: string (nullable = true)",
        " |-- User-Agent: string (nullable = true)",
        " |-- event_type: string (nullable = true)",
        " |-- timestamp: timestamp (nullable = true)",
        "",
    ]
    assert lines[8] == "|Accept|             Host|     User-Agent|    event_type|           timestamp|"
    body = lines[10:30]
    assert sum(row.startswith("|   */*|user1.comcast.com|ApacheBench/2.3|purchase_sword|") for row in body) == 10
    assert sum(row.startswith("|   */*|    user2.att.com|ApacheBench/2.3|purchase_sword|") for row in body) == 10
    assert not lake.exists()


def test_filtered_writes_keeps_events_as_logged(seed_data, bin_path, tmp_path):
    lake = tmp_path / "lake"
    r = extract_ok(bin_path, JOBS / "filtered_writes.toml", seed_data, lake)
    assert r.stdout.decode().startswith("root\n |-- Accept: string (nullable = true)\n")
    table = pq.read_table(lake / "purchases")
    assert table.num_rows == 20
    assert table.column_names == ["Accept", "Host", "User-Agent", "event_type", "timestamp"]
    assert sorted(set(table.column("Host").to_pylist())) == ["user1.comcast.com", "user2.att.com"]


def test_mixed_shapes_union_keys_with_nulls(seed_data, bin_path, tmp_path):
    job = write_job(tmp_path, "all_purchases", """
[[tables]]
name = "all_purchases"
path = "all_purchases"
where = { event_type = ["purchase_sword", "purchase_knife"] }
print_schema = true

[[tables]]
name = "by_type"
path = "by_type"
partition_by = ["event_type"]
codec = "zstd"
""")
    lake = tmp_path / "lake"
    r = extract_ok(bin_path, job, seed_data, lake)
    assert " |-- description: string (nullable = true)" in r.stdout.decode()
    rows = pq.read_table(lake / "all_purchases").to_pylist()
    assert len(rows) == 25
    assert {r["description"] for r in rows if r["event_type"] == "purchase_knife"} == {"very sharp knife"}
    assert {r["description"] for r in rows if r["event_type"] == "purchase_sword"} == {None}

    dirs = sorted(p.name for p in (lake / "by_type").iterdir())
    assert dirs == ["_SUCCESS", "event_type=default", "event_type=purchase_knife",
                    "event_type=purchase_sword"]
    [part] = list((lake / "by_type" / "event_type=purchase_knife").iterdir())
    assert part.name.endswith(".zstd.parquet")
    assert "event_type" not in pq.read_table(part).column_names  # it is in the path
    ds = pads.dataset(lake / "by_type", format="parquet", partitioning="hive")
    counts = {}
    for row in ds.to_table().to_pylist():
        counts[row["event_type"]] = counts.get(row["event_type"], 0) + 1
    assert counts == {"default": 20, "purchase_sword": 20, "purchase_knife": 5}
    con = duckdb.connect()
    got = con.execute(f"select event_type, count(*) from read_parquet('{lake}/by_type/*/*.parquet', "
                  "hive_partitioning=true) group by 1 order by 1").fetchall()
    assert got == [("default", 20), ("purchase_knife", 5), ("purchase_sword", 20)]


# --------------------------------------------------------------------------- odd records


def test_widening_and_rejects(bin_path, tmp_path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    append_raw(bin_path, data, [
        b'{"event_type":"level_up","level":1,"ok":true}',
        b'[1,2,3]',
        b'{"event_type":"level_up","level":2.5,"ok":false}',
        b'not json \xff',
        b'{"event_type":"level_up","level":"max","ok":1,"extra":{"a":[1]}}',
    ])
    job = write_job(tmp_path, "levels", """
[[tables]]
name = "levels"
path = "levels"
show = 5
""")
    r = extract_ok(bin_path, job, data, lake)
    err = r.stderr.decode()
    assert "questlog: table levels: column level widened from int64 to float64 at offset 2, " \
           "to string at offset 4\n" in err, err
    assert "questlog: table levels: column ok widened from boolean to string at offset 4\n" in err
    assert ("questlog: 2 records rejected (the first at offset 1: not a JSON object: array) -> "
            f"{lake / '_rejected' / 'levels'}") in err
    table = pq.read_table(lake / "levels")
    assert table.schema.field("level").type == "string"
    assert table.column("level").to_pylist() == ["1", "2.5", "max"]
    assert table.column("ok").to_pylist() == ["true", "false", "1"]
    assert table.column("extra").to_pylist() == [None, None, '{"a":[1]}']

    rejected = pq.read_table(lake / "_rejected" / "levels")
    assert rejected.column_names == ["error", "offset", "raw", "timestamp"]
    rows = rejected.to_pylist()
    assert [r["offset"] for r in rows] == [1, 3]
    assert rows[0]["error"] == "not a JSON object: array" and rows[0]["raw"] == "[1,2,3]"
    assert rows[1]["error"].startswith("invalid JSON") and rows[1]["raw"] == "not json \u00ff"

    strict = extract(bin_path, job, data, tmp_path / "lake2", "--strict")
    assert strict.returncode == 1
    assert strict.stderr.decode() == "questlog: offset 1: not a JSON object: array (--strict)\n"
    assert not (tmp_path / "lake2" / "levels").exists()


def test_bad_job_files_are_one_line_and_write_nothing(bin_path, tmp_path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    append_raw(bin_path, data, [b'{"event_type":"default"}'])
    job = write_job(tmp_path, "bad", '[[tables]]\nname = "t"\npath = "t"\nmode = "upsert"\n')
    r = extract(bin_path, job, data, lake)
    assert r.returncode == 1
    assert r.stderr.decode() == \
        f'questlog: {job}:4: mode must be "overwrite", "append" or "incremental"\n'
    assert r.stdout == b"" and not lake.exists()

    syntax = write_job(tmp_path, "syntax", '[[tables]]\nname = "t"\nshow = \n')
    r = extract(bin_path, syntax, data, lake)
    assert r.returncode == 1 and r.stderr.decode().startswith(f"questlog: {syntax}:3: ")
    assert r.stderr.count(b"\n") == 1

    r = extract(bin_path, tmp_path / "missing.toml", data, lake)
    assert r.returncode == 1 and r.stderr.count(b"\n") == 1 and b"missing.toml" in r.stderr

    # Nothing listens on port 1: one line naming the brokers, nothing written.
    r = run_questlog(bin_path, "extract", str(JOBS / "separate_events.toml"), "--lake", str(lake),
                     "-b", "127.0.0.1:1")
    assert r.returncode == 1
    assert r.stderr.decode().startswith("questlog: --kafka 127.0.0.1:1: no broker")
    assert r.stderr.count(b"\n") == 1 and r.stdout == b"" and not lake.exists()


# --------------------------------------------------------------------------- crashes and reruns


def test_kill9_during_overwrite_leaves_a_whole_table(bin_path, tmp_path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed_events(bin_path, data, 600_000)
    job = JOBS / "separate_events.toml"
    extract_ok(bin_path, job, data, lake, "--show", "0")
    old_rows = 240_000
    assert pq.read_table(lake / "sword_purchases").num_rows == old_rows
    seed_events(bin_path, data, 50_000)  # the next run's table has 20,000 more swords
    new_rows = old_rows + 20_000

    outcomes = set()
    for delay in (0.0, 0.03, 0.06, 0.09, 0.12, 0.15, 0.2, 0.3):
        p = subprocess.Popen([bin_path, "extract", str(job), "--data", str(data), "--lake", str(lake),
                              "--show", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        for name in ("sword_purchases", "default_hits"):
            n = pq.read_table(lake / name).num_rows  # readable, one whole table
            assert n in (old_rows, new_rows), (delay, name, n)
            outcomes.add(n)
            parts = [f for f in (lake / name).iterdir() if f.name.startswith("part-")]
            assert len(parts) == 1 and (lake / name / "_SUCCESS").exists()
    assert old_rows in outcomes  # some kill landed before the swap

    extract_ok(bin_path, job, data, lake, "--show", "0")
    assert pq.read_table(lake / "sword_purchases").num_rows == new_rows
    leftovers = [p for p in (lake / ".staging").rglob("*") if not p.name.endswith(".lock")]
    assert all(p.is_dir() and not any(p.iterdir()) for p in leftovers), leftovers


INCREMENTAL = """
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "incremental"
"""


def table_rows(path: Path) -> int:
    if not path.exists():
        return 0
    return pads.dataset(path, format="parquet").count_rows()


def test_incremental_reruns_are_exactly_once(bin_path, tmp_path, start_server, data_dir):
    lake = tmp_path / "lake"
    job = write_job(tmp_path, "incremental", INCREMENTAL)
    server = start_server("--threads", "2")
    ab(server.url + "/purchase_a_sword", "user1.comcast.com", n=10)
    ab(server.url + "/", "user1.comcast.com", n=5)

    r = extract_ok(bin_path, job, data_dir, lake)
    assert "questlog: table swords: 10 rows, 1 file," in r.stderr.decode()
    assert "(offsets 0 to 15)" in r.stderr.decode()
    assert table_rows(lake / "swords") == 10

    r = extract_ok(bin_path, job, data_dir, lake)  # no new traffic
    assert "questlog: table swords: 0 rows, 0 files," in r.stderr.decode()
    assert table_rows(lake / "swords") == 10

    ab(server.url + "/purchase_a_sword", "user2.att.com", n=7)
    ab(server.url + "/purchase_a_knife", "user2.att.com", n=3)
    r = extract_ok(bin_path, job, data_dir, lake)
    assert "questlog: table swords: 7 rows, 1 file," in r.stderr.decode()
    table = pads.dataset(lake / "swords", format="parquet").to_table()
    assert table.num_rows == 17
    assert sorted(set(table.column("Host").to_pylist())) == ["user1.comcast.com", "user2.att.com"]
    names = sorted(p.name for p in (lake / "swords").iterdir() if p.name.startswith("part-"))
    assert [n[:47] for n in names] == ["part-00000000000000000000-00000000000000000015-",
                                       "part-00000000000000000015-00000000000000000025-"]


def test_incremental_after_kill9_neither_loses_nor_duplicates(bin_path, tmp_path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    job = write_job(tmp_path, "incremental", INCREMENTAL)
    expected = 0
    for round_, delay in enumerate((0.0, 0.02, 0.05, 0.08, 0.12)):
        seed_events(bin_path, data, 200_000)  # 2 of every 5 are swords
        expected += 80_000
        p = subprocess.Popen([bin_path, "extract", str(job), "--data", str(data), "--lake", str(lake)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        assert table_rows(lake / "swords") <= expected, round_
    extract_ok(bin_path, job, data, lake)
    assert table_rows(lake / "swords") == expected
    extract_ok(bin_path, job, data, lake)
    assert table_rows(lake / "swords") == expected


def test_one_pass_over_a_million_events(bin_path, tmp_path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed_events(bin_path, data, 1_000_000)
    r = extract_ok(bin_path, JOBS / "separate_events.toml", data, lake, "--show", "0")
    assert "questlog: table sword_purchases: 400000 rows, 1 file," in r.stderr.decode()
    assert "questlog: table default_hits: 400000 rows, 1 file," in r.stderr.decode()
    assert pq.read_metadata(next((lake / "default_hits").glob("part-*"))).num_rows == 400_000
    # How fast: make bench (bench/extract.sh), not a timed test.


def test_the_range_end_is_fixed_when_the_job_starts(bin_path, tmp_path):
    """Events appended while a job runs wait for the next run: the tables hold
    exactly the events of [0, end) with end = the log's end at the start."""
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed_events(bin_path, data, 1_000_000)
    p = subprocess.Popen([bin_path, "extract", str(JOBS / "separate_events.toml"), "--data",
                          str(data), "--lake", str(lake), "--show", "0", "--threads", "1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    appended = 0
    while p.poll() is None:  # more traffic, in whole seed cycles of 5 events
        seed_events(bin_path, data, 5_000)
        appended += 5_000
    err = p.stderr.read().decode()
    assert p.returncode == 0, err
    m = re.search(r"questlog: read (\d+) records, offsets 0 to (\d+), in ", err)
    assert m, err
    end = int(m.group(2))
    assert int(m.group(1)) == end >= 1_000_000
    assert 1_000_000 + appended > end  # traffic arrived after the range was fixed
    swords = sum(1 for o in range(end) if o % 5 in (2, 3))  # the seed generator's cycle
    assert pq.read_table(lake / "sword_purchases").num_rows == swords
    assert f"questlog: table sword_purchases: {swords} rows," in err
