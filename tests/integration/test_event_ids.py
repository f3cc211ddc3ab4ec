"""Every event's id, end to end: a UUIDv7 made by serve, or the client's
Idempotency-Key, as the record key of both logs; `tail -f %k` and `-K` show it;
extract drops a record whose id came before in its partition and says how many;
on Kafka the key hashes to its partition as Java clients hash it; the seed's Spark
job de-duplicates with one line. And the issue's reproduction: with two of three
brokers killed past message.timeout.ms, every 200 is in the table exactly once.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import (
    REPO,
    SWORD_BODY,
    assert_nothing_logged,
    extract,
    get,
    kcat,
    run_questlog,
    tail_lines,
    wait_for,
    write_job,
)

UUID7 = re.compile(rb"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

ALL_JOB = """
[[tables]]
name = "all"
path = "all"
"""


def request(addr, path: str = "/purchase_a_sword", key: str | None = None, tag: str | None = None,
            conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    own = conn is None
    c = conn or http.client.HTTPConnection(*addr, timeout=30)
    headers = {"Host": "ids.example"}
    if key is not None:
        headers["Idempotency-Key"] = key
    if tag is not None:
        headers["X-Req"] = tag
    try:
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        if own:
            c.close()


def table_rows(lake: Path, name: str = "all") -> list[dict]:
    return pq.read_table(lake / name).to_pylist()


def dropped(stderr: bytes) -> int:
    m = re.search(rb"questlog: dropped (\d+) duplicate records?:", stderr)
    return int(m.group(1)) if m else 0


# --------------------------------------------------------------------------- embedded log


def test_every_event_gets_a_uuidv7_key_that_tail_shows(server, bin_path):
    for i in range(5):
        assert request(server.addr, tag=f"r{i}") == (200, SWORD_BODY)
    lines = tail_lines(bin_path, server.data, "-f", "%o|%k|%K|%s\\n")
    assert len(lines) == 5, lines
    keys = []
    for i, line in enumerate(lines):
        offset, key, key_len, value = line.split(b"|", 3)
        assert offset == str(i).encode() and key_len == b"36", line
        assert UUID7.match(key), key
        event = json.loads(value)
        # The event is what it always was: the id is beside it, not in it.
        assert event == {"event_type": "purchase_sword", "Host": "ids.example",
                         "Accept-Encoding": "identity", "X-Req": f"r{i}"}, event
        keys.append(key)
    assert len(set(keys)) == 5
    assert keys == sorted(keys), "one client's ids sort in the order it sent them (UUIDv7)"
    # Without -f: the event alone, as always.
    assert [json.loads(v)["X-Req"] for v in tail_lines(bin_path, server.data)] == [f"r{i}" for i in range(5)]


def test_an_idempotency_key_retry_is_one_row_in_the_table(server, bin_path, tmp_path):
    assert request(server.addr, key="order-1", tag="first try") == (200, SWORD_BODY)
    assert request(server.addr, key="order-2", tag="other") == (200, SWORD_BODY)
    assert request(server.addr, key="order-1", tag="retry") == (200, SWORD_BODY)  # say, after a 503
    # Both tries are in the log, under the client's key (kcat's -K).
    lines = tail_lines(bin_path, server.data, "-K", "\\t")
    assert [line.split(b"\t", 1)[0] for line in lines] == [b"order-1", b"order-2", b"order-1"]
    first = json.loads(lines[0].split(b"\t", 1)[1])
    assert first["Idempotency-Key"] == "order-1", "the header stays in the event, as every header does"

    lake = tmp_path / "lake"
    r = extract(bin_path, write_job(tmp_path, "all", ALL_JOB), server.data, lake)
    assert r.returncode == 0, r.stderr.decode()
    assert b"questlog: read 3 records, offsets 0 to 3" in r.stderr, r.stderr
    assert dropped(r.stderr) == 1, r.stderr
    rows = table_rows(lake)
    assert sorted(row["X-Req"] for row in rows) == ["first try", "other"], rows


@pytest.mark.parametrize("header, why", [
    (b"Idempotency-Key: \r\n", b"the Idempotency-Key header is empty"),
    (b"Idempotency-Key: " + b"k" * 129 + b"\r\n", b"has 129 bytes (at most 128)"),
    (b"Idempotency-Key: two words\r\n", b"only visible ASCII characters"),
    (b"Idempotency-Key: caf\xc3\xa9\r\n", b"only visible ASCII characters"),
    (b"Idempotency-Key: a\r\nidempotency-key: b\r\n", b"more than one Idempotency-Key header"),
])
def test_a_bad_idempotency_key_is_a_400_with_the_reason_and_logs_nothing(server, bin_path, header, why):
    r = get(server.addr, "/purchase_a_sword", extra=header)
    assert r.status == 400, r
    assert r.body.startswith(b"Bad Request: ") and why in r.body, r.body
    assert_nothing_logged(bin_path, server)


def test_the_longest_idempotency_key_is_taken(server, bin_path):
    key = "~" * 64 + "!" * 64
    assert get(server.addr, "/", extra=f"Idempotency-Key: {key}\r\n".encode()).status == 200
    assert tail_lines(bin_path, server.data, "-f", "%k\\n") == [key.encode()]


def test_tail_refuses_an_unknown_format_token_in_one_line(server, bin_path):
    r = run_questlog(bin_path, "tail", "--data", str(server.data), "-e", "-f", "%s %x\\n")
    assert r.returncode != 0
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and "unknown token %x" in lines[0], r.stderr


# --------------------------------------------------------------------------- Kafka


def tool(bin_path: str, name: str) -> str:
    path = Path(os.environ.get("QUESTLOG_TOOLS_DIR") or Path(bin_path).parent) / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: it is built with the unit tests (tests/tools/{name}.cpp)")
    return str(path)


def murmur2(data: bytes) -> int:
    """Kafka's Java client's key hash (org.apache.kafka.common.utils.Utils.murmur2)."""
    m = 0x5BD1E995
    h = (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    n4 = len(data) // 4
    for i in range(n4):
        k = (int.from_bytes(data[4 * i:4 * i + 4], "little") * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    rest = data[4 * n4:]
    if len(rest) >= 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    return h ^ (h >> 15)


def java_partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def test_murmur2_matches_kafkas_own_test_vectors():
    for data, want in [(b"21", -973932308), (b"foobar", -790332482), (b"abc", 479470107),
                       (b"a-little-bit-long-string", -985981536)]:
        got = murmur2(data)
        assert (got - (1 << 32) if got >= 1 << 31 else got) == want, data


def wait_serving(addr) -> None:
    # Tagged like the rest: the seed's Spark job takes its columns from the first event.
    wait_for(lambda: request(addr, "/", tag="probe")[0] == 200, timeout=60, what="serve to reach Kafka")


def kafka_keyed(bootstrap: str, topic: str) -> list[tuple[int, bytes, bytes]]:
    """(partition, key, value) of every record of `topic`, read by kcat."""
    out = kcat("-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
               "-f", "%p\\t%k\\t%s\\n")
    rows = []
    for line in out.splitlines():
        p, k, v = line.split(b"\t", 2)
        rows.append((int(p), k, v))
    return rows


def test_kafka_keys_hash_like_java_and_a_retry_is_one_row(kafka, topic, start_server, bin_path, tmp_path):
    subprocess.run([tool(bin_path, "kafka_admin"), kafka.bootstrap, "create", topic, "6"],
                   check=True, capture_output=True, timeout=60)
    s = start_server("--kafka", kafka.bootstrap, "--topic", topic)
    wait_serving(s.addr)  # the probe is an event without a key of ours: a UUIDv7
    conn = http.client.HTTPConnection(*s.addr, timeout=30)
    for i in range(30):
        assert request(s.addr, key=f"order-{i}", tag=f"order-{i}", conn=conn)[0] == 200
    for i in range(0, 30, 6):  # five clients retry
        assert request(s.addr, key=f"order-{i}", tag=f"order-{i} again", conn=conn)[0] == 200
    conn.close()

    records = kafka_keyed(kafka.bootstrap, topic)
    assert len(records) == 36, records
    for p, k, _ in records:
        assert p == java_partition(k, 6), (p, k)  # a retry lands beside its first copy
    assert sum(1 for _, k, _ in records if UUID7.match(k)) == 1
    # questlog's tail reads the same keys.
    r = run_questlog(bin_path, "tail", "--kafka", kafka.bootstrap, "-t", topic, "-e", "-f", "%p %k\\n",
                     timeout=30)
    assert r.returncode == 0, r.stderr
    assert Counter(r.stdout.splitlines()) == Counter(b"%d %s" % (p, k) for p, k, _ in records)

    lake = tmp_path / "lake"
    job = write_job(tmp_path, "all_topic", f'[source]\ntopic = "{topic}"\n' + ALL_JOB)
    r = run_questlog(bin_path, "extract", str(job), "--kafka", kafka.bootstrap, "--lake", str(lake),
                     timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    assert b"questlog: read 36 records from 6 partitions" in r.stderr, r.stderr
    assert dropped(r.stderr) == 5, r.stderr
    tags = Counter(row.get("X-Req") for row in table_rows(lake))
    assert tags == Counter(["probe"] + [f"order-{i}" for i in range(30)]), tags


def spark_kafka_jars() -> str:
    r = subprocess.run(["bash", str(REPO / "scripts" / "spark-kafka.sh")], capture_output=True,
                       timeout=600, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    return r.stdout.decode().strip()


DROP_DUPLICATES = '    raw_events = raw_events.dropDuplicates(["key"])\n'


def test_the_seeds_spark_job_with_drop_duplicates_on_the_key_has_one_row_per_200(
        kafka, topic, start_server, tmp_path, procs):
    java_home = os.environ.get("QUESTLOG_JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")
    if not Path(java_home, "bin", "java").exists():
        pytest.fail(f"Java 17 is missing at {java_home}: `make test` installs openjdk-17-jre-headless")
    jars = spark_kafka_jars()
    s = start_server("--kafka", kafka.bootstrap, "--topic", topic)
    wait_serving(s.addr)
    acked = []
    for i in range(12):
        assert request(s.addr, key=f"sword-{i}", tag=f"sword-{i}") == (200, SWORD_BODY)
        acked.append(f"sword-{i}")
    for i in (0, 5, 11):  # retries: the topic holds these twice
        assert request(s.addr, key=f"sword-{i}", tag=f"sword-{i}") == (200, SWORD_BODY)
    assert len(kafka_keyed(kafka.bootstrap, topic)) == 16

    # The seed's separate_events.py with the one documented line after the read.
    source = (REPO / "tests" / "seed" / "separate_events.py").read_text()
    anchor = "        .load()\n\n"
    assert source.count(anchor) == 1, "the seed job's read changed"
    job = tmp_path / "separate_events_dedup.py"
    job.write_text(source.replace(anchor, anchor + DROP_DUPLICATES + "\n"))
    out = tmp_path / "lake"
    env = dict(os.environ, KAFKA_BOOTSTRAP=kafka.bootstrap, KAFKA_TOPIC=topic, OUTPUT_DIR=str(out),
               JAVA_HOME=java_home, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    env["PATH"] = f"{Path(sys.executable).parent}:{java_home}/bin:{env.get('PATH', '')}"
    env.pop("SPARK_HOME", None)
    with open(tmp_path / "spark.err", "wb") as err:
        p = subprocess.Popen([str(Path(sys.executable).parent / "spark-submit"), "--master", "local[1]",
                              "--jars", jars, "--conf", "spark.ui.enabled=false",
                              "--conf", "spark.driver.extraJavaOptions=-XX:TieredStopAtLevel=1", str(job)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
                             cwd=tmp_path)
        procs.append(p)
        rc = p.wait(timeout=300)
    assert rc == 0, (tmp_path / "spark.err").read_text(errors="replace")[-4000:]
    rows = pq.read_table(out / "sword_purchases").to_pylist()
    assert sorted(r["X-Req"] for r in rows) == sorted(acked), rows


# --------------------------------------------------------------------------- the reproduction


class RetryingClient:
    """One client sending tagged requests one at a time, as the seed's ab -c1 does, that
    retries each 503 with the same Idempotency-Key (its tag) until it gets a 200, as a
    client that must not lose a purchase does. Records (tag, attempts, status)."""

    def __init__(self, addr, give_up_after: float = 120.0):
        self.addr = addr
        self.give_up_after = give_up_after
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.results: list[tuple[str, int, int | str]] = []
        self.statuses: Counter = Counter()  # of every attempt
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = http.client.HTTPConnection(*self.addr, timeout=30)
        n = 0
        while not self.stop.is_set():
            tag = f"seq-{n}"
            n += 1
            attempts, began = 0, time.monotonic()
            while True:
                attempts += 1
                try:
                    status = request(self.addr, key=tag, tag=tag, conn=conn)[0]
                except Exception as e:  # noqa: BLE001 - recorded and asserted on
                    status = f"{type(e).__name__}: {e}"
                    conn.close()
                    conn = http.client.HTTPConnection(*self.addr, timeout=30)
                with self.lock:
                    self.statuses[status] += 1
                if status == 200 or time.monotonic() - began > self.give_up_after:
                    break
                time.sleep(0.05)
            with self.lock:
                self.results.append((tag, attempts, status))
            time.sleep(0.05)
        conn.close()

    def __enter__(self) -> "RetryingClient":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=self.give_up_after + 35)
        assert not self.thread.is_alive(), "the client hung"

    def count(self, status) -> int:
        with self.lock:
            return self.statuses[status]


def test_two_followers_killed_past_the_timeout_every_200_is_in_the_table_once(
        kafka_cluster, start_server, bin_path, tmp_path):
    """Issue 9, defect 1: three brokers, RF 3, min.insync.replicas=2; tagged requests one
    at a time; both followers killed for longer than message.timeout.ms, then one
    restarted. The leader appends what it cannot replicate; the producer times out (a
    503 that says the event may be in the topic) and may resend in a new producer epoch
    what the leader already has, and the client retries its 503s with the same
    Idempotency-Key. Every copy carries the event's id, so extract drops the extra ones
    and says how many: each event the client got a 200 for is in the table once."""
    from test_kafka_serve import partition_leader

    k = kafka_cluster
    s = start_server("--kafka", k.bootstrap, "--topic", "events", "-X", "message.timeout.ms=2000")
    with RetryingClient(s.addr) as client:
        wait_for(lambda: client.count(200) >= 20, timeout=60, what="20 answers 200")
        leader = partition_leader(k.bootstrap, "events")
        followers = [n for n in (1, 2, 3) if n != leader]
        for n in followers:
            k.kill_node(n)
        before = client.count(503)
        wait_for(lambda: client.count(503) >= before + 10, timeout=60, what="10 answers 503")
        began = time.monotonic()
        # Several timeouts long (the report's outage was ~25 s with a 10 s timeout).
        wait_for(lambda: time.monotonic() - began > 10, timeout=30, interval=0.2, what="the outage")
        k.start_node(followers[0])
        after = client.count(200)
        wait_for(lambda: client.count(200) >= after + 20, timeout=120, what="20 answers 200 after")
    assert set(client.statuses) <= {200, 503}, client.statuses
    assert all(r[2] == 200 for r in client.results), [r for r in client.results if r[2] != 200]
    acked = [r[0] for r in client.results]
    retried = sum(1 for r in client.results if r[1] > 1)

    # The topic as it is, keys and all.
    survivors = ",".join(k.listener(n) for n in (leader, followers[0]))
    records = kafka_keyed(survivors, "events")
    by_tag: dict[str, set[bytes]] = {}
    for _, key, value in records:
        by_tag.setdefault(json.loads(value)["X-Req"], set()).add(key)
    assert all(keys == {tag.encode()} for tag, keys in by_tag.items()), "one id per event"
    extra_copies = len(records) - len(by_tag)

    lake = tmp_path / "lake"
    job = write_job(tmp_path, "all", ALL_JOB)
    r = run_questlog(bin_path, "extract", str(job), "--kafka", survivors, "--lake", str(lake), timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    assert dropped(r.stderr) == extra_copies, (extra_copies, r.stderr.decode())
    tags = Counter(row["X-Req"] for row in table_rows(lake))
    assert max(tags.values()) == 1, [t for t, n in tags.items() if n > 1]
    missing = [t for t in acked if t not in tags]
    assert not missing, f"acknowledged events missing from the table: {missing[:10]}"
    print(f"\nattempts {dict(client.statuses)}; {len(acked)} events, {retried} retried after a 503; "
          f"{len(records)} records in the topic, {extra_copies} extra copies, dropped by extract")
