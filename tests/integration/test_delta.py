"""Delta Lake tables (`format = "delta"` in a job file), written by the real binary
and read by a reader no one here wrote: delta-rs (the `deltalake` package). Rows,
schema and partitions equal the plain-Parquet table of the same job; overwrite is
one commit (time travel still sees the old rows); a new column grows the schema
with nulls for older rows; incremental runs killed with SIGKILL at random points
and rerun hold every event exactly once; two extracts racing for commits both
commit. The same tables on HDFS (the `hdfs` fixture), copied down over WebHDFS
and read by delta-rs."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import append_raw, extract, extract_ok, seed_events, write_job

deltalake = pytest.importorskip("deltalake")  # tests/requirements.txt installs it

pytest.register_assert_rewrite("hdfs_cluster")
from hdfs_cluster import Hdfs  # noqa: E402

pytest_plugins = ["hdfs_cluster"]

TABLES = """
[[tables]]
name = "every"
path = "every"
mode = "overwrite"
format = "{fmt}"

[[tables]]
name = "swords"
path = "swords"
where = {{ event_type = "purchase_sword" }}
mode = "incremental"
format = "{fmt}"

[[tables]]
name = "by_type"
path = "by_type"
mode = "append"
partition_by = ["event_type"]
format = "{fmt}"
"""


def job(tmp: Path, fmt: str) -> Path:
    return write_job(tmp, f"modes_{fmt}", TABLES.format(fmt=fmt))


def rows_of(table) -> list[tuple]:
    """A pyarrow table's rows as sorted tuples, columns in name order."""
    cols = sorted(table.column_names)
    data = table.select(cols).to_pylist()
    return sorted(tuple(str(r[c]) for c in cols) for r in data)


def delta_rows(path) -> list[tuple]:
    return rows_of(deltalake.DeltaTable(str(path)).to_pyarrow_table())


def log_actions(table: Path, version: int) -> list[dict]:
    text = (table / "_delta_log" / f"{version:020d}.json").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_delta_tables_read_back_in_delta_rs_as_the_parquet_tables(bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed_events(bin_path, data, 5000)  # 2,000 default hits, 2,000 swords, 1,000 knives
    r = extract_ok(bin_path, job(tmp_path, "delta"), data, lake / "delta")
    assert "(Delta version 0)" in r.stderr.decode()
    extract_ok(bin_path, job(tmp_path, "parquet"), data, lake / "plain")

    for name in ("every", "swords", "by_type"):
        dt = deltalake.DeltaTable(str(lake / "delta" / name))
        assert dt.version() == 0
        plain = pq.read_table(lake / "plain" / name)
        got = dt.to_pyarrow_table()
        assert rows_of(got) == rows_of(plain), name
        ts = got.schema.field("timestamp").type
        assert str(ts) == "timestamp[us, tz=UTC]", ts

    dt = deltalake.DeltaTable(str(lake / "delta" / "by_type"))
    assert dt.metadata().partition_columns == ["event_type"]
    assert sorted({Path(f).parent.name for f in dt.file_uris()}) == [
        "event_type=default", "event_type=purchase_knife", "event_type=purchase_sword"]
    assert dt.protocol().min_reader_version == 1 and dt.protocol().min_writer_version == 2
    # Partition pruning by delta-rs uses partitionValues.
    swords = dt.to_pyarrow_table(filters=[("event_type", "=", "purchase_sword")])
    assert swords.num_rows == 2000
    # Stats: delta-rs reads them (numRecords, bounds).
    adds = pa.table(dt.get_add_actions(flatten=True)).to_pydict()
    assert sum(adds["num_records"]) == 5000
    assert all(n == 0 for n in adds["null_count.Host"]), adds["null_count.Host"]
    assert min(adds["min.timestamp"]) <= max(adds["max.timestamp"])


def test_overwrite_is_one_commit_and_time_travel_sees_the_old_rows(bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed_events(bin_path, data, 500)
    j = job(tmp_path, "delta")
    extract_ok(bin_path, j, data, lake)
    seed_events(bin_path, data, 100)
    extract_ok(bin_path, j, data, lake)
    every = lake / "every"
    actions = [next(iter(a)) for a in log_actions(every, 1)]
    assert actions.count("remove") == 1 and actions.count("add") == 1, actions
    assert deltalake.DeltaTable(str(every)).to_pyarrow_table().num_rows == 600
    assert deltalake.DeltaTable(str(every), version=0).to_pyarrow_table().num_rows == 500
    # Append added the 600 again; incremental only the 40 new swords.
    assert deltalake.DeltaTable(str(lake / "by_type")).to_pyarrow_table().num_rows == 1100
    assert deltalake.DeltaTable(str(lake / "swords")).to_pyarrow_table().num_rows == 240


def test_a_new_column_grows_the_schema_and_older_rows_read_null(bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    j = write_job(tmp_path, "grow", """
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "incremental"
format = "delta"
""")
    append_raw(bin_path, data, [b'{"event_type":"purchase_sword","n":%d}' % i for i in range(5)])
    extract_ok(bin_path, j, data, lake)
    append_raw(bin_path, data, [b'{"event_type":"purchase_sword","n":%d,"color":"red"}' % i
                                for i in range(5, 8)])
    extract_ok(bin_path, j, data, lake)
    assert [next(iter(a)) for a in log_actions(lake / "swords", 1)][0] == "metaData"
    dt = deltalake.DeltaTable(str(lake / "swords"))
    t = dt.to_pyarrow_table().sort_by("n")
    assert sorted(t.column_names) == ["color", "event_type", "n", "timestamp"]
    assert t.column("color").to_pylist() == [None] * 5 + ["red"] * 3
    assert t.column("n").to_pylist() == list(range(8))
    # Version 0 still has its own schema.
    assert "color" not in deltalake.DeltaTable(str(lake / "swords"), version=0).to_pyarrow_table().column_names


def test_incremental_runs_killed_at_random_points_hold_every_event_once(bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    j = write_job(tmp_path, "inc", """
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "incremental"
format = "delta"
partition_by = ["shard"]
""")
    rng = random.Random(11)
    n = 0
    kills = 0
    for cycle in range(12):
        lines = []
        for _ in range(rng.randrange(1000, 20000)):
            kind = "purchase_sword" if n % 3 else "default"
            lines.append(b'{"event_type":"%s","i":%d,"shard":%d}' % (kind.encode(), n, n % 4))
            n += 1
        append_raw(bin_path, data, lines)
        p = subprocess.Popen([bin_path, "extract", str(j), "--data", str(data), "--lake", str(lake)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.25))  # a random point of the run, not a wait for anything
        if p.poll() is None:
            p.kill()
            kills += 1
        p.wait(timeout=30)
    extract_ok(bin_path, j, data, lake, timeout=120)
    t = deltalake.DeltaTable(str(lake / "swords")).to_pyarrow_table()
    got = sorted(t.column("i").to_pylist())
    assert got == [i for i in range(n) if i % 3], f"{len(got)} rows for {n} events, {kills} kills"
    assert kills > 0


def race(bin_path, tmp_path: Path, data: Path, lake, rounds: int, timeout: float) -> list:
    """`rounds` times, two extracts appending to one Delta table at once; all must succeed."""
    j = write_job(tmp_path, "race", """
[[tables]]
name = "all"
path = "all"
mode = "append"
format = "delta"
""")
    results = []

    def one():
        results.append(extract(bin_path, j, data, lake, timeout=timeout))

    for _ in range(rounds):
        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(r.returncode == 0 for r in results), [r.stderr.decode() for r in results]
    return results


def test_two_extracts_racing_on_one_table_both_commit(bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed_events(bin_path, data, 300)
    results = race(bin_path, tmp_path, data, lake, rounds=3, timeout=60)
    dt = deltalake.DeltaTable(str(lake / "all"))
    assert dt.version() == 5
    assert dt.to_pyarrow_table().num_rows == 6 * 300
    versions = sorted(int(r.stderr.decode().split("(Delta version ")[1].split(")")[0]) for r in results)
    assert versions == [0, 1, 2, 3, 4, 5]


def test_a_delta_table_is_refused_as_parquet_and_back(bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed_events(bin_path, data, 10)
    extract_ok(bin_path, job(tmp_path, "delta"), data, lake)
    r = extract(bin_path, job(tmp_path, "parquet"), data, lake)
    assert r.returncode != 0
    err = r.stderr.decode().strip().splitlines()
    assert len(err) == 1 and "is a Delta table; write it with format = \"delta\"" in err[0], err


# --------------------------------------------------------------------------- HDFS


def test_delta_tables_on_hdfs_read_back_as_the_local_ones(bin_path, hdfs: Hdfs, tmp_path: Path):
    data, local = tmp_path / "data", tmp_path / "lake"
    lake = f"{hdfs.webhdfs}/tmp/delta_modes"
    j = job(tmp_path, "delta")
    seed_events(bin_path, data, 2000)
    extract_ok(bin_path, j, data, lake)
    extract_ok(bin_path, j, data, str(local))
    seed_events(bin_path, data, 500)
    extract_ok(bin_path, j, data, lake)
    extract_ok(bin_path, j, data, str(local))
    for name in ("every", "swords", "by_type"):
        got = tmp_path / "from_hdfs" / name
        hdfs.get_tree(f"/tmp/delta_modes/{name}", got)
        commits = sorted(p.name for p in (got / "_delta_log").iterdir())
        assert commits == ["00000000000000000000.json", "00000000000000000001.json"], commits
        assert delta_rows(got) == delta_rows(local / name), name
    assert deltalake.DeltaTable(str(tmp_path / "from_hdfs" / "swords")).to_pyarrow_table().num_rows == 1000
    # No hidden commit file left behind by the put-if-absent.
    assert not [e for e in hdfs.list("/tmp/delta_modes/every/_delta_log")
                if e["pathSuffix"].startswith(".")]


def test_two_extracts_racing_on_one_hdfs_table_both_commit(bin_path, hdfs: Hdfs, tmp_path: Path):
    data = tmp_path / "data"
    lake = f"{hdfs.webhdfs}/tmp/delta_race"
    seed_events(bin_path, data, 100)
    results = race(bin_path, tmp_path, data, lake, rounds=2, timeout=120)
    got = tmp_path / "from_hdfs"
    hdfs.get_tree("/tmp/delta_race/all", got)
    dt = deltalake.DeltaTable(str(got))
    assert dt.version() == 3
    assert dt.to_pyarrow_table().num_rows == 4 * 100
    names = [e["pathSuffix"] for e in hdfs.list("/tmp/delta_race/all/_delta_log")]
    assert sorted(names) == [f"{v:020d}.json" for v in range(4)], names  # no hidden files left


def test_incremental_runs_on_hdfs_killed_at_random_points_hold_every_event_once(
        bin_path, hdfs: Hdfs, tmp_path: Path):
    data = tmp_path / "data"
    lake = f"{hdfs.webhdfs}/tmp/delta_kill"
    j = write_job(tmp_path, "inc", """
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "incremental"
format = "delta"
""")
    rng = random.Random(7)
    n = kills = 0
    for cycle in range(6):
        lines = []
        for _ in range(rng.randrange(100, 3000)):
            kind = "purchase_sword" if n % 3 else "default"
            lines.append(b'{"event_type":"%s","i":%d}' % (kind.encode(), n))
            n += 1
        append_raw(bin_path, data, lines)
        p = subprocess.Popen([bin_path, "extract", str(j), "--data", str(data), "--lake", lake],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.5))  # a random point of the run, not a wait for anything
        if p.poll() is None:
            p.kill()
            kills += 1
        p.wait(timeout=60)
    extract_ok(bin_path, j, data, lake, timeout=120)
    got = tmp_path / "from_hdfs"
    hdfs.get_tree("/tmp/delta_kill/swords", got)
    t = deltalake.DeltaTable(str(got)).to_pyarrow_table()
    assert sorted(t.column("i").to_pylist()) == [i for i in range(n) if i % 3], f"{kills} kills"
    assert kills > 0


def test_ls_counts_what_the_delta_log_holds(bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed_events(bin_path, data, 500)
    j = job(tmp_path, "delta")
    extract_ok(bin_path, j, data, lake)
    seed_events(bin_path, data, 100)
    extract_ok(bin_path, j, data, lake)
    r = subprocess.run([bin_path, "ls", str(lake)], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    rows = {line.split()[-1]: int(line.split()[0]) for line in r.stdout.decode().splitlines()[2:]}
    # every: overwritten (the old file is still in the directory, removed in the log).
    assert rows == {str(lake / "every"): 600, str(lake / "swords"): 240, str(lake / "by_type"): 1100}
    assert len(list((lake / "every").glob("*.parquet"))) == 2


def test_partition_values_that_need_escaping_read_back(bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    j = write_job(tmp_path, "odd", """
[[tables]]
name = "odd"
path = "odd"
mode = "overwrite"
partition_by = ["kind"]
format = "delta"
""")
    kinds = ["a/b", "c d", "50%", "x=y", "é:ü", "plain"]
    append_raw(bin_path, data, [json.dumps({"kind": k, "i": i}).encode() for i, k in enumerate(kinds)]
               + [b'{"i": 99}'])
    extract_ok(bin_path, j, data, lake)
    t = deltalake.DeltaTable(str(lake / "odd")).to_pyarrow_table().sort_by("i")
    assert t.column("kind").to_pylist() == kinds + [None]
    assert t.column("i").to_pylist() == list(range(len(kinds))) + [99]
