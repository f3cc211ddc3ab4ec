"""extract --lake webhdfs://... against a real HDFS (Hadoop's MiniDFSCluster, the
`hdfs` fixture): the seed's session and its three jobs land in the seed's /tmp
directories, which Hadoop's own shell lists and Spark reads with the same rows as
the local lake; overwrite, append and incremental runs; kill -9 during an
overwrite; the namenode stopped mid-job; a datanode that refuses writes; and the
errors HDFS gives (permissions, safe mode), each one line."""

from __future__ import annotations

import io
import os
import random
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import append_raw_bin, log_seed_session, run_questlog, wait_for, write_job

pytest.register_assert_rewrite("hdfs_cluster")
from hdfs_cluster import Hdfs, WebHdfsError  # noqa: E402

pytest_plugins = ["hdfs_cluster"]

REPO = Path(__file__).resolve().parents[2]
JOBS = REPO / "jobs"
SEED_TABLES = ("sword_purchases", "default_hits", "purchases")


# --------------------------------------------------------------------------- helpers


def extract(bin_path: str, job, data: Path, lake: str, *args: str, timeout: float = 120,
            env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([bin_path, "extract", str(job), "--data", str(data), "--lake", lake, *args],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, env=env)


def extract_ok(*a, **kw) -> subprocess.CompletedProcess:
    r = extract(*a, **kw)
    assert r.returncode == 0, r.stderr.decode()
    return r


def start_extract(bin_path: str, job, data: Path, lake: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([bin_path, "extract", str(job), "--data", str(data), "--lake", lake,
                             "--show", "0", *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def seed_events(bin_path: str, data: Path, n: int) -> None:
    r = subprocess.run([append_raw_bin(bin_path), "--seed", str(n), str(data)],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr


def files(hdfs: Hdfs, path: str) -> list[str]:
    """Every file under `path` on HDFS, relative to it, sorted; [] when it is missing."""
    out = []
    try:
        entries = hdfs.list(path)
    except WebHdfsError as e:
        if e.status == 404:
            return []
        raise
    for e in entries:
        if e["type"] == "DIRECTORY":
            out += [f"{e['pathSuffix']}/{f}" for f in files(hdfs, f"{path}/{e['pathSuffix']}")]
        else:
            out.append(e["pathSuffix"])
    return sorted(out)


def read_table(hdfs: Hdfs, path: str) -> pa.Table | None:
    """Every Parquet file of the table at `path`, read over WebHDFS with pyarrow (each
    must be a whole Parquet file), concatenated; None when there is no table."""
    parts = [f for f in files(hdfs, path) if f.endswith(".parquet")]
    if not parts and not files(hdfs, path):
        return None
    tables = [pq.read_table(io.BytesIO(hdfs.open(f"{path}/{f}"))) for f in parts]
    return pa.concat_tables(tables, promote_options="default") if tables else pa.table({})


def rows(hdfs: Hdfs, path: str) -> int | None:
    t = read_table(hdfs, path)
    return None if t is None else t.num_rows


def staged(hdfs: Hdfs, lake: str, table: str) -> list[str]:
    """What is left in the table's staging directory (runs not published)."""
    return files(hdfs, f"{lake}/.staging/{table}")


def one_line_error(r: subprocess.CompletedProcess) -> str:
    """The run failed with exactly one line on stderr (retry notes aside); returns it."""
    assert r.returncode != 0, r.stderr.decode()
    lines = [l for l in r.stderr.decode().splitlines() if "writing it again" not in l]
    assert len(lines) == 1, lines
    assert lines[0].startswith("questlog: "), lines
    return lines[0]


def ls(bin_path: str, lake: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([bin_path, "ls", lake, *args], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=60, env=env)


def ls_rows(out: str) -> dict[str, tuple[int, int, int]]:
    """`questlog ls` output as {table path: (rows, files, bytes)}."""
    table = {}
    for line in out.splitlines()[2:]:
        f = line.split()
        table[f[5]] = (int(f[0]), int(f[1]), int(f[2]))
    return table


@pytest.fixture(scope="module")
def seed_data(bin_path, tmp_path_factory) -> Path:
    """The seed's ab session (10 default hits and 10 sword purchases from each of two
    hosts, 5 knives) in an embedded log."""
    return log_seed_session(bin_path, tmp_path_factory.mktemp("seed") / "data")


# --------------------------------------------------------------------------- the seed's session


def test_the_seeds_jobs_write_the_seeds_tables_on_hdfs(bin_path, hdfs: Hdfs, seed_data: Path,
                                                       tmp_path: Path, spark):
    lake = f"{hdfs.webhdfs}/tmp"
    local = tmp_path / "lake"
    for job in ("separate_events.toml", "just_filtering.toml", "filtered_writes.toml"):
        on_hdfs = extract_ok(bin_path, JOBS / job, seed_data, lake)
        on_disk = extract_ok(bin_path, JOBS / job, seed_data, str(local))
        assert on_hdfs.stdout == on_disk.stdout  # the same printSchema() and show()
    err = on_hdfs.stderr.decode()
    assert f"questlog: table purchases: 20 rows, 1 file, " in err
    assert f" -> {lake}/purchases\n" in err

    # The seed's `hadoop fs -ls /tmp`, with Hadoop's own client.
    listing = hdfs.dfs("-ls", "/tmp").stdout.decode()
    dirs = {line.split()[-1] for line in listing.splitlines() if line.startswith("d")}
    assert {f"/tmp/{t}" for t in SEED_TABLES} <= dirs, listing
    for table in SEED_TABLES:
        entries = hdfs.dfs("-ls", f"/tmp/{table}").stdout.decode().splitlines()
        names = sorted(line.split()[-1].rsplit("/", 1)[1] for line in entries if line.startswith("-"))
        assert len(names) == 2 and names[0] == "_SUCCESS", entries
        assert re.fullmatch(r"part-00000-[0-9a-f-]{36}-c000\.snappy\.parquet", names[1]), names
        owner = [line.split()[2] for line in entries if line.startswith("-")]
        assert owner == [hdfs.user, hdfs.user], entries  # user.name: the local user by default
        assert hdfs.dfs("-cat", f"/tmp/{table}/_SUCCESS").stdout == b""
        # The same bytes as the local lake's file.
        [local_part] = (local / table).glob("part-*.parquet")
        assert hdfs.open(f"/tmp/{table}/{names[1]}") == local_part.read_bytes(), table

    # questlog ls on either lake: the same rows, files and bytes.
    on_hdfs = ls(bin_path, lake)
    on_disk = ls(bin_path, str(local))
    assert on_hdfs.returncode == 0 and on_disk.returncode == 0, on_hdfs.stderr + on_disk.stderr
    hdfs_tables = ls_rows(on_hdfs.stdout.decode())
    disk_tables = ls_rows(on_disk.stdout.decode())
    for table in SEED_TABLES:
        assert hdfs_tables[f"{lake}/{table}"] == disk_tables[f"{local}/{table}"], (hdfs_tables, disk_tables)
        assert hdfs_tables[f"{lake}/{table}"][:2] == (20, 1)

    # Spark reads the tables from HDFS (hdfs://, the RPC port) and from the local lake.
    for table in SEED_TABLES:
        from_hdfs = spark.read.parquet(hdfs.url(f"/tmp/{table}"))
        from_disk = spark.read.parquet(str(local / table))
        assert from_hdfs.columns == from_disk.columns
        assert sorted(map(tuple, from_hdfs.collect())) == sorted(map(tuple, from_disk.collect()))
        assert from_hdfs.count() == 20
    by_host = (spark.read.parquet(hdfs.url("/tmp/purchases")).groupBy("Host").count()
               .orderBy("Host").collect())
    assert [(r.Host, r["count"]) for r in by_host] == [("user1.comcast.com", 10), ("user2.att.com", 10)]


def test_ls_lists_the_tables_like_hadoop_fs_ls(bin_path, hdfs: Hdfs, seed_data: Path, spark):
    lake = f"{hdfs.webhdfs}/tmp/ls-lake"
    extract_ok(bin_path, JOBS / "separate_events.toml", seed_data, lake)
    # Tables written by others: pyarrow (several row groups) and Spark (parquet-mr).
    t = pa.table({"n": pa.array(range(1000), pa.int64())})
    buf = io.BytesIO()
    pq.write_table(t, buf, row_group_size=100)
    hdfs.create("/tmp/ls-lake/by_pyarrow/part-0.parquet", buf.getvalue())
    spark.range(0, 1234).write.parquet(hdfs.url("/tmp/ls-lake/nested/by_spark"))
    before = time.time()
    r = ls(bin_path, lake, env={**os.environ, "TZ": "UTC"})
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode().splitlines()
    assert out[0] == "Found 4 tables"
    assert out[1].split() == ["rows", "files", "bytes", "last", "write", "table"]
    got = ls_rows(r.stdout.decode())
    assert got[f"{lake}/by_pyarrow"] == (1000, 1, len(buf.getvalue()))
    assert got[f"{lake}/nested/by_spark"][0] == 1234
    assert got[f"{lake}/sword_purchases"][:2] == (20, 1)
    assert got[f"{lake}/default_hits"][:2] == (20, 1)
    # Columns line up; the time is the last write's, to the minute, in TZ.
    widths = {len(line) - len(line.split()[-1]) for line in out[1:]}
    assert len(widths) == 1, out
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(before))
    later = time.strftime("%Y-%m-%d %H:%M", time.gmtime(time.time()))
    assert any(stamp in line or later in line for line in out[2:]), out


# --------------------------------------------------------------------------- modes

MODES = """
[[tables]]
name = "every"
path = "every"
mode = "overwrite"

[[tables]]
name = "appended"
path = "appended"
where = { event_type = "default" }
mode = "append"

[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "incremental"

[[tables]]
name = "by_type"
path = "by_type"
mode = "incremental"
partition_by = ["event_type"]
"""


def test_overwrite_append_and_incremental_on_hdfs(bin_path, hdfs: Hdfs, tmp_path: Path):
    data, local = tmp_path / "data", tmp_path / "lake"
    lake = f"{hdfs.webhdfs}/tmp/modes"
    job = write_job(tmp_path, "modes", MODES)
    seed_events(bin_path, data, 5000)  # 2,000 default hits, 2,000 swords, 1,000 knives
    extract_ok(bin_path, job, data, lake)
    extract_ok(bin_path, job, data, str(local))
    assert rows(hdfs, "/tmp/modes/every") == 5000
    assert rows(hdfs, "/tmp/modes/appended") == 2000
    assert rows(hdfs, "/tmp/modes/swords") == 2000
    assert rows(hdfs, "/tmp/modes/by_type") == 5000

    seed_events(bin_path, data, 1000)  # 400, 400, 200 more
    extract_ok(bin_path, job, data, lake)
    extract_ok(bin_path, job, data, str(local))
    assert rows(hdfs, "/tmp/modes/every") == 6000  # replaced
    assert rows(hdfs, "/tmp/modes/appended") == 4400  # all of it again
    assert rows(hdfs, "/tmp/modes/swords") == 2400  # only what is new: exactly once
    assert rows(hdfs, "/tmp/modes/by_type") == 6000
    r = extract_ok(bin_path, job, data, lake)  # nothing new for the incremental tables
    assert "questlog: table swords: 0 rows, 0 files," in r.stderr.decode()
    assert rows(hdfs, "/tmp/modes/swords") == 2400

    swords = [f for f in files(hdfs, "/tmp/modes/swords") if f.startswith("part-")]
    assert [f[:47] for f in swords] == ["part-00000000000000000000-00000000000000005000-",
                                        "part-00000000000000005000-00000000000000006000-"]
    by_type = files(hdfs, "/tmp/modes/by_type")
    assert {f.split("/")[0] for f in by_type if "/" in f} == {
        "event_type=default", "event_type=purchase_knife", "event_type=purchase_sword"}
    assert "_SUCCESS" in by_type
    # The same files as the local lake (names aside).
    for table in ("every", "swords", "by_type"):
        want = sorted(p.relative_to(local / table).as_posix().split("-")[0]
                      for p in (local / table).rglob("*") if p.is_file())
        got = sorted(f.split("-")[0] for f in files(hdfs, f"/tmp/modes/{table}"))
        assert got == want, table
    # Nothing left in staging but the (empty) lock directories.
    for table in ("every", "appended", "swords", "by_type"):
        assert staged(hdfs, "/tmp/modes", table) == []
        assert hdfs.list(f"/tmp/modes/.staging/{table}.lock") == []


# --------------------------------------------------------------------------- faults


def test_kill_9_during_an_hdfs_overwrite_leaves_a_readable_table(bin_path, hdfs: Hdfs, tmp_path: Path):
    data = tmp_path / "data"
    lake = f"{hdfs.webhdfs}/tmp/kill9"
    job = JOBS / "separate_events.toml"
    seed_events(bin_path, data, 200_000)
    t0 = time.monotonic()
    extract_ok(bin_path, job, data, lake, "--show", "0")
    took = time.monotonic() - t0
    swords = 80_000
    assert rows(hdfs, "/tmp/kill9/sword_purchases") == swords

    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    outcomes = []
    for attempt in range(10):
        seed_events(bin_path, data, 5000)  # each run's table has 2,000 more swords than the last
        before, after = swords, swords + 2000
        p = start_extract(bin_path, job, data, lake)
        delay = rng.uniform(0, took)
        time.sleep(delay)  # a random point of the run, not a wait for anything
        p.send_signal(signal.SIGKILL)
        p.wait(30)
        for table in ("sword_purchases", "default_hits"):
            n = rows(hdfs, f"/tmp/kill9/{table}")
            if n is None:
                # Killed between the two renames of the swap: no table for now; in
                # staging the old one aside as <run>.old and the new one complete in
                # <run>, which the next run moves in.
                left = staged(hdfs, "/tmp/kill9", table)
                olds = {f.split("/")[0] for f in left if f.split("/")[0].endswith(".old")}
                assert len(olds) == 1, (seed, attempt, left)
                run = olds.pop().removesuffix(".old")
                assert f"{run}/_SUCCESS" in left, (seed, attempt, left)
                outcomes.append("between")
            else:
                assert n in (before, after), (seed, attempt, delay, table, n)
                outcomes.append("old" if n == before else "new")
            parts = [f for f in files(hdfs, f"/tmp/kill9/{table}") if f.startswith("part-")]
            assert len(parts) <= 1, (seed, attempt, parts)
        # The next run finishes or discards what the killed one left, then writes.
        extract_ok(bin_path, job, data, lake, "--show", "0")
        swords = after
        for table in ("sword_purchases", "default_hits"):
            assert rows(hdfs, f"/tmp/kill9/{table}") == swords, (seed, attempt)
            assert staged(hdfs, "/tmp/kill9", table) == []
            assert hdfs.list(f"/tmp/kill9/.staging/{table}.lock") == []
    print(f"kill -9 at random points (seed {seed}): {outcomes}")


def wait_for_lock(hdfs: Hdfs, lock: str, p: subprocess.Popen) -> None:
    """Waits until the extract `p` holds (has an entry in) the lock directory `lock`."""
    def held() -> bool:
        assert p.poll() is None, p.stderr.read().decode()
        try:
            return bool(hdfs.list(lock))
        except WebHdfsError as e:
            if e.status == 404:
                return False
            raise
    wait_for(held, timeout=60, interval=0.01, what=f"an entry in {lock}")


def test_the_namenode_stopped_mid_job_is_one_error_and_no_partial_table(bin_path, hdfs: Hdfs,
                                                                        tmp_path: Path):
    data = tmp_path / "data"
    lake = f"{hdfs.webhdfs}/tmp/nn-down"
    job = JOBS / "separate_events.toml"
    seed_events(bin_path, data, 5000)
    extract_ok(bin_path, job, data, lake)
    old = {t: files(hdfs, f"/tmp/nn-down/{t}") for t in ("sword_purchases", "default_hits")}
    seed_events(bin_path, data, 1_000_000)

    p = start_extract(bin_path, job, data, lake)
    try:
        # Once it holds its tables it reads the log (a while, at a million events):
        # stop it there, stop the namenode, let it go on.
        wait_for_lock(hdfs, "/tmp/nn-down/.staging/default_hits.lock", p)
        p.send_signal(signal.SIGSTOP)
        hdfs.namenode("stop")
        p.send_signal(signal.SIGCONT)
        p.wait(120)
    finally:
        if p.poll() is None:
            p.kill()
        hdfs.namenode("start")
    err = p.stderr.read().decode()
    assert p.returncode == 1, err
    # A file being uploaded when the namenode went (an overwrite's _SUCCESS is
    # uploaded while the log is read) fails on the datanode first: notes of its
    # retries may come before the one error.
    lines = [l for l in err.splitlines() if "writing it again" not in l]
    assert len(lines) == 1, lines
    assert re.fullmatch(rf"questlog: (table \w+: )?{re.escape(lake)}/\S+: [A-Z]+: no answer from the namenode "
                        rf"127\.0\.0\.1:{hdfs.http_port} \(.*\)", lines[0]), lines[0]
    # Both tables are as they were: nothing of the failed run was published.
    for table, before in old.items():
        assert files(hdfs, f"/tmp/nn-down/{table}") == before
        assert rows(hdfs, f"/tmp/nn-down/{table}") == 2000
    # The next run cleans up after it (its staging, its lock entries) and writes.
    extract_ok(bin_path, job, data, lake, "--show", "0")
    assert rows(hdfs, "/tmp/nn-down/sword_purchases") == 402_000
    for table in old:
        assert staged(hdfs, "/tmp/nn-down", table) == []
        assert hdfs.list(f"/tmp/nn-down/.staging/{table}.lock") == []


def test_a_datanode_that_refuses_the_write_fails_the_job_after_retries(bin_path, hdfs: Hdfs,
                                                                       tmp_path: Path):
    data = tmp_path / "data"
    lake = f"{hdfs.webhdfs}/tmp/dn-down"
    job = JOBS / "separate_events.toml"
    seed_events(bin_path, data, 5000)
    extract_ok(bin_path, job, data, lake)
    old = files(hdfs, "/tmp/dn-down/sword_purchases")
    seed_events(bin_path, data, 5000)
    dn = hdfs.info()["datanode-http"]
    hdfs.datanode("stop")
    try:
        t0 = time.monotonic()
        r = extract(bin_path, job, data, lake)
        took = time.monotonic() - t0
    finally:
        hdfs.datanode("start")
    line = one_line_error(r)
    # The first file a run uploads fails: an overwrite's _SUCCESS (uploaded while
    # the log is read) or a part file.
    assert re.fullmatch(rf"questlog: table \w+: {re.escape(lake)}/\.staging/\w+/overwrite-[0-9a-f-]+/"
                        rf"(_SUCCESS|part-\S+): CREATE: the datanode {re.escape(dn)} failed \(.*\) "
                        rf"\(after 5 attempts\)", line), line
    notes = [l for l in r.stderr.decode().splitlines() if "writing it again" in l]
    assert len(notes) >= 4 and "(attempt 2 of 5)" in notes[0], notes
    assert 7 <= took < 60, took  # 0.5 + 1 + 2 + 4 s between the five tries
    assert files(hdfs, "/tmp/dn-down/sword_purchases") == old  # nothing published
    assert rows(hdfs, "/tmp/dn-down/sword_purchases") == 2000
    extract_ok(bin_path, job, data, lake)
    assert rows(hdfs, "/tmp/dn-down/sword_purchases") == 4000
    assert staged(hdfs, "/tmp/dn-down", "sword_purchases") == []


def test_a_datanode_back_while_extract_retries_gets_the_write(bin_path, hdfs: Hdfs, tmp_path: Path):
    data = tmp_path / "data"
    lake = f"{hdfs.webhdfs}/tmp/dn-back"
    seed_events(bin_path, data, 5000)
    hdfs.datanode("stop")
    p = start_extract(bin_path, JOBS / "filtered_writes.toml", data, lake)
    err = []
    try:
        # Wait for its first retry, then bring the datanode back.
        line = p.stderr.readline().decode()
        err.append(line)
        assert "writing it again in 0.5 s (attempt 2 of 5)" in line, line
    finally:
        hdfs.datanode("start")
    p.wait(60)
    err.append(p.stderr.read().decode())
    assert p.returncode == 0, "".join(err)
    assert "questlog: table purchases: 2000 rows, 1 file," in "".join(err)
    assert rows(hdfs, "/tmp/dn-back/purchases") == 2000


def test_hdfs_errors_are_one_line_naming_the_namenode_the_path_and_hdfs_message(
        bin_path, hdfs: Hdfs, seed_data: Path):
    job = JOBS / "filtered_writes.toml"
    # Permission denied: a directory of alice's, written as bob.
    hdfs.mkdirs("/tmp/alices", user="alice", permission="755")
    r = extract(bin_path, job, seed_data, f"{hdfs.webhdfs}/tmp/alices", "-X", "user.name=bob")
    line = one_line_error(r)
    assert line.startswith(f"questlog: {hdfs.webhdfs}/tmp/alices/"), line
    assert ("refused by the namenode: AccessControlException: Permission denied: user=bob, "
            "access=WRITE, inode=\"/tmp/alices\":alice:") in line, line
    assert hdfs.list("/tmp/alices") == []
    # As alice it works, and the files are hers.
    extract_ok(bin_path, job, seed_data, f"{hdfs.webhdfs}/tmp/alices", "-X", "user.name=alice")
    assert {e["owner"] for e in hdfs.list("/tmp/alices/purchases")} == {"alice"}
    # HADOOP_USER_NAME, as Hadoop's own client takes it.
    env = {**os.environ, "HADOOP_USER_NAME": "carol"}
    extract_ok(bin_path, job, seed_data, f"{hdfs.webhdfs}/tmp/carols", env=env)
    assert {e["owner"] for e in hdfs.list("/tmp/carols/purchases")} == {"carol"}

    # Safe mode: HDFS's own words, advice included.
    assert b"Safe mode is ON" in hdfs.dfsadmin("-safemode", "enter").stdout
    try:
        r = extract(bin_path, job, seed_data, f"{hdfs.webhdfs}/tmp/safe-mode")
    finally:
        hdfs.dfsadmin("-safemode", "leave")
    line = one_line_error(r)
    assert line.startswith(f"questlog: {hdfs.webhdfs}/tmp/safe-mode/"), line
    assert "SafeModeException: " in line and "Name node is in safe mode. It was turned on manually." in line

    # No namenode there at all.
    with socket_port() as port:
        r = extract(bin_path, job, seed_data, f"webhdfs://127.0.0.1:{port}/tmp")
    line = one_line_error(r)
    assert re.fullmatch(rf"questlog: webhdfs://127\.0\.0\.1:{port}/tmp/purchases: GETFILESTATUS: no "
                        rf"answer from the namenode 127\.0\.0\.1:{port} \(.*\)", line), line


class socket_port:
    """A loopback port nothing listens on (bound and closed again)."""
    def __enter__(self) -> int:
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        return self.port

    def __exit__(self, *exc):
        return False


def test_uris_other_than_webhdfs_are_refused(bin_path, seed_data: Path, tmp_path: Path):
    job = JOBS / "filtered_writes.toml"
    r = extract(bin_path, job, seed_data, "hdfs://127.0.0.1:8020/tmp")
    assert one_line_error(r) == (
        "questlog: hdfs://127.0.0.1:8020/tmp: questlog reaches HDFS over WebHDFS, on the namenode's "
        "HTTP port, not its RPC port: use webhdfs://127.0.0.1:9870/tmp (the port of "
        "dfs.namenode.http-address, 9870 by default)")
    assert "s3://" in one_line_error(extract(bin_path, job, seed_data, "s3://bucket/lake"))
    r = extract(bin_path, job, seed_data, str(tmp_path / "lake"), "-X", "user.name=bob")
    assert "-X user.name: is the HDFS user of a webhdfs:// lake" in one_line_error(r)
    assert not (tmp_path / "lake").exists()
    help_text = run_questlog(bin_path, "extract", "--help").stdout.decode()
    assert "webhdfs://NAMENODE:HTTP_PORT/PATH" in help_text and "9870" in help_text
    assert "hdfs:// and its RPC" in help_text


def test_a_second_extract_of_a_table_on_hdfs_is_refused_while_the_first_runs(bin_path, hdfs: Hdfs,
                                                                             tmp_path: Path):
    data = tmp_path / "data"
    lake = f"{hdfs.webhdfs}/tmp/locked"
    job = JOBS / "filtered_writes.toml"
    seed_events(bin_path, data, 500_000)
    first = start_extract(bin_path, job, data, lake)
    try:
        wait_for_lock(hdfs, "/tmp/locked/.staging/purchases.lock", first)
        first.send_signal(signal.SIGSTOP)  # holding the lock
        r = extract(bin_path, job, data, lake)
        line = one_line_error(r)
        assert line.startswith(f"questlog: {lake}/purchases: another extract is writing this table "
                               f"now ({lake}/.staging/purchases.lock: held by another process "
                               f"(pid {first.pid} on "), line
    finally:
        first.send_signal(signal.SIGCONT)
    first.wait(60)
    assert first.returncode == 0, first.stderr.read().decode()
    assert rows(hdfs, "/tmp/locked/purchases") == 200_000
    assert hdfs.list("/tmp/locked/.staging/purchases.lock") == []


def test_a_lock_left_by_a_dead_holder_is_broken_and_a_live_ones_is_respected(bin_path, hdfs: Hdfs,
                                                                             seed_data: Path):
    lake = f"{hdfs.webhdfs}/tmp/lease"
    job = JOBS / "filtered_writes.toml"
    lock = "/tmp/lease/.staging/purchases.lock"

    # Another host's holder that renewed its lease just now: respected.
    other = f"{lock}/host=elsewhere.example,pid=4242,start=1,token=0123456789abcdef"
    hdfs.mkdirs(other)
    line = one_line_error(extract(bin_path, job, seed_data, lake))
    assert line.startswith(f"questlog: {lake}/purchases: another extract is writing this table now "
                           f"({lake}/.staging/purchases.lock: held by another process (pid 4242 on "
                           f"elsewhere.example, renewed "), line
    assert [e["pathSuffix"] for e in hdfs.list(lock)] == [other.rsplit("/", 1)[1]]

    # Its lease (60 s) has run out: the holder is taken for dead, its entry removed.
    status, _, body = hdfs.request("PUT", other, "SETTIMES",
                                   modificationtime=str(int(time.time() * 1000) - 120_000))
    assert status == 200, body
    extract_ok(bin_path, job, seed_data, lake)
    assert hdfs.list(lock) == [] and rows(hdfs, "/tmp/lease/purchases") == 20

    # A holder on this host whose process is gone: dead at once, whatever its lease.
    gone = subprocess.Popen(["true"])
    gone.wait()
    hdfs.mkdirs(f"{lock}/host={os.uname().nodename},pid={gone.pid},start=1,token=feedfacefeedface")
    extract_ok(bin_path, job, seed_data, lake)
    assert hdfs.list(lock) == []
