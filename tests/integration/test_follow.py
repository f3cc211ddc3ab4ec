"""`questlog extract --follow`: tables kept current as `serve` logs events.

Records served while a follower runs reach its tables within a few triggers;
triggers that find nothing new write nothing; SIGTERM commits what the log holds
and exits 0; and a follower killed with SIGKILL at random points while `serve`
takes tagged requests, then started again, leaves every 200 the job's filter
selects in the table exactly once. The Delta tables are read with delta-rs (the
`deltalake` package), not with anything of ours.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import wait_for, write_job

deltalake = pytest.importorskip("deltalake")  # tests/requirements.txt installs it

SWORDS = """
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "append"
format = "delta"
"""

SWORDS_AND_PLAIN = SWORDS + """
[[tables]]
name = "hits"
path = "hits"
where = { event_type = "default" }
mode = "incremental"
"""


class Follower:
    """One `questlog extract --follow` process; stderr collected by a reader thread."""

    def __init__(self, bin_path: str, job: Path, data: Path, lake: Path, *args: str):
        self.proc = subprocess.Popen(
            [bin_path, "extract", str(job), "--data", str(data), "--lake", str(lake), "--follow",
             *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._following = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            with self._lock:
                self._lines.append(line)
            if line.startswith("questlog: following "):
                self._following.set()
        self._following.set()  # EOF: the process ended

    def wait_following(self, timeout: float = 30) -> None:
        """Waits for the line a follower prints once its tables are open."""
        self._following.wait(timeout)
        assert "questlog: following " in self.stderr, f"not following; stderr:\n{self.stderr}"

    @property
    def stderr(self) -> str:
        with self._lock:
            return "".join(self._lines)

    def stop(self, sig=signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return rc


@pytest.fixture
def followers():
    """Every follower a test starts is killed by pid at teardown."""
    started: list[Follower] = []
    yield started
    for f in started:
        if f.proc.poll() is None:
            os.kill(f.proc.pid, signal.SIGKILL)
        f.proc.wait(timeout=10)
        f.proc.stderr.close()


def request(conn: http.client.HTTPConnection, path: str, tag: str) -> int:
    conn.request("GET", path, headers={"Host": "follow.example", "X-Tag": tag})
    r = conn.getresponse()
    r.read()
    return r.status


def serve_tagged(addr, n: int, prefix: str, path: str = "/purchase_a_sword") -> list[str]:
    conn = http.client.HTTPConnection(*addr, timeout=10)
    tags = []
    for i in range(n):
        tag = f"{prefix}-{i}"
        assert request(conn, path, tag) == 200
        tags.append(tag)
    conn.close()
    return tags


def delta_tags(table: Path) -> list[str]:
    """The X-Tag column of a Delta table as delta-rs reads it ([] before its first commit;
    _delta_log/ is made before the first commit is linked into it)."""
    if not (table / "_delta_log" / f"{0:020d}.json").exists():
        return []
    t = deltalake.DeltaTable(str(table)).to_pyarrow_table()
    return t.column("X-Tag").to_pylist() if "X-Tag" in t.column_names else []


def delta_version(table: Path) -> int:
    return deltalake.DeltaTable(str(table)).version()


def wait_for_tags(table: Path, want: list[str], timeout: float = 60) -> None:
    """Waits (bounded) until the table holds exactly `want`, each once."""
    wait_for(lambda: sorted(delta_tags(table)) == sorted(want), timeout, interval=0.2,
             what=f"{len(want)} tags in {table}")


def test_records_served_while_following_reach_the_tables_within_a_few_triggers(
        bin_path, server, tmp_path, followers):
    lake = tmp_path / "lake"
    job = write_job(tmp_path, "follow", SWORDS_AND_PLAIN)
    f = Follower(bin_path, job, server.data, lake, "--trigger", "500ms")
    followers.append(f)
    swords = serve_tagged(server.addr, 20, "a")
    hits = serve_tagged(server.addr, 7, "h", "/")
    wait_for_tags(lake / "swords", swords)
    swords += serve_tagged(server.addr, 5, "b")
    wait_for_tags(lake / "swords", swords)
    # The plain incremental table too, read by pyarrow.
    wait_for(lambda: (lake / "hits").is_dir() and
             sorted(pq.read_table(lake / "hits").column("X-Tag").to_pylist()) == sorted(hits),
             30, interval=0.2, what="the plain table's rows")
    assert f.stop() == 0, f.stderr
    assert "questlog: table swords: " in f.stderr and "(Delta version " in f.stderr, f.stderr
    assert "questlog: stopped following: read " in f.stderr, f.stderr


def test_idle_triggers_add_no_version(bin_path, server, tmp_path, followers):
    lake = tmp_path / "lake"
    job = write_job(tmp_path, "idle", SWORDS)
    swords = serve_tagged(server.addr, 3, "a")
    f = Follower(bin_path, job, server.data, lake, "--trigger", "200ms")
    followers.append(f)
    wait_for_tags(lake / "swords", swords)
    version = delta_version(lake / "swords")
    time.sleep(2.0)  # ten idle triggers: an interval to observe, not a wait for anything
    assert f.proc.poll() is None, f.stderr
    assert delta_version(lake / "swords") == version
    # Events served to other tables' filters add no version of this one either
    # (within the minute a table's offsets may wait for a commit of their own).
    serve_tagged(server.addr, 4, "h", "/")
    swords += serve_tagged(server.addr, 1, "b")
    wait_for_tags(lake / "swords", swords)
    assert delta_version(lake / "swords") == version + 1
    assert f.stop() == 0, f.stderr


def test_sigterm_commits_what_the_log_holds_and_exits_0(bin_path, server, tmp_path, followers):
    lake = tmp_path / "lake"
    job = write_job(tmp_path, "term", SWORDS)
    swords = serve_tagged(server.addr, 5, "a")
    # A trigger longer than the test: the only commits are the first micro-batch
    # (at start) and the last one (at SIGTERM).
    f = Follower(bin_path, job, server.data, lake, "--trigger", "10m")
    followers.append(f)
    wait_for_tags(lake / "swords", swords)
    swords += serve_tagged(server.addr, 6, "b")
    assert f.stop(signal.SIGTERM) == 0, f.stderr
    assert sorted(delta_tags(lake / "swords")) == sorted(swords)
    assert "read 11 records in 2 micro-batches, 2 table commits" in f.stderr, f.stderr


def test_sigint_too(bin_path, server, tmp_path, followers):
    lake = tmp_path / "lake"
    job = write_job(tmp_path, "int", SWORDS)
    f = Follower(bin_path, job, server.data, lake, "--trigger", "10m")
    followers.append(f)
    f.wait_following()
    swords = serve_tagged(server.addr, 2, "a")
    assert f.stop(signal.SIGINT) == 0, f.stderr
    assert sorted(delta_tags(lake / "swords")) == sorted(swords)


class TaggedClient:
    """Sends tagged requests one at a time until stopped: swords (the job's filter) and
    default hits (not selected); records the tags of the swords that got a 200."""

    def __init__(self, addr):
        self.addr = addr
        self.stop = threading.Event()
        self.acked: list[str] = []
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = http.client.HTTPConnection(*self.addr, timeout=10)
        n = 0
        while not self.stop.is_set():
            tag = f"t-{n}"
            path = "/purchase_a_sword" if n % 4 else "/"
            n += 1
            try:
                status = request(conn, path, tag)
            except Exception as e:  # noqa: BLE001 - recorded and asserted on
                self.errors.append(f"{type(e).__name__}: {e}")
                conn.close()
                conn = http.client.HTTPConnection(*self.addr, timeout=10)
                continue
            if status == 200 and path != "/":
                self.acked.append(tag)
            time.sleep(0.002)
        conn.close()

    def __enter__(self) -> "TaggedClient":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the client hung"


def kill_at_random_points(followers: list, rng: random.Random, cycles: int,
                          pause: tuple[float, float], *args) -> int:
    """Starts `cycles` followers (Follower(*args)) one after another and kills each with
    SIGKILL after a random pause within `pause` seconds; returns how many were still
    running when killed."""
    kills = 0
    for _ in range(cycles):
        f = Follower(*args)
        followers.append(f)
        time.sleep(rng.uniform(*pause))  # a random point of its life, not a wait
        if f.proc.poll() is None:
            kills += 1
        assert f.stop(signal.SIGKILL) in (-signal.SIGKILL, 0), f.stderr
    return kills


def test_followers_killed_at_random_points_leave_every_200_in_the_table_once(
        bin_path, server, tmp_path, followers):
    lake = tmp_path / "lake"
    job = write_job(tmp_path, "kills", SWORDS.replace('mode = "append"',
                                                     'mode = "append"\npartition_by = ["Host"]'))
    rng = random.Random(int(os.environ.get("FOLLOW_SEED", "17")))
    cycles = int(os.environ.get("FOLLOW_CYCLES", "50"))
    with TaggedClient(server.addr) as client:
        kills = kill_at_random_points(followers, rng, cycles, (0.05, 1.2),
                                      bin_path, job, server.data, lake, "--trigger", "100ms")
    assert not client.errors, client.errors[:3]
    assert kills >= cycles * 0.9
    # A last follower catches up; SIGTERM commits the rest.
    f = Follower(bin_path, job, server.data, lake, "--trigger", "200ms")
    followers.append(f)
    wait_for_tags(lake / "swords", client.acked, timeout=120)
    assert f.stop() == 0, f.stderr
    got = delta_tags(lake / "swords")
    assert len(got) == len(set(got)), "a row twice"
    assert sorted(got) == sorted(client.acked), f"{len(got)} rows for {len(client.acked)} 200s"
    assert len(client.acked) > 100


@pytest.mark.parametrize("table, says", [
    ('mode = "overwrite"\nformat = "delta"', 'mode = "overwrite" cannot be followed'),
    ('mode = "append"', 'a plain Parquet table in mode = "append" cannot be followed exactly once'),
    ('mode = "overwrite"', 'mode = "overwrite" cannot be followed'),
])
def test_tables_a_follower_cannot_keep_exactly_once_are_refused(bin_path, server, tmp_path,
                                                                table, says):
    job = write_job(tmp_path, "refused", f"""
[[tables]]
name = "swords"
path = "swords"
{table}
""")
    r = subprocess.run([bin_path, "extract", str(job), "--data", str(server.data), "--lake",
                        str(tmp_path / "lake"), "--follow"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert r.returncode != 0
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and says in lines[0], lines
    assert not (tmp_path / "lake" / "swords").exists()


def test_a_follower_started_before_the_log_waits_for_it(bin_path, start_server, tmp_path,
                                                        followers):
    lake, data = tmp_path / "lake", tmp_path / "data"
    job = write_job(tmp_path, "early", SWORDS)
    f = Follower(bin_path, job, data, lake, "--trigger", "200ms")
    followers.append(f)
    wait_for(lambda: "questlog: waiting for the log to appear" in f.stderr, 30, interval=0.1,
             what="the follower to say it waits")
    server = start_server(data=data)
    swords = serve_tagged(server.addr, 3, "a")
    wait_for_tags(lake / "swords", swords)
    assert f.stop() == 0, f.stderr


def test_a_bad_trigger_is_one_line(bin_path, server, tmp_path):
    job = write_job(tmp_path, "t", SWORDS)
    r = subprocess.run([bin_path, "extract", str(job), "--data", str(server.data), "--lake",
                        str(tmp_path / "lake"), "--follow", "--trigger", "5 seconds"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert r.returncode != 0
    assert r.stderr.decode().splitlines() == [
        'questlog: --trigger: "5 seconds" is not a duration (500ms, 1s, 2m, 1h)'], r.stderr


# --------------------------------------------------------------------------- Kafka


@pytest.mark.parametrize("partitions", [1, 3])
def test_on_kafka_followers_killed_at_random_points_leave_every_200_once(
        kafka, bin_path, start_server, tmp_path, followers, topic, partitions):
    from test_kafka_read import create_topic
    create_topic(bin_path, kafka.bootstrap, topic, partitions)
    server = start_server("--kafka", kafka.bootstrap, "--topic", topic)
    lake = tmp_path / "lake"
    job = write_job(tmp_path, "kafka_kills", f'[source]\ntopic = "{topic}"\n' + SWORDS)
    rng = random.Random(partitions)
    kafka_args = ("--kafka", kafka.bootstrap, "--trigger", "200ms")
    with TaggedClient(server.addr) as client:
        kill_at_random_points(followers, rng, int(os.environ.get("FOLLOW_KAFKA_CYCLES", "10")),
                              (0.2, 2.0), bin_path, job, tmp_path / "unused", lake, *kafka_args)
    assert not client.errors, client.errors[:3]
    f = Follower(bin_path, job, tmp_path / "unused", lake, *kafka_args)
    followers.append(f)
    wait_for_tags(lake / "swords", client.acked, timeout=120)
    assert f.stop() == 0, f.stderr
    got = delta_tags(lake / "swords")
    assert len(got) == len(set(got)), "a row twice"
    assert sorted(got) == sorted(client.acked)
    assert len(client.acked) > 50
    # One txn per partition in the table's log.
    txns = set()
    for commit in sorted((lake / "swords" / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            if '"txn"' in line:
                txns.add(json.loads(line)["txn"]["appId"])
    assert txns == {f"questlog/kafka_kills/swords/{topic}/{p}" for p in range(partitions)}, txns


def swords_on(bootstrap: str, topic: str, tags: list[str], partition: int = 0) -> list[str]:
    """Produces one purchase_sword event per tag to `partition` of `topic` (kcat -P)."""
    from test_kafka_read import produce
    produce(bootstrap, topic, [json.dumps({"event_type": "purchase_sword", "X-Tag": t}).encode()
                               for t in tags], partition)
    return tags


def test_on_kafka_partitions_added_while_following_are_read_from_their_start(
        kafka, bin_path, tmp_path, followers, topic):
    from test_kafka_read import create_topic, tool
    create_topic(bin_path, kafka.bootstrap, topic, 1)
    lake = tmp_path / "lake"
    job = write_job(tmp_path, "grown", f'[source]\ntopic = "{topic}"\n' + SWORDS)
    swords = swords_on(kafka.bootstrap, topic, ["p0-a", "p0-b"])
    f = Follower(bin_path, job, tmp_path / "unused", lake, "--kafka", kafka.bootstrap,
                 "--trigger", "200ms")
    followers.append(f)
    wait_for_tags(lake / "swords", swords)
    r = subprocess.run([tool(bin_path, "kafka_admin"), kafka.bootstrap, "grow", topic, "3"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    for p in (1, 2):
        swords += swords_on(kafka.bootstrap, topic, [f"p{p}-a", f"p{p}-b"], p)
    swords += swords_on(kafka.bootstrap, topic, ["p0-c"])
    wait_for(lambda: f"topic {topic} on {kafka.bootstrap} now has 3 partitions" in f.stderr, 60,
             interval=0.2, what="the follower to see the new partitions")
    wait_for_tags(lake / "swords", swords)
    assert f.stop() == 0, f.stderr
    txns = {}
    for commit in sorted((lake / "swords" / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            if '"txn"' in line:
                txn = json.loads(line)["txn"]
                txns[txn["appId"]] = txn["version"]
    assert txns == {f"questlog/grown/swords/{topic}/0": 3, f"questlog/grown/swords/{topic}/1": 2,
                    f"questlog/grown/swords/{topic}/2": 2}, txns


@pytest.mark.parametrize("skip", [False, True])
def test_on_kafka_records_deleted_before_the_follower_read_them_are_reported(
        kafka, bin_path, tmp_path, followers, topic, skip):
    """Kafka's retention deleting offsets past where a follower has read (DeleteRecords
    moves the topic's start as retention does): the follower stops with one line, as a
    run stops for a table whose committed offsets the topic no longer holds; with
    --skip-damaged it says what it skipped and reads on."""
    from test_kafka_read import create_topic, tool
    create_topic(bin_path, kafka.bootstrap, topic, 1)
    lake = tmp_path / "lake"
    job = write_job(tmp_path, "retention", f'[source]\ntopic = "{topic}"\n' + SWORDS)
    first = swords_on(kafka.bootstrap, topic, [f"a-{i}" for i in range(5)])  # offsets 0 to 4
    # A trigger longer than the test: the next micro-batch is the last one, at SIGTERM.
    f = Follower(bin_path, job, tmp_path / "unused", lake, "--kafka", kafka.bootstrap,
                 "--trigger", "10m", *(["--skip-damaged"] if skip else []))
    followers.append(f)
    wait_for_tags(lake / "swords", first)
    later = swords_on(kafka.bootstrap, topic, [f"b-{i}" for i in range(5)])  # offsets 5 to 9
    r = subprocess.run([tool(bin_path, "kafka_admin"), kafka.bootstrap, "delete-records", topic,
                        "0", "8"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    rc = f.stop()
    where = f"topic {topic} on {kafka.bootstrap}, partition 0, now starts at offset 8"
    if not skip:
        assert rc == 1, f.stderr
        last = f.stderr.splitlines()[-1]
        assert last == (f"questlog: {where} (older records deleted by its retention?): offsets "
                        "5 to 7 never reached the tables; --skip-damaged goes on without them"), \
            f.stderr
        assert sorted(delta_tags(lake / "swords")) == sorted(first)
    else:
        assert rc == 0, f.stderr
        assert (f"questlog: skipped offsets 5 to 7: {where} (older records deleted by its "
                "retention?)\n") in f.stderr, f.stderr
        assert sorted(delta_tags(lake / "swords")) == sorted(first + later[3:])
