"""Spark with Delta Lake (delta-spark, Delta's own reader and writer) against the Delta
tables questlog writes: it reads every kind of table (the seed's jobs, partitioned, a
schema that grew, time travel over an overwrite) with the rows delta-rs reads; its
writer appends to our table, more than ten commits so that it writes a checkpoint, and
questlog appends after it, each in turn, and both readers read every row after each
step. A table Spark gave a feature questlog lacks (deletion vectors) is refused with one
line; keys whose names Delta does not allow become columns Spark can evolve.

No delta-spark release supports the test venv's pyspark, so Spark runs in a venv of
its own (.venv-delta, tests/requirements-delta.txt, `make venv-delta`) with Delta's
jars from Maven Central (scripts/delta-spark.sh), as one long-lived process
(tests/tools/delta_spark.py) that takes JSON commands: one JVM for the module."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import append_raw, extract, extract_ok, seed_events, write_job

deltalake = pytest.importorskip("deltalake")  # tests/requirements.txt installs it

REPO = Path(__file__).resolve().parents[2]
DELTA_PYTHON = Path(os.environ.get("QUESTLOG_DELTA_PYTHON", REPO / ".venv-delta" / "bin" / "python"))
JAVA_HOME = os.environ.get("QUESTLOG_JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")


class SparkDelta:
    """tests/tools/delta_spark.py, running: call() sends a command and returns its answer."""

    def __init__(self, proc: subprocess.Popen, log: Path):
        self.proc, self.log = proc, log
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def answer(self, timeout: float) -> dict:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"Spark did not answer in {timeout} s; its log: {self.log}")
        if line is None:
            pytest.fail(f"Spark exited ({self.proc.wait()}); the end of its log:\n{self.tail()}")
        return json.loads(line)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def call(self, op: str, timeout: float = 300, **kw) -> dict:
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        return self.answer(timeout)

    def ok(self, op: str, **kw) -> dict:
        r = self.call(op, **kw)
        assert "error" not in r, r.get("message", r)
        return r

    def read(self, path: Path, version: int | None = None) -> dict:
        """{"columns": [[name, type], ...], "rows": [...], "canonical": canonical() of them}"""
        r = self.ok("read", path=str(path), version=version)
        r["canonical"] = canonical([c for c, _ in r["columns"]], r["rows"])
        return r

    def rows(self, path: Path, version: int | None = None) -> list[tuple]:
        return self.read(path, version)["canonical"]


@pytest.fixture(scope="module")
def spark(tmp_path_factory) -> SparkDelta:
    if not os.access(DELTA_PYTHON, os.X_OK):
        pytest.fail(f"{DELTA_PYTHON} is missing: `make venv-delta` makes it (tests/requirements-delta.txt)")
    env = dict(os.environ, PYTHON=str(DELTA_PYTHON))
    jars = subprocess.run(["bash", str(REPO / "scripts" / "delta-spark.sh")], capture_output=True,
                          timeout=900, stdin=subprocess.DEVNULL, env=env)
    assert jars.returncode == 0, jars.stderr.decode()
    tmp = tmp_path_factory.mktemp("delta-spark")
    log = tmp / "spark.log"
    env.update(JAVA_HOME=JAVA_HOME, PYSPARK_PYTHON=str(DELTA_PYTHON),
               PYSPARK_DRIVER_PYTHON=str(DELTA_PYTHON), PYTHONDONTWRITEBYTECODE="1")
    env["PATH"] = f"{DELTA_PYTHON.parent}:{JAVA_HOME}/bin:{env.get('PATH', '')}"
    for var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "SPARK_HOME"):
        env.pop(var, None)
    with open(log, "wb") as err:
        proc = subprocess.Popen([str(DELTA_PYTHON), str(REPO / "tests" / "tools" / "delta_spark.py"),
                                 jars.stdout.decode().strip(), str(tmp / "local")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env,
                                cwd=tmp, text=True)
    s = SparkDelta(proc, log)
    try:
        ready = s.answer(timeout=300)
        assert "ready" in ready, ready
        yield s
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def canonical(columns: list[str], rows: list[list]) -> list[tuple]:
    """Rows as sorted tuples of (column, value) in column name order, comparable
    across readers (values by repr: 1 and 1.0 differ, NaN equals NaN)."""
    order = sorted(range(len(columns)), key=lambda i: columns[i])
    return sorted(tuple((columns[i], repr(r[i])) for i in order) for r in rows)


def delta_rs_rows(path: Path, version: int | None = None) -> list[tuple]:
    """delta-rs's rows of the table, timestamps as microseconds since the epoch."""
    t = deltalake.DeltaTable(str(path), version=version).to_pyarrow_table()
    cols = []
    for name in t.column_names:
        c = t.column(name)
        cols.append(c.cast(pa.int64()) if pa.types.is_timestamp(c.type) else c)
    t = pa.table(cols, names=t.column_names)
    return canonical(t.column_names, [list(r.values()) for r in t.to_pylist()])


def as_delta(job: str) -> str:
    """A job file's text with format = "delta" for each of its tables."""
    return job.replace("[[tables]]", '[[tables]]\nformat = "delta"')


def delta_tables(lake: Path) -> list[Path]:
    return sorted(p.parent for p in lake.rglob("_delta_log"))


def test_spark_reads_the_seed_jobs_delta_tables_as_delta_rs_does(spark, bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed_events(bin_path, data, 3000)  # default hits, swords and knives
    for name in ("separate_events", "filtered_writes", "purchases_by_type"):
        j = write_job(tmp_path, name, as_delta((REPO / "jobs" / f"{name}.toml").read_text()))
        extract_ok(bin_path, j, data, lake)
    tables = delta_tables(lake)
    assert [t.name for t in tables] == ["default_hits", "purchases", "purchases_by_type",
                                        "sword_purchases"]
    for table in tables:
        r = spark.read(table)
        assert r["rows"] and r["canonical"] == delta_rs_rows(table), table.name
        assert dict(r["columns"])["timestamp"] == "timestamp", r["columns"]
    # Partitioned (event_type leaves the files; Spark takes it from partitionValues).
    by_type = lake / "purchases_by_type"
    assert deltalake.DeltaTable(str(by_type)).metadata().partition_columns == ["event_type"]
    assert spark.ok("count", path=str(by_type), where="event_type = 'purchase_knife'")["count"] == 600
    # Data skipping: Spark prunes files by the add actions' stats, so wrong bounds
    # would lose rows here; the counts must be those of every row.
    t = deltalake.DeltaTable(str(by_type)).to_pyarrow_table()
    micros = sorted(t.column("timestamp").cast(pa.int64()).to_pylist())
    mid = micros[len(micros) // 2]
    for where, want in ((f"timestamp >= timestamp_micros({mid})", sum(m >= mid for m in micros)),
                        (f"timestamp < timestamp_micros({mid})", sum(m < mid for m in micros)),
                        (f"timestamp = timestamp_micros({micros[-1]})", micros.count(micros[-1]))):
        assert spark.ok("count", path=str(by_type), where=where)["count"] == want, where


def test_spark_reads_a_grown_schema_and_time_travels_over_an_overwrite(spark, bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    j = write_job(tmp_path, "grow", """
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "incremental"
format = "delta"

[[tables]]
name = "every"
path = "every"
mode = "overwrite"
format = "delta"
""")
    append_raw(bin_path, data, [b'{"event_type":"purchase_sword","n":%d}' % i for i in range(5)])
    extract_ok(bin_path, j, data, lake)
    append_raw(bin_path, data, [b'{"event_type":"purchase_sword","n":%d,"color":"red"}' % i
                                for i in range(5, 8)])
    extract_ok(bin_path, j, data, lake)

    swords = lake / "swords"
    r = spark.read(swords)
    cols = [c for c, _ in r["columns"]]
    assert sorted(cols) == ["color", "event_type", "n", "timestamp"]
    by_n = sorted(r["rows"], key=lambda row: row[cols.index("n")])
    assert [row[cols.index("color")] for row in by_n] == [None] * 5 + ["red"] * 3
    assert r["canonical"] == delta_rs_rows(swords)
    old = spark.read(swords, version=0)
    assert "color" not in [c for c, _ in old["columns"]] and len(old["rows"]) == 5
    assert old["canonical"] == delta_rs_rows(swords, version=0)

    every = lake / "every"
    assert [v for v, _ in spark.ok("history", path=str(every))["versions"]] == [0, 1]
    then, now = spark.rows(every, version=0), spark.rows(every)
    assert len(then) == 5 and len(now) == 8
    assert then == delta_rs_rows(every, version=0) and now == delta_rs_rows(every)


def sword_events(start: int, n: int) -> list[bytes]:
    return [b'{"event_type":"purchase_sword","i":%d,"shard":%d}' % (i, i % 3)
            for i in range(start, start + n)]


def test_spark_and_questlog_append_in_turn_and_both_logs_stay_readable(spark, bin_path,
                                                                       tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    j = write_job(tmp_path, "turns", """
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "incremental"
format = "delta"
partition_by = ["shard"]
""")
    table = lake / "swords"
    append_raw(bin_path, data, sword_events(0, 30))
    extract_ok(bin_path, j, data, lake)
    want = set(range(30))

    def spark_append(first: int, commits: int, extra: dict | None = None) -> list[int]:
        cols = [["event_type", "string"], ["i", "long"], ["shard", "long"], ["timestamp", "timestamp"]]
        row = {"event_type": "purchase_sword", "shard": 7, "timestamp": 1_795_000_000_000_000}
        if extra:
            cols += [[k, "string"] for k in extra]
            row.update(extra)
        batches = [[[{**row, "i": first + k}.get(c) for c, _ in cols]] for k in range(commits)]
        want.update(first + k for k in range(commits))
        return spark.ok("append", path=str(table), columns=cols, batches=batches,
                        merge_schema=bool(extra))["versions"]

    def both_read_everything() -> list[tuple]:
        got = spark.rows(table)
        assert got == delta_rs_rows(table)
        ids = sorted(int(dict(r)["i"]) for r in got)
        assert ids == sorted(want), f"{len(ids)} rows, {len(want)} expected"
        return got

    # Spark: 11 commits (versions 1 to 11); it writes a checkpoint at version 10.
    assert spark_append(1000, 11) == list(range(1, 12))
    log = table / "_delta_log"
    assert (log / "00000000000000000010.checkpoint.parquet").exists(), sorted(os.listdir(log))
    assert json.loads((log / "_last_checkpoint").read_text())["version"] == 10
    both_read_everything()

    # questlog after Spark: the next offsets, as version 12, in the protocol Spark kept.
    append_raw(bin_path, data, sword_events(30, 20))
    r = extract_ok(bin_path, j, data, lake)
    assert "(Delta version 12)" in r.stderr.decode(), r.stderr.decode()
    want.update(range(30, 50))
    both_read_everything()
    dt = deltalake.DeltaTable(str(table))
    assert (dt.protocol().min_reader_version, dt.protocol().min_writer_version) == (1, 2)

    # Spark again, with a column the table lacks (its metaData), then questlog, whose
    # events lack it: older and questlog's rows read null there.
    assert spark_append(2000, 1, extra={"note": "from spark"}) == [13]
    append_raw(bin_path, data, sword_events(50, 10))
    r = extract_ok(bin_path, j, data, lake)
    assert "(Delta version 14)" in r.stderr.decode(), r.stderr.decode()
    want.update(range(50, 60))
    notes = [dict(row)["note"] for row in both_read_everything()]
    assert notes.count(repr("from spark")) == 1 and notes.count("None") == len(want) - 1
    # A rerun reads nothing new and commits only its txn, no rows twice.
    extract_ok(bin_path, j, data, lake)
    both_read_everything()


def test_a_table_spark_gave_a_feature_questlog_lacks_is_refused_with_one_line(spark, bin_path,
                                                                             tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    j = write_job(tmp_path, "dv", """
[[tables]]
name = "swords"
path = "swords"
mode = "append"
format = "delta"
""")
    append_raw(bin_path, data, sword_events(0, 5))
    extract_ok(bin_path, j, data, lake)
    table = lake / "swords"
    spark.ok("sql", query=f"ALTER TABLE delta.`{table}` SET TBLPROPERTIES "
                          "('delta.enableDeletionVectors' = 'true')")
    before = sorted(p.name for p in table.rglob("*"))
    r = extract(bin_path, j, data, lake)
    err = r.stderr.decode().strip().splitlines()
    assert r.returncode != 0 and len(err) == 1, err
    assert "needs Delta reader version 3 and writer version 7" in err[0], err
    assert "deletionVectors" in err[0] and "questlog writes reader 1 / writer 2 tables only" in err[0]
    assert sorted(p.name for p in table.rglob("*")) == before  # no file written
    assert len(spark.rows(table)) == 5


def test_names_delta_refuses_are_renamed_so_spark_reads_and_appends(spark, bin_path,
                                                                     tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    j = write_job(tmp_path, "names", """
[[tables]]
name = "inventory"
path = "inventory"
mode = "append"
format = "delta"

[[tables]]
name = "plain"
path = "plain"
mode = "append"
""")
    append_raw(bin_path, data, [
        b'{"event_type":"inventory","player name":"ann","gold (coins)":%d,"k=v":"x","a\\tb":true,'
        b'"player_name":"kept"}' % i for i in range(4)])
    r = extract_ok(bin_path, j, data, lake)
    err = r.stderr.decode()
    for line in ('column "player name" renamed to player_name__2: Delta tables do not allow',
                 'column "gold (coins)" renamed to gold__coins_:',
                 'column "k=v" renamed to k_v:', 'column "a\\tb" renamed to a_b:'):
        assert line in err, err
    table = lake / "inventory"
    got = spark.read(table)
    assert sorted(c for c, _ in got["columns"]) == [
        "a_b", "event_type", "gold__coins_", "k_v", "player_name", "player_name__2", "timestamp"]
    assert got["canonical"] == delta_rs_rows(table)
    row = dict(zip([c for c, _ in got["columns"]], got["rows"][0]))
    assert (row["player_name__2"], row["player_name"], row["k_v"], row["a_b"]) == ("ann", "kept", "x", True)
    # Spark appends rows to a table with such names, but refuses any change of its
    # schema (DELTA_INVALID_CHARACTERS_IN_COLUMN_NAMES): here a new column.
    cols = got["columns"] + [["note", "string"]]
    spark.ok("append", path=str(table), columns=cols, batches=[[[None] * (len(cols) - 1) + ["new"]]],
             merge_schema=True)
    assert len(spark.rows(table)) == 5 and len(delta_rs_rows(table)) == 5
    # Plain Parquet tables keep the keys' names (Spark reads Parquet with them).
    assert "player name" in pq.read_table(lake / "plain").column_names


def test_spark_reads_questlogs_checkpoints_also_where_only_they_hold_the_start(spark, bin_path,
                                                                               tmp_path: Path):
    """250 commits with questlog's checkpoints at versions 100 and 200 (tests/tools/
    delta_commits, the checkpoint code extract runs): Spark reads delta-rs's rows, and reads
    them too from a copy whose commits and checkpoints before 200 are gone, where only our
    checkpoint of version 200 knows the first 201 files."""
    tool = Path(bin_path).parent / "delta_commits"
    table = tmp_path / "t"
    made = subprocess.run([str(tool), str(table), "250", "checkpoints"], capture_output=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert made.returncode == 0, made.stderr.decode()
    want = delta_rs_rows(table)
    assert len(want) == 250
    assert spark.rows(table) == want

    cleaned = tmp_path / "cleaned"
    (cleaned / "_delta_log").mkdir(parents=True)
    for p in (table / "_delta_log").iterdir():
        if p.name[:20].isdigit() and int(p.name[:20]) < 200:
            continue
        (cleaned / "_delta_log" / p.name).write_bytes(p.read_bytes())
    for p in table.glob("*.parquet"):
        (cleaned / p.name).write_bytes(p.read_bytes())
    assert not (cleaned / "_delta_log" / f"{0:020d}.json").exists()
    assert (cleaned / "_delta_log" / f"{200:020d}.checkpoint.parquet").exists()
    assert spark.rows(cleaned) == want
    assert max(v for v, _ in spark.ok("history", path=str(cleaned))["versions"]) == 249
