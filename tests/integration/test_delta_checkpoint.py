"""Nested Parquet columns and Delta checkpoints, read by readers no one here wrote.

Nested files (structs, lists and maps, with nulls at every level and empty lists
and maps) are written by tests/tools/write_nested (FileWriter::create_nested) and
read back by pyarrow and DuckDB equal to what was written. Delta checkpoints
written every 100 commits (tests/tools/delta_commits) and by `questlog extract`
(a table whose delta.checkpointInterval is 2, partitioned, overwritten, so with
tombstones) are read by pyarrow as Parquet and by delta-rs as the table's state:
with the JSON commits before the checkpoint deleted, delta-rs still reads the same
rows and version, so it read them from our checkpoint. questlog itself refuses
such a cleaned-up table with one line."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import append_raw, extract, extract_ok, write_job

deltalake = pytest.importorskip("deltalake")  # tests/requirements.txt installs it

pytest.register_assert_rewrite("hdfs_cluster")
from hdfs_cluster import Hdfs  # noqa: E402

pytest_plugins = ["hdfs_cluster"]


def tool(bin_path: str, name: str) -> str:
    path = Path(bin_path).parent / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: it is built with the unit tests (tests/tools/{name}.cpp)")
    return str(path)


# --------------------------------------------------------------------------- nested files

def leaf(name: str, kind: str) -> dict:
    return {"name": name, "kind": kind}


def group(name: str, *children: dict) -> dict:
    return {"name": name, "kind": "group", "children": list(children)}


def list_of(name: str, element: dict) -> dict:
    return {"name": name, "kind": "list", "children": [element]}


def map_of(name: str, value: dict) -> dict:
    return {"name": name, "kind": "map", "children": [leaf("key", "string"), value]}


SCHEMA = [
    group("s",
          leaf("a", "string"),
          leaf("n", "int32"),
          list_of("l", leaf("element", "int64")),
          map_of("m", leaf("value", "string")),
          group("g", leaf("x", "float64"), list_of("ls", leaf("element", "string")))),
    leaf("b", "boolean"),
    list_of("top", group("element", leaf("k", "string"),
                         map_of("m", list_of("value", leaf("element", "int64"))))),
]


def random_value(field: dict, rng: random.Random, depth: int = 0):
    if rng.random() < 0.2:
        return None
    kind = field["kind"]
    if kind == "string":
        return rng.choice(["", "a", "sword", "ключ", "x" * rng.randrange(0, 40)])
    if kind == "int32":
        return rng.randrange(-2**31, 2**31)
    if kind == "int64":
        return rng.randrange(-2**63, 2**63)
    if kind == "float64":
        return rng.choice([0.5, -1.25, 1e300])
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "group":
        return {c["name"]: random_value(c, rng, depth + 1) for c in field["children"]
                if rng.random() < 0.9}  # a missing field is null
    n = rng.choice([0, 0, 1, 2, 5])
    if kind == "list":
        return [random_value(field["children"][0], rng, depth + 1) for _ in range(n)]
    keys = rng.sample(["k0", "k1", "k2", "k3", "k4", "k5"], n)
    return [[k, random_value(field["children"][1], rng, depth + 1)] for k in keys]


def expected(field: dict, v):
    """What pyarrow's to_pylist() gives for input value v of field."""
    if v is None:
        return None
    kind = field["kind"]
    if kind == "group":
        return {c["name"]: expected(c, v.get(c["name"])) for c in field["children"]}
    if kind == "list":
        return [expected(field["children"][0], e) for e in v]
    if kind == "map":
        return [(k, expected(field["children"][1], x)) for k, x in v]
    return v


def from_duckdb(field: dict, v):
    """DuckDB's Python value of field, in pyarrow's shape (maps as lists of pairs)."""
    if v is None:
        return None
    kind = field["kind"]
    if kind == "group":
        return {c["name"]: from_duckdb(c, v[c["name"]]) for c in field["children"]}
    if kind == "list":
        return [from_duckdb(field["children"][0], e) for e in v]
    if kind == "map":
        pairs = zip(v["key"], v["value"]) if set(v) == {"key", "value"} and isinstance(
            v["key"], list) else v.items()
        return [(k, from_duckdb(field["children"][1], x)) for k, x in pairs]
    return v


def write_nested(bin_path: str, path: Path, schema: list, rows: list, *args: str) -> None:
    text = "\n".join(json.dumps(x) for x in [schema, *rows]) + "\n"
    r = subprocess.run([tool(bin_path, "write_nested"), str(path), *args], input=text.encode(),
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()


EDGE_ROWS = [
    [None, None, None],                                           # everything null
    [{}, True, []],                                               # struct of nulls, empty list
    [{"a": "x", "n": 1, "l": [], "m": [], "g": {}}, False, [None]],  # empty list, map; null element
    [{"l": [None, 5, None], "m": [["k", None], ["j", "v"]], "g": {"ls": [None, ""]}}, None,
     [{"k": "a", "m": [["e", []], ["n", None], ["f", [1, None, 2]]]}, {}, {"m": []}]],
]


@pytest.mark.parametrize("seed", [1, 2])
def test_nested_files_read_back_in_pyarrow_and_duckdb(bin_path, tmp_path: Path, seed: int):
    rng = random.Random(seed)
    rows = EDGE_ROWS + [[random_value(f, rng) for f in SCHEMA] for _ in range(3000)]
    path = tmp_path / "nested.parquet"
    write_nested(bin_path, path, SCHEMA, rows, "512")  # small pages: records over many pages

    want = [{f["name"]: expected(f, v) for f, v in zip(SCHEMA, r)} for r in rows]
    t = pq.read_table(path)
    assert pa.types.is_struct(t.schema.field("s").type)
    s = t.schema.field("s").type
    assert str(s.field("n").type) == "int32"
    assert pa.types.is_list(s.field("l").type)
    assert pa.types.is_map(s.field("m").type)
    assert t.to_pylist() == want
    assert pq.ParquetFile(path).metadata.num_rows == len(rows)

    got = duckdb.sql(f"SELECT s, b, top FROM read_parquet('{path}')").fetchall()
    assert [{f["name"]: from_duckdb(f, v) for f, v in zip(SCHEMA, r)} for r in got] == want
    # Nulls at each level, as DuckDB counts them.
    counts = duckdb.sql(f"""SELECT count(*) FILTER (s IS NULL), count(*) FILTER (s.l IS NULL),
        count(*) FILTER (len(s.l) = 0), count(*) FILTER (cardinality(s.m) = 0)
        FROM read_parquet('{path}')""").fetchall()[0]
    assert counts == (
        sum(w["s"] is None for w in want),
        sum(w["s"] is None or w["s"]["l"] is None for w in want),
        sum(w["s"] is not None and w["s"]["l"] == [] for w in want),
        sum(w["s"] is not None and w["s"]["m"] == [] for w in want))


# --------------------------------------------------------------------------- checkpoints

def delta_commits(bin_path: str, table: Path, n: int, *args: str) -> None:
    r = subprocess.run([tool(bin_path, "delta_commits"), str(table), str(n), *args],
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode()


def log_actions(table: Path, version: int) -> list[dict]:
    text = (table / "_delta_log" / f"{version:020d}.json").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def checkpoint(table: Path, version: int) -> Path:
    return table / "_delta_log" / f"{version:020d}.checkpoint.parquet"


def actions_of(cp: Path) -> dict[str, list]:
    """The checkpoint's rows by action: each row holds exactly one non-null column."""
    out: dict[str, list] = {}
    for row in pq.read_table(cp).to_pylist():
        present = [k for k, v in row.items() if v is not None]
        assert len(present) == 1, row
        out.setdefault(present[0], []).append(row[present[0]])
    return out


def without_commits_before(table: Path, version: int, dest: Path) -> Path:
    """A copy of the table as another writer's log clean-up leaves it."""
    shutil.copytree(table, dest)
    for p in (dest / "_delta_log").glob("*.json"):
        if int(p.name[:20]) < version:
            p.unlink()
    for p in (dest / "_delta_log").glob("*.checkpoint.parquet"):
        if int(p.name[:20]) < version:
            p.unlink()
    return dest


def test_a_checkpoint_every_100_commits_that_pyarrow_and_delta_rs_read(bin_path, tmp_path: Path):
    table = tmp_path / "t"
    delta_commits(bin_path, table, 250, "checkpoints")
    log = table / "_delta_log"
    assert sorted(p.name for p in log.glob("*.checkpoint.parquet")) == [
        checkpoint(table, 100).name, checkpoint(table, 200).name]
    assert not [p for p in log.iterdir() if p.name.startswith(".")]
    last = json.loads((log / "_last_checkpoint").read_text())
    assert last == {"version": 200, "size": 204, "sizeInBytes": checkpoint(table, 200).stat().st_size,
                    "numOfAddFiles": 201}

    actions = actions_of(checkpoint(table, 200))
    assert actions["protocol"] == [{"minReaderVersion": 1, "minWriterVersion": 2}]
    [meta] = actions["metaData"]
    first_meta = log_actions(table, 0)[1]["metaData"]
    assert meta["id"] == first_meta["id"] and meta["schemaString"] == first_meta["schemaString"]
    assert meta["partitionColumns"] == [] and meta["configuration"] == []
    assert meta["format"] == {"provider": "parquet", "options": []}
    assert actions["txn"] == [{"appId": "delta_commits", "version": 201, "lastUpdated": None}]
    adds = {a["path"]: a for a in actions["add"]}
    want = {}
    for v in range(201):
        for a in log_actions(table, v):
            if "add" in a:
                want[a["add"]["path"]] = a["add"]
    assert sorted(adds) == sorted(want)
    for path, a in adds.items():
        assert (a["size"], a["modificationTime"], a["stats"]) == (
            want[path]["size"], want[path]["modificationTime"], want[path]["stats"])
        assert a["partitionValues"] == [] and a["dataChange"] is False
    assert "remove" not in actions  # no file was ever removed

    dt = deltalake.DeltaTable(str(table))
    assert dt.version() == 249
    assert sorted(dt.to_pyarrow_table().column("n").to_pylist()) == list(range(250))
    # Only the checkpoint tells delta-rs about versions 0 to 200 now.
    cleaned = without_commits_before(table, 200, tmp_path / "cleaned")
    dt = deltalake.DeltaTable(str(cleaned))
    assert dt.version() == 249
    assert sorted(dt.to_pyarrow_table().column("n").to_pylist()) == list(range(250))
    assert dt.metadata().id == first_meta["id"]


def test_questlog_refuses_a_log_cleaned_up_after_a_checkpoint_with_one_line(bin_path,
                                                                             tmp_path: Path):
    table = tmp_path / "lake" / "t"
    delta_commits(bin_path, table, 101, "checkpoints")
    without_commits_before(table, 100, tmp_path / "lake" / "cleaned")
    data = tmp_path / "data"
    append_raw(bin_path, data, [b'{"event_type":"x","n":1}'])
    j = write_job(tmp_path, "cleaned", """
[[tables]]
name = "cleaned"
path = "cleaned"
mode = "append"
format = "delta"
""")
    r = extract(bin_path, j, data, tmp_path / "lake")
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "commit 0 is gone" in err and "checkpoint of version 100" in err, err
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err
    # Nothing was written to it.
    assert sorted(p.name for p in (tmp_path / "lake" / "cleaned" / "_delta_log").glob("*.json")) == [
        "00000000000000000100.json"]


BY_TYPE = """
[[tables]]
name = "by_type"
path = "by_type"
mode = "overwrite"
format = "delta"
partition_by = ["event_type"]
"""


def configuration_commit(commit0: str, conf: dict) -> bytes:
    """A commit of version 0's metaData with `conf` (what a user's ALTER TABLE does)."""
    meta = next(json.loads(line)["metaData"] for line in commit0.splitlines()
                if line.strip() and "metaData" in json.loads(line))
    lines = [{"metaData": dict(meta, configuration=conf)},
             {"commitInfo": {"timestamp": 0, "operation": "SET TBLPROPERTIES"}}]
    return "".join(json.dumps(x) + "\n" for x in lines).encode()


def set_configuration(table: Path, conf: dict) -> None:
    """Commits version 1 of `table`: its metaData with `conf`."""
    log = table / "_delta_log"
    with open(log / f"{1:020d}.json", "xb") as f:
        f.write(configuration_commit((log / f"{0:020d}.json").read_text(), conf))


def partitioned_events(first: int, n: int, kinds: bool = True) -> list[bytes]:
    out = []
    for i in range(first, first + n):
        if not kinds or i < 300:
            out.append(b'{"event_type":"purchase_sword","i":%d}' % i)
        elif i < 400:
            out.append(b'{"event_type":"a b/c%%","i":%d}' % i)
        else:
            out.append(b'{"i":%d}' % i)  # a null partition value
    return out


def check_partitioned_checkpoint(table: Path, tmp_path: Path) -> None:
    """Version 2 of BY_TYPE after an overwrite: its checkpoint against its commits, and
    delta-rs reading the table with and without the commits before it."""
    cp = checkpoint(table, 2)
    actions = actions_of(cp)
    assert actions["metaData"][0]["configuration"] == [("delta.checkpointInterval", "2")]
    assert actions["metaData"][0]["partitionColumns"] == ["event_type"]
    commit = log_actions(table, 2)
    want_adds = {a["add"]["path"]: a["add"] for a in commit if "add" in a}
    got_adds = {a["path"]: a for a in actions["add"]}
    assert sorted(got_adds) == sorted(want_adds)
    for path, a in got_adds.items():
        assert dict(a["partitionValues"]) == want_adds[path]["partitionValues"], path
    assert None in [dict(a["partitionValues"])["event_type"] for a in got_adds.values()]
    # The overwritten files are tombstones: path, deletion time, size, partition values.
    removed = {a["remove"]["path"]: a["remove"] for a in commit if "remove" in a}
    assert len(removed) == 3
    got_removed = {a["path"]: a for a in actions["remove"]}
    assert sorted(got_removed) == sorted(removed)
    for path, a in got_removed.items():
        assert a["deletionTimestamp"] == removed[path]["deletionTimestamp"]
        assert a["size"] == removed[path]["size"] and a["dataChange"] is False
        assert dict(a["partitionValues"]) == removed[path]["partitionValues"]
    last = json.loads((table / "_delta_log" / "_last_checkpoint").read_text())
    assert last["version"] == 2 and last["numOfAddFiles"] == 3

    def rows(path: Path) -> list:
        return sorted(deltalake.DeltaTable(str(path)).to_pyarrow_table().column("i").to_pylist())

    assert rows(table) == list(range(500))
    cleaned = without_commits_before(table, 2, tmp_path / "cleaned")
    dt = deltalake.DeltaTable(str(cleaned))
    assert dt.version() == 2 and dt.metadata().partition_columns == ["event_type"]
    assert dt.metadata().configuration == {"delta.checkpointInterval": "2"}
    assert rows(cleaned) == list(range(500))
    swords = dt.to_pyarrow_table(filters=[("event_type", "=", "purchase_sword")])
    assert swords.num_rows == 350


def test_extract_checkpoints_a_partitioned_table_with_its_tombstones(bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    append_raw(bin_path, data, partitioned_events(0, 450))
    j = write_job(tmp_path, "by_type", BY_TYPE)
    extract_ok(bin_path, j, data, lake)
    table = lake / "by_type"
    set_configuration(table, {"delta.checkpointInterval": "2"})
    append_raw(bin_path, data, partitioned_events(450, 50, kinds=False))
    r = extract_ok(bin_path, j, data, lake)  # version 2: an overwrite, due a checkpoint
    assert "(Delta version 2)" in r.stderr.decode()
    check_partitioned_checkpoint(table, tmp_path)


def test_a_checkpoint_that_fails_is_a_note_and_the_commit_stands(bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    append_raw(bin_path, data, partitioned_events(0, 450))
    j = write_job(tmp_path, "by_type", BY_TYPE)
    extract_ok(bin_path, j, data, lake)
    table = lake / "by_type"
    set_configuration(table, {"delta.checkpointInterval": "2"})
    (table / "_delta_log" / "_last_checkpoint").mkdir()  # nothing can replace it
    r = extract_ok(bin_path, j, data, lake)
    err = r.stderr.decode()
    assert "(Delta version 2)" in err
    notes = [line for line in err.splitlines() if "note: no checkpoint of Delta version 2" in line]
    assert len(notes) == 1 and "_last_checkpoint" in notes[0], err
    assert not [p for p in (table / "_delta_log").iterdir() if p.name.startswith(".")]
    assert deltalake.DeltaTable(str(table)).version() == 2
    assert sorted(deltalake.DeltaTable(str(table)).to_pyarrow_table().column("i").to_pylist()) == \
        list(range(450))


def test_extract_checkpoints_a_table_on_hdfs(bin_path, hdfs: Hdfs, tmp_path: Path):
    data = tmp_path / "data"
    lake = f"{hdfs.webhdfs}/tmp/delta_checkpoint"
    log = "/tmp/delta_checkpoint/by_type/_delta_log"
    append_raw(bin_path, data, partitioned_events(0, 450))
    j = write_job(tmp_path, "by_type", BY_TYPE)
    extract_ok(bin_path, j, data, lake)
    commit0 = hdfs.open(f"{log}/{0:020d}.json").decode()
    hdfs.create(f"{log}/{1:020d}.json",
                configuration_commit(commit0, {"delta.checkpointInterval": "2"}), overwrite=False)
    append_raw(bin_path, data, partitioned_events(450, 50, kinds=False))
    r = extract_ok(bin_path, j, data, lake)
    assert "(Delta version 2)" in r.stderr.decode()
    names = sorted(e["pathSuffix"] for e in hdfs.list(log))
    assert names == [f"{0:020d}.json", f"{1:020d}.json", f"{2:020d}.checkpoint.parquet",
                     f"{2:020d}.json", "_last_checkpoint"], names  # no temporary file left
    got = tmp_path / "from_hdfs" / "by_type"
    hdfs.get_tree("/tmp/delta_checkpoint/by_type", got)
    check_partitioned_checkpoint(got, tmp_path)
