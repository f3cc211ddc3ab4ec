"""`questlog tail --kafka` and `questlog extract --kafka` against a real Apache
Kafka (the session broker of conftest): tail prints what kcat -C prints, over
one partition or several; extract over a topic gives the tables and the output
it gives over the embedded log holding the same events, with Kafka's record
timestamps, over a range fixed when the job starts.

Multi-partition topics and topics copied from an embedded log with their
timestamps come from tests/tools/kafka_admin.cpp, next to the binary.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from conftest import REPO, kcat, kcat_values, log_seed_session, run_questlog, wait_for

JOBS = REPO / "jobs"


# --------------------------------------------------------------------------- helpers


def tool(bin_path: str, name: str) -> str:
    path = Path(os.environ.get("QUESTLOG_TOOLS_DIR") or Path(bin_path).parent) / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: it is built with the unit tests (tests/tools/{name}.cpp)")
    return str(path)


def create_topic(bin_path: str, bootstrap: str, topic: str, partitions: int) -> None:
    r = subprocess.run([tool(bin_path, "kafka_admin"), bootstrap, "create", topic, str(partitions)],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()


def produce(bootstrap: str, topic: str, lines: list[bytes], partition: int | None = None) -> None:
    args = ["-b", bootstrap, "-t", topic, "-P"]
    if partition is not None:
        args += ["-p", str(partition)]
    kcat(*args, input=b"".join(line + b"\n" for line in lines))


def tail(bin_path: str, bootstrap: str, topic: str, *args: str,
         timeout: float = 20) -> subprocess.CompletedProcess:
    return run_questlog(bin_path, "tail", "--kafka", bootstrap, "-t", topic, *args, timeout=timeout)


def tail_ok(bin_path: str, bootstrap: str, topic: str, *args: str) -> list[bytes]:
    r = tail(bin_path, bootstrap, topic, "-e", *args)
    assert r.returncode == 0 and r.stderr == b"", r.stderr.decode()
    return r.stdout.splitlines()


def kcat_tail(bootstrap: str, topic: str, *args: str) -> list[bytes]:
    return kcat("-b", bootstrap, "-C", "-t", topic, "-e", "-q", "-f", "%s\\n", *args).splitlines()


def one_error_line(r: subprocess.CompletedProcess) -> str:
    err = r.stderr.decode()
    assert r.returncode == 1, (r.returncode, err)
    assert err.startswith("questlog: ") and err.count("\n") == 1 and err.endswith("\n"), err
    return err


def extract(bin_path: str, job: Path, lake: Path, *args: str,
            timeout: float = 60) -> subprocess.CompletedProcess:
    return run_questlog(bin_path, "extract", str(job), "--lake", str(lake), *args, timeout=timeout)


def extract_ok(*a, **kw) -> subprocess.CompletedProcess:
    r = extract(*a, **kw)
    assert r.returncode == 0, r.stderr.decode()
    return r


def job_on(tmp: Path, source: Path, topic: str) -> Path:
    """The job file `source` reading `topic` instead of its own."""
    text = source.read_text()
    text, n = re.subn(r'(?m)^topic = ".*"$', f'topic = "{topic}"', text)
    assert n == 1, source
    p = tmp / source.name
    p.write_text(text)
    return p


def write_job(tmp: Path, name: str, topic: str, body: str) -> Path:
    p = tmp / f"{name}.toml"
    p.write_text(f'[source]\ntopic = "{topic}"\n{body}')
    return p


ALL_EVENTS = """
[[tables]]
name = "all"
path = "all"
"""

INCREMENTAL = """
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "incremental"
"""


def numbered(prefix: str, n: int, start: int = 0) -> list[bytes]:
    return [f'{{"event_type":"{prefix}","n":{i}}}'.encode() for i in range(start, start + n)]


# --------------------------------------------------------------------------- tail


@pytest.fixture(scope="module")
def one_partition(kafka, bin_path) -> str:
    topic = "read-one-partition"
    create_topic(bin_path, kafka.bootstrap, topic, 1)
    produce(kafka.bootstrap, topic, [b"m%d" % i for i in range(5)])
    return topic


@pytest.fixture(scope="module")
def three_partitions(kafka, bin_path) -> str:
    """Partition p holds 'p<p>-<i>' for i < 3 + p."""
    topic = "read-three-partitions"
    create_topic(bin_path, kafka.bootstrap, topic, 3)
    for p in range(3):
        produce(kafka.bootstrap, topic, [b"p%d-%d" % (p, i) for i in range(3 + p)], partition=p)
    return topic


SPECS = ["beginning", "end", "0", "2", "4", "5", "50", "-1", "-2", "-4", "-50"]


@pytest.mark.parametrize("spec", SPECS)
def test_tail_one_partition_prints_what_kcat_prints(kafka, bin_path, one_partition, spec):
    expected = kcat_tail(kafka.bootstrap, one_partition, "-o", spec)
    assert tail_ok(bin_path, kafka.bootstrap, one_partition, "-o", spec) == expected


def test_tail_one_partition_offsets(kafka, bin_path, one_partition):
    # Spelled out, so that the kcat comparison above cannot pass by both being empty.
    assert tail_ok(bin_path, kafka.bootstrap, one_partition) == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    assert tail_ok(bin_path, kafka.bootstrap, one_partition, "-o", "3") == [b"m3", b"m4"]
    assert tail_ok(bin_path, kafka.bootstrap, one_partition, "-o", "-2") == [b"m3", b"m4"]
    assert tail_ok(bin_path, kafka.bootstrap, one_partition, "-o", "end") == []


def per_partition(lines: list[bytes]) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for line in lines:
        out.setdefault(int(line[1:2]), []).append(line)
    return out


@pytest.mark.parametrize("spec", SPECS)
def test_tail_all_partitions_prints_what_kcat_prints(kafka, bin_path, three_partitions, spec):
    # Partitions interleave as their records arrive, in either tool; within a
    # partition the order is the log's.
    ours = tail_ok(bin_path, kafka.bootstrap, three_partitions, "-o", spec)
    theirs = kcat_tail(kafka.bootstrap, three_partitions, "-o", spec)
    assert per_partition(ours) == per_partition(theirs)
    assert len(ours) == len(theirs)


def test_tail_all_partitions_applies_the_offset_to_each(kafka, bin_path, three_partitions):
    got = per_partition(tail_ok(bin_path, kafka.bootstrap, three_partitions))
    assert got == {p: [b"p%d-%d" % (p, i) for i in range(3 + p)] for p in range(3)}
    got = per_partition(tail_ok(bin_path, kafka.bootstrap, three_partitions, "-o", "-1"))
    assert got == {0: [b"p0-2"], 1: [b"p1-3"], 2: [b"p2-4"]}
    got = per_partition(tail_ok(bin_path, kafka.bootstrap, three_partitions, "-o", "3"))
    assert got == {1: [b"p1-3"], 2: [b"p2-3", b"p2-4"]}


class Follower:
    """A `questlog tail --kafka` without -e; stdout lines and stderr collected by threads."""

    def __init__(self, procs, bin_path, *args):
        self.proc = subprocess.Popen([bin_path, "tail", *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(self.proc)
        self.lines: list[bytes] = []
        self.err = b""
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()

    def _out(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip(b"\n"))

    def _err(self):
        for line in self.proc.stderr:
            self.err += line

    def wait_lines(self, n: int, timeout: float = 15) -> list[bytes]:
        wait_for(lambda: len(self.lines) >= n, timeout, what=f"{n} lines (have {self.lines})")
        return self.lines


def test_tail_follows_new_messages_on_every_partition(kafka, bin_path, procs, topic):
    create_topic(bin_path, kafka.bootstrap, topic, 3)
    produce(kafka.bootstrap, topic, [b"p0-old"], partition=0)
    f = Follower(procs, bin_path, "-b", kafka.bootstrap, "-t", topic, "-o", "end")
    time.sleep(1.5)  # let it reach the end of every partition
    for p in range(3):
        produce(kafka.bootstrap, topic, [b"p%d-new-%d" % (p, i) for i in range(2)], partition=p)
    got = per_partition(f.wait_lines(6))
    assert got == {p: [b"p%d-new-0" % p, b"p%d-new-1" % p] for p in range(3)}
    produce(kafka.bootstrap, topic, [b"p1-later"], partition=1)
    assert f.wait_lines(7)[-1] == b"p1-later"
    time.sleep(0.3)
    assert len(f.lines) == 7 and f.proc.poll() is None and f.err == b""


def test_tail_follows_partitions_added_after_it_started(kafka, bin_path, procs, topic):
    create_topic(bin_path, kafka.bootstrap, topic, 1)
    produce(kafka.bootstrap, topic, [b"p0-first"], partition=0)
    f = Follower(procs, bin_path, "-b", kafka.bootstrap, "-t", topic)
    assert f.wait_lines(1) == [b"p0-first"]
    r = subprocess.run([tool(bin_path, "kafka_admin"), kafka.bootstrap, "grow", topic, "3"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    wait_for(lambda: b"following 2 new partitions of topic" in f.err, 15,
             what="tail to pick up the new partitions")
    for p in (1, 2):
        produce(kafka.bootstrap, topic, [b"p%d-new" % p], partition=p)
    produce(kafka.bootstrap, topic, [b"p0-new"], partition=0)
    assert sorted(f.wait_lines(4)) == [b"p0-first", b"p0-new", b"p1-new", b"p2-new"]
    assert f.proc.poll() is None


def test_tail_says_so_when_retention_deletes_records_before_it_fetched_them(kafka, bin_path,
                                                                             procs, topic):
    """librdkafka's default would jump to the partition's end in silence."""
    create_topic(bin_path, kafka.bootstrap, topic, 1)
    n, pad = 5000, b"x" * 100
    kcat("-b", kafka.bootstrap, "-t", topic, "-P", "-X", "batch.num.messages=10",
         input=b"".join(b"m%d-%s\n" % (i, pad) for i in range(n)))
    # Small fetches, a small queue and a pipe nobody reads (about 600 lines fill it) hold
    # tail's fetching far below offset n - 1000.
    proc = subprocess.Popen([bin_path, "tail", "--kafka", kafka.bootstrap, "-t", topic,
                             "-X", "max.partition.fetch.bytes=4096",
                             "-X", "queued.min.messages=100"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)  # unbuffered: communicate() reads on
    procs.append(proc)
    assert proc.stdout.readline() == b"m0-%s\n" % pad  # it is fetching
    r = subprocess.run([tool(bin_path, "kafka_admin"), kafka.bootstrap, "delete-records", topic,
                        "0", str(n - 1000)], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("tail went on past the deleted records without a word")
    assert proc.returncode == 1, err.decode()
    lines = [b"m0-" + pad] + out.splitlines()
    gone = len(lines)
    assert lines == [b"m%d-%s" % (i, pad) for i in range(gone)] and gone < n - 1000
    assert err.decode() == (
        f"questlog: topic {topic} partition 0: offset {gone} is no longer in the topic (deleted "
        "by its retention?) before it was read\n")


def test_tail_waits_for_a_missing_topic_and_says_so_once(kafka, bin_path, procs, topic):
    f = Follower(procs, bin_path, "-b", kafka.bootstrap, "-t", topic)
    wait_for(lambda: f.err != b"", 10, what="the waiting line")
    assert f.err == f"questlog: waiting for topic {topic} to appear on {kafka.bootstrap}\n".encode()
    time.sleep(1.5)  # several retries
    assert f.proc.poll() is None and f.lines == []
    produce(kafka.bootstrap, topic, [b"first", b"second"])  # the broker creates it
    assert f.wait_lines(2) == [b"first", b"second"]
    assert f.err.count(b"\n") == 1


def test_missing_topic_with_e_is_one_error_line(kafka, bin_path, tmp_path, topic):
    r = tail(bin_path, kafka.bootstrap, topic, "-e")
    assert one_error_line(r) == f"questlog: topic {topic} does not exist on {kafka.bootstrap}\n"
    assert r.stdout == b""
    job = write_job(tmp_path, "j", topic, ALL_EVENTS)
    r = extract(bin_path, job, tmp_path / "lake", "--kafka", kafka.bootstrap)
    assert one_error_line(r) == f"questlog: topic {topic} does not exist on {kafka.bootstrap}\n"
    assert not (tmp_path / "lake").exists()
    # Reading does not create it.
    assert topic.encode() not in kcat("-b", kafka.bootstrap, "-L")


@pytest.mark.parametrize("args", [["tail", "-e"], ["tail"], ["extract"]])
def test_refused_connection_is_one_error_line_at_once(bin_path, tmp_path, args):
    job = JOBS / "separate_events.toml"
    cmd = args + ([str(job), "--lake", str(tmp_path / "lake")] if args[0] == "extract" else [])
    t = time.monotonic()
    r = run_questlog(bin_path, *cmd, "--kafka", "127.0.0.1:1", timeout=15)
    assert time.monotonic() - t < 5
    err = one_error_line(r)
    assert err.startswith("questlog: --kafka 127.0.0.1:1: no broker reachable (")
    assert "Connection refused" in err and r.stdout == b""


def test_silent_broker_is_one_error_line_within_the_metadata_timeout(bin_path, tmp_path):
    """A socket that accepts connections and never answers: give up after 10 s."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        bootstrap = f"127.0.0.1:{s.getsockname()[1]}"
        for args in (["tail", "-e"], ["extract", str(JOBS / "separate_events.toml"),
                                      "--lake", str(tmp_path / "lake")]):
            t = time.monotonic()
            r = run_questlog(bin_path, *args, "--kafka", bootstrap, timeout=30)
            took = time.monotonic() - t
            err = one_error_line(r)
            assert err.startswith(f"questlog: --kafka {bootstrap}: no broker answered within 10 s")
            assert 9 < took < 15, took
    assert not (tmp_path / "lake").exists()


def test_librdkafka_properties_with_X(kafka, bin_path, one_partition, tmp_path):
    assert tail_ok(bin_path, kafka.bootstrap, one_partition, "-X", "fetch.wait.max.ms=10",
                   "-X", "client.id=tail-test") == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    r = tail(bin_path, kafka.bootstrap, one_partition, "-e", "-X", "no.such.thing=1")
    err = one_error_line(r)
    assert err.startswith("questlog: -X no.such.thing=1: ") and "No such configuration" in err
    r = tail(bin_path, kafka.bootstrap, one_partition, "-e", "-X", "fetch.wait.max.ms")
    assert one_error_line(r) == "questlog: -X fetch.wait.max.ms: expected prop=value\n"
    r = extract(bin_path, write_job(tmp_path, "j", one_partition, ALL_EVENTS), tmp_path / "lake",
                "--kafka", kafka.bootstrap, "-X", "fetch.wait.max.ms=soon")
    assert one_error_line(r).startswith("questlog: -X fetch.wait.max.ms=soon: ")
    r = run_questlog(bin_path, "tail", "-X", "list")
    assert r.returncode == 0 and b"bootstrap.servers" in r.stdout


# --------------------------------------------------------------------------- extract


@pytest.fixture(scope="module")
def seed_session(tmp_path_factory, bin_path, kafka):
    """The seed's ab session logged by `questlog serve` on the embedded log, and
    the same records copied into a one-partition topic with their timestamps."""
    data = log_seed_session(bin_path, tmp_path_factory.mktemp("seed") / "data")
    topic = "read-seed-session"
    r = subprocess.run([tool(bin_path, "kafka_admin"), kafka.bootstrap, "copy",
                        str(data / "events" / "0"), topic], capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout == b"45\n", r.stderr.decode()
    return data, topic


@pytest.mark.parametrize("job", ["separate_events.toml", "just_filtering.toml",
                                 "filtered_writes.toml"])
def test_extract_kafka_gives_the_embedded_logs_tables_and_output(kafka, bin_path, tmp_path,
                                                                 seed_session, job):
    data, topic = seed_session
    embedded = extract_ok(bin_path, JOBS / job, tmp_path / "lake-e", "--data", str(data))
    ours = extract_ok(bin_path, job_on(tmp_path, JOBS / job, topic), tmp_path / "lake-k",
                      "--kafka", kafka.bootstrap)
    assert ours.stdout == embedded.stdout and ours.stdout != b""
    # stderr: the same lines, but for the lake's path and the time taken.
    def norm(err: bytes) -> str:
        return re.sub(r"in \d+\.\d\d s", "in T s", err.decode().replace("lake-k", "lake-e"))
    assert norm(ours.stderr) == norm(embedded.stderr)
    assert "read 45 records, offsets 0 to 45" in ours.stderr.decode()
    def tables_in(lake: Path) -> list[str]:
        return sorted(p.name for p in lake.glob("*") if not p.name.startswith("."))
    tables = tables_in(tmp_path / "lake-e")
    assert tables == tables_in(tmp_path / "lake-k")
    assert len(tables) == {"separate_events.toml": 2, "just_filtering.toml": 0,
                           "filtered_writes.toml": 1}[job]
    for name in tables:
        a = pq.read_table(tmp_path / "lake-e" / name)
        b = pq.read_table(tmp_path / "lake-k" / name)
        assert a.num_rows > 0 and b.schema == a.schema and b.to_pylist() == a.to_pylist()


def test_extract_timestamps_are_the_kafka_record_timestamps(kafka, bin_path, tmp_path, topic):
    produce(kafka.bootstrap, topic, numbered("a", 20))
    time.sleep(0.05)
    produce(kafka.bootstrap, topic, numbered("b", 20, 20))
    stamps = [int(x) for x in kcat("-b", kafka.bootstrap, "-C", "-t", topic, "-e", "-q",
                                   "-f", "%T\\n").split()]
    assert len(stamps) == 40 and len(set(stamps)) >= 2
    extract_ok(bin_path, write_job(tmp_path, "all", topic, ALL_EVENTS), tmp_path / "lake",
               "--kafka", kafka.bootstrap)
    rows = pq.read_table(tmp_path / "lake" / "all").to_pylist()
    assert [r["n"] for r in rows] == list(range(40))
    assert [int(r["timestamp"].timestamp() * 1000 + 0.5) for r in rows] == stamps


def test_extract_reads_the_range_fixed_at_start(kafka, bin_path, tmp_path, topic):
    """Records produced while the job runs wait for the next run: the table holds
    exactly offsets [0, end), end being the high watermark when the job started."""
    n = 300_000
    produce(kafka.bootstrap, topic, numbered("e", n))
    job = write_job(tmp_path, "all", topic, ALL_EVENTS)
    p = subprocess.Popen([bin_path, "extract", str(job), "--lake", str(tmp_path / "lake"),
                          "--kafka", kafka.bootstrap, "--threads", "1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    more = n
    while p.poll() is None:
        produce(kafka.bootstrap, topic, numbered("e", 2_000, more))
        more += 2_000
    err = p.stderr.read().decode()
    assert p.returncode == 0, err
    m = re.search(r"questlog: read (\d+) records, offsets 0 to (\d+), in ", err)
    assert m, err
    end = int(m.group(2))
    assert int(m.group(1)) == end and n <= end < more
    assert len(kcat_values(kafka.bootstrap, topic)) == more  # traffic went on after the start
    table = pq.read_table(tmp_path / "lake" / "all", columns=["n"])
    assert table.column("n").to_pylist() == list(range(end))


def test_extract_reads_every_partition_in_partition_order(kafka, bin_path, tmp_path, topic):
    create_topic(bin_path, kafka.bootstrap, topic, 3)
    sizes = {0: 4, 1: 0, 2: 7}
    for part, size in sizes.items():
        if size:
            produce(kafka.bootstrap, topic, numbered(f"p{part}", size), partition=part)
    job = write_job(tmp_path, "all", topic, ALL_EVENTS + 'show = 20\n')
    r = extract_ok(bin_path, job, tmp_path / "lake", "--kafka", kafka.bootstrap)
    err = r.stderr.decode()
    assert ("questlog: read 11 records from 3 partitions (offsets 0: 0 to 4, 1: 0 to 0, "
            "2: 0 to 7), in ") in err, err
    assert "questlog: table all: 11 rows, 1 file, " in err
    rows = pq.read_table(tmp_path / "lake" / "all").to_pylist()
    assert [(r["event_type"], r["n"]) for r in rows] == \
        [("p0", i) for i in range(4)] + [("p2", i) for i in range(7)]
    # The same run again gives the same rows in the same order.
    r2 = extract_ok(bin_path, job, tmp_path / "lake2", "--kafka", kafka.bootstrap)
    assert r2.stdout == r.stdout
    assert pq.read_table(tmp_path / "lake2" / "all").to_pylist() == rows


@pytest.mark.parametrize("body,what", [
    (INCREMENTAL, 'table swords: mode = "incremental"'),
    ("starting_offsets = 2\n" + ALL_EVENTS, "starting_offsets = 2"),
    ("ending_offsets = 2\n" + ALL_EVENTS, "ending_offsets = 2"),
])
def test_extract_refuses_single_offsets_on_several_partitions(kafka, bin_path, tmp_path, topic,
                                                              body, what):
    create_topic(bin_path, kafka.bootstrap, topic, 3)
    produce(kafka.bootstrap, topic, numbered("sword", 3), partition=0)
    job = write_job(tmp_path, "j", topic, body)
    r = extract(bin_path, job, tmp_path / "lake", "--kafka", kafka.bootstrap)
    assert one_error_line(r) == (
        f"questlog: {job}: {what} needs a topic with one partition; topic {topic} on "
        f"{kafka.bootstrap} has 3 partitions\n")
    assert not (tmp_path / "lake").exists()


def test_extract_incremental_on_one_partition_is_exactly_once(kafka, bin_path, tmp_path, topic):
    swords = [b'{"event_type":"purchase_sword","i":%d}' % i for i in range(100)]
    others = [b'{"event_type":"default","i":%d}' % i for i in range(100)]
    produce(kafka.bootstrap, topic, swords[:10] + others[:5])
    job = write_job(tmp_path, "inc", topic, INCREMENTAL)
    lake = tmp_path / "lake"
    r = extract_ok(bin_path, job, lake, "--kafka", kafka.bootstrap)
    assert "questlog: table swords: 10 rows, 1 file," in r.stderr.decode()
    assert "(offsets 0 to 15)" in r.stderr.decode()

    r = extract_ok(bin_path, job, lake, "--kafka", kafka.bootstrap)  # nothing new
    assert "questlog: table swords: 0 rows, 0 files," in r.stderr.decode()

    produce(kafka.bootstrap, topic, swords[10:17] + others[5:8])
    r = extract_ok(bin_path, job, lake, "--kafka", kafka.bootstrap)
    assert "questlog: table swords: 7 rows, 1 file," in r.stderr.decode()
    assert "(offsets 15 to 25)" in r.stderr.decode()
    table = pads.dataset(lake / "swords", format="parquet").to_table()
    assert sorted(table.column("i").to_pylist()) == list(range(17))
    names = sorted(p.name for p in (lake / "swords").iterdir() if p.name.startswith("part-"))
    assert [n[:47] for n in names] == ["part-00000000000000000000-00000000000000000015-",
                                       "part-00000000000000000015-00000000000000000025-"]


def test_extract_starting_and_ending_offsets_are_kafka_offsets(kafka, bin_path, tmp_path, topic):
    produce(kafka.bootstrap, topic, numbered("e", 10))
    job = write_job(tmp_path, "j", topic, "starting_offsets = 3\nending_offsets = 7\n" + ALL_EVENTS)
    r = extract_ok(bin_path, job, tmp_path / "lake", "--kafka", kafka.bootstrap)
    assert "questlog: read 4 records, offsets 3 to 7, in " in r.stderr.decode()
    assert pq.read_table(tmp_path / "lake" / "all").column("n").to_pylist() == [3, 4, 5, 6]
