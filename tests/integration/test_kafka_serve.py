"""`questlog serve --kafka` against a real Apache Kafka (KRaft, loopback).

The rule under test: a 200 goes out only after Kafka's delivery report, so every
200 is in the topic; anything Kafka did not take is a 503 with a reason, never a
silent drop, and never a hung or reset connection.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import threading
import time
from collections import Counter

import pyarrow.parquet as pq

from conftest import (
    KNIFE_BODY,
    REPO,
    SWORD_BODY,
    Kafka,
    free_port_pair,
    get,
    kcat,
    kcat_values,
    run_questlog,
    seed_ab_session,
    tail_events,
    wait_for,
)

def seed_session(base: str) -> None:
    """The seed's ab session, then one knife purchase."""
    seed_ab_session(base)
    r = subprocess.run(
        ["curl", "-s", "-H", "Host: user1.comcast.com", base + "/purchase_a_knife"],
        capture_output=True, timeout=10,
    )
    assert r.stdout == KNIFE_BODY, r


def kafka_events(bootstrap: str, topic: str) -> list[dict]:
    return [json.loads(v) for v in kcat_values(bootstrap, topic)]


def test_seed_session_through_kafka_equals_the_embedded_log(kafka, topic, start_server, tmp_path, bin_path):
    via_kafka = start_server("--kafka", kafka.bootstrap, "--topic", topic)
    assert f"log: Kafka {kafka.bootstrap}, topic {topic})" in via_kafka.stderr
    embedded = start_server(data=tmp_path / "embedded")
    seed_session(via_kafka.url)
    seed_session(embedded.url)

    events = kafka_events(kafka.bootstrap, topic)
    assert len(events) == 41
    assert Counter((e["event_type"], e["Host"]) for e in events) == {
        ("default", "user1.comcast.com"): 10,
        ("purchase_sword", "user1.comcast.com"): 10,
        ("default", "user2.att.com"): 10,
        ("purchase_sword", "user2.att.com"): 10,
        ("purchase_knife", "user1.comcast.com"): 1,
    }
    assert events[0] == {
        "event_type": "default", "Host": "user1.comcast.com",
        "User-Agent": "ApacheBench/2.3", "Accept": "*/*",
    }
    # The same traffic gives the same events, in the same order, in both logs.
    assert events == tail_events(bin_path, tmp_path / "embedded")

    # kcat's view: one partition, dense offsets from 0, ingest timestamps.
    lines = kcat("-b", kafka.bootstrap, "-C", "-t", topic, "-e", "-q", "-f", "%p %o %T\\n").split()
    triples = [lines[i:i + 3] for i in range(0, len(lines), 3)]
    assert [int(o) for _, o, _ in triples] == list(range(41))
    assert {p for p, _, _ in triples} == {b"0"}
    now_ms = time.time() * 1000
    assert all(now_ms - 120_000 < int(t) <= now_ms + 1000 for _, _, t in triples)

    # questlog's own readers see the same: tail --kafka prints what kcat prints, and the
    # seed's separate_events job gives the embedded log's tables (but for ingest times).
    tailed = run_questlog(bin_path, "tail", "--kafka", kafka.bootstrap, "-t", topic, "-e")
    assert tailed.returncode == 0, tailed.stderr
    assert tailed.stdout.splitlines() == kcat_values(kafka.bootstrap, topic)
    job = tmp_path / "separate_events.toml"
    job.write_text((REPO / "jobs" / "separate_events.toml").read_text()
                   .replace('topic = "events"', f'topic = "{topic}"'))
    for lake, job_file, source in (
        ("lake-k", job, ["--kafka", kafka.bootstrap]),
        ("lake-e", REPO / "jobs" / "separate_events.toml", ["--data", str(tmp_path / "embedded")]),
    ):
        r = run_questlog(bin_path, "extract", str(job_file), "--lake", str(tmp_path / lake),
                         *source, timeout=60)
        assert r.returncode == 0, r.stderr
        assert b"read 41 records, offsets 0 to 41" in r.stderr, r.stderr
    for table, rows in (("sword_purchases", 20), ("default_hits", 20)):
        k = pq.read_table(tmp_path / "lake-k" / table)
        e = pq.read_table(tmp_path / "lake-e" / table)
        assert k.schema == e.schema and k.num_rows == rows
        assert k.drop(["timestamp"]).to_pylist() == e.drop(["timestamp"]).to_pylist()


def test_bad_kafka_flags_get_one_line_and_a_nonzero_exit(kafka, topic, bin_path, tmp_path):
    cases = [
        (["-X", "no.such.property=1"], "-X no.such.property=1: "),
        (["-X", "acks"], "-X acks: expected prop=value"),
        (["--durability", "fsync"], "--durability is for the embedded log"),
        # Settings that would let a 200 go out for an event Kafka may not have.
        (["-X", "acks=1"], "-X acks=1: a 200 would go out before every in-sync replica"),
        (["-X", "acks=0", "-X", "enable.idempotence=false"], "-X acks=0: "),
        (["-X", "message.timeout.ms=0"], "-X message.timeout.ms=0: no limit"),
    ]
    for extra, expected in cases:
        r = subprocess.run(
            [bin_path, "serve", "--listen", "127.0.0.1:0", "--kafka", kafka.bootstrap,
             "--topic", topic, *extra],
            capture_output=True, timeout=10, stdin=subprocess.DEVNULL,
        )
        err = r.stderr.decode()
        assert r.returncode != 0, (extra, err)
        assert len(err.strip().splitlines()) == 1, err
        assert expected in err, err


def test_risky_settings_warn_and_unsafe_producer_takes_the_risk(kafka, topic, start_server):
    s = start_server("--kafka", kafka.bootstrap, "--topic", topic, "-X", "enable.idempotence=false")
    assert "warning: -X enable.idempotence=false: a retried send can write" in s.stderr, s.stderr
    assert get(s.addr, "/").status == 200
    u = start_server("--kafka", kafka.bootstrap, "--topic", topic, "--unsafe-producer",
                     "-X", "acks=1", "-X", "enable.idempotence=false")
    assert "warning: -X acks=1: a 200 would go out before" in u.stderr, u.stderr
    assert get(u.addr, "/").status == 200
    assert len(kcat_values(kafka.bootstrap, topic)) == 2


def test_unsafe_producer_is_refused_without_kafka(bin_path, tmp_path):
    r = subprocess.run([bin_path, "serve", "--data", str(tmp_path / "d"), "--unsafe-producer"],
                       capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and r.stderr.decode().strip() == "questlog: --unsafe-producer is for --kafka"


def test_x_debug_prints_librdkafkas_debug_lines_as_kcat_does(kafka, topic, start_server, bin_path):
    s = start_server("--kafka", kafka.bootstrap, "--topic", topic, "-X", "debug=broker,msg")
    assert get(s.addr, "/").status == 200
    wait_for(lambda: re.search(r"questlog: kafka: \w+: .*Produce", s.stderr) is not None
             or "MSGSET" in s.stderr, timeout=10, what="librdkafka's msg debug lines")
    assert "questlog: kafka: BROKER: " in s.stderr or "questlog: kafka: BRKMAIN: " in s.stderr
    r = subprocess.run([bin_path, "tail", "--kafka", kafka.bootstrap, "-t", topic, "-e",
                        "-X", "debug=broker"], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert b"questlog: kafka: BRKMAIN: " in r.stderr or b"questlog: kafka: BROKER: " in r.stderr
    quiet = subprocess.run([bin_path, "tail", "--kafka", kafka.bootstrap, "-t", topic, "-e"],
                           capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert quiet.returncode == 0 and b"questlog: kafka:" not in quiet.stderr, quiet.stderr


def test_x_passes_librdkafka_properties(kafka, topic, start_server):
    s = start_server("--kafka", kafka.bootstrap, "--topic", topic,
                     "-X", "linger.ms=2", "-X", "client.id=questlog-test")
    assert get(s.addr, "/", host="x.example").status == 200
    assert [e["Host"] for e in kafka_events(kafka.bootstrap, topic)] == ["x.example"]


def test_broker_down_at_start_503_until_it_is_reachable(start_server, tmp_path):
    broker = Kafka(tmp_path / "late-kafka", 1, free_port_pair(39400))
    bootstrap = broker.listener(1)
    s = start_server("--kafka", bootstrap, "--topic", "events")
    assert "not reachable yet: answering 503 until it is" in s.stderr

    refused = get(s.addr, "/", host="early.example")
    assert refused.status == 503, refused
    assert refused.header("Retry-After") == "1"
    assert f"Kafka is not reachable at {bootstrap}".encode() in refused.body, refused.body

    try:
        broker.start()

        def served():
            r = get(s.addr, "/purchase_a_sword", host="late.example", timeout=15)
            assert r.status in (200, 503), r
            return r.status == 200

        wait_for(served, timeout=40, interval=0.5, what="a 200 once Kafka is up")
        assert "reachable; topic events" in s.stderr
        events = kafka_events(bootstrap, "events")
        # Refused requests were never queued: only the one 200 is in the topic.
        assert [(e["event_type"], e["Host"]) for e in events] == [("purchase_sword", "late.example")]
    finally:
        broker.stop()


# --------------------------------------------------------------------------- under load


class Load:
    """Client threads on keep-alive connections, each request tagged X-Req: <thread>-<n>.
    Records every outcome; a request that gets no HTTP response is recorded as such."""

    def __init__(self, addr: tuple[str, int], threads: int = 8, timeout: float = 30.0):
        self.addr = addr
        self.timeout = timeout
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.results: list[tuple[str, float, int | str, bytes]] = []  # id, time, status, body
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def _run(self, t: int) -> None:
        conn = http.client.HTTPConnection(*self.addr, timeout=self.timeout)
        n = 0
        while not self.stop.is_set() and n < 200_000:
            rid = f"{t}-{n}"
            n += 1
            try:
                conn.request("GET", "/purchase_a_sword", headers={"Host": "load.example", "X-Req": rid})
                resp = conn.getresponse()
                body = resp.read()
                outcome: int | str = resp.status
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except Exception as e:  # noqa: BLE001 - every failure is recorded and asserted on
                outcome, body = f"{type(e).__name__}: {e}", b""
                conn.close()
                conn = http.client.HTTPConnection(*self.addr, timeout=self.timeout)
            with self.lock:
                self.results.append((rid, time.monotonic(), outcome, body))
            if outcome == 503:
                time.sleep(0.01)  # as a client honouring Retry-After would, only faster
        conn.close()

    def __enter__(self) -> "Load":
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for th in self.threads:
            th.join(timeout=self.timeout + 10)
        assert not any(th.is_alive() for th in self.threads), "a client thread hung"

    def count(self) -> int:
        with self.lock:
            return len(self.results)

    def wait_more(self, n: int, timeout: float) -> None:
        start = self.count()
        wait_for(lambda: self.count() >= start + n, timeout=timeout, what=f"{n} more responses")


def assert_200_or_503_and_every_200_in_topic(load: Load, bootstrap: str, topic: str) -> Counter:
    statuses = Counter(r[2] for r in load.results)
    others = {k: v for k, v in statuses.items() if k not in (200, 503)}
    assert not others, f"outcomes other than 200/503: {others}; all: {statuses}"
    for rid, _, status, body in load.results:
        if status == 200:
            assert body == SWORD_BODY
        else:
            assert body.startswith(b"Service Unavailable: "), body
    acked = [rid for rid, _, status, _ in load.results if status == 200]
    in_topic = Counter(json.loads(v).get("X-Req") for v in kcat_values(bootstrap, topic))
    missing = [rid for rid in acked if in_topic[rid] == 0]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged events are not in the topic: {missing[:10]}"
    duplicated = [rid for rid in acked if in_topic[rid] > 1]
    assert not duplicated, f"acknowledged events in the topic more than once: {duplicated[:10]}"
    return statuses


def test_single_broker_stopped_under_load(start_server, tmp_path):
    broker = Kafka(tmp_path / "kafka", 1, free_port_pair(39500)).start()
    try:
        # Requests in flight wait for Kafka at most 3 s (default 10 s), within the outage.
        s = start_server("--kafka", broker.bootstrap, "--topic", "events",
                         "-X", "message.timeout.ms=3000")
        with Load(s.addr) as load:
            load.wait_more(500, timeout=30)
            broker.stop()  # SIGTERM (then SIGKILL after 30 s) while requests are in flight
            stopped_at = time.monotonic()
            # Requests in flight when the broker went can take longer than the message
            # timeout (measured: ~8 s with 3 s; librdkafka's idempotent producer drains
            # them first); the outage outlasts them, so later requests meet it.
            time.sleep(12)
            broker.start()
            restarted_at = time.monotonic()
            # Serving resumes: 200s again once the broker is back.
            wait_for(lambda: any(r[2] == 200 and r[1] > restarted_at for r in list(load.results)),
                     timeout=40, what="200s after the broker restarted")
            load.wait_more(300, timeout=30)
        statuses = assert_200_or_503_and_every_200_in_topic(load, broker.bootstrap, "events")
        during = Counter(r[2] for r in load.results if stopped_at < r[1] < restarted_at)
        assert during[503] > 0, f"no 503 while the broker was down: {during}"
        reasons = {r[3] for r in load.results if r[2] == 503}
        assert any(b"Kafka did not confirm the event within 3000 ms" in b for b in reasons), reasons
        assert any(b"Kafka is not reachable at" in b for b in reasons), reasons
        assert "not reachable" in s.stderr
        assert statuses[200] >= 800, statuses
    finally:
        broker.stop()


def partition_leader(bootstrap: str, topic: str) -> int:
    meta = kcat("-b", bootstrap, "-L", "-t", topic).decode()
    m = re.search(r"partition 0, leader (\d+), replicas: ([\d,]+), isrs: ([\d,]+)", meta)
    assert m, meta
    assert len(m.group(2).split(",")) == 3, f"expected replication factor 3: {meta}"
    return int(m.group(1))


def test_three_brokers_kill_the_leader_under_load_loses_nothing(kafka_cluster, start_server):
    k = kafka_cluster
    s = start_server("--kafka", k.bootstrap, "--topic", "events")
    with Load(s.addr) as load:
        load.wait_more(500, timeout=30)
        leader = partition_leader(k.bootstrap, "events")
        k.kill_node(leader)  # SIGKILL: no goodbye to the controller or the producer
        killed_at = time.monotonic()
        survivors = ",".join(k.listener(n) for n in (1, 2, 3) if n != leader)
        # Serve keeps answering: 200s again once a new leader is elected.
        wait_for(lambda: sum(1 for r in list(load.results) if r[2] == 200 and r[1] > killed_at + 1) >= 200,
                 timeout=40, what="200s after the leader was killed")
    statuses = assert_200_or_503_and_every_200_in_topic(load, survivors, "events")
    new_leader = partition_leader(survivors, "events")
    assert new_leader != leader
    after = Counter(r[2] for r in load.results if r[1] > killed_at)
    assert after[200] >= 200, after
    assert statuses[200] >= 700, statuses


def test_full_producer_queue_is_503_at_once_and_every_200_is_in_the_topic(kafka, topic, start_server):
    # A queue of one event, held for 200 ms: concurrent requests overflow it.
    s = start_server("--kafka", kafka.bootstrap, "--topic", topic,
                     "-X", "queue.buffering.max.messages=1", "-X", "linger.ms=200")
    with Load(s.addr, threads=8) as load:
        load.wait_more(100, timeout=30)
    statuses = assert_200_or_503_and_every_200_in_topic(load, kafka.bootstrap, topic)
    assert statuses[200] > 0 and statuses[503] > 0, statuses
    assert {r[3] for r in load.results if r[2] == 503} == {
        b"Service Unavailable: the Kafka producer's queue is full; retry later\n"
    }


def test_sigterm_with_no_broker_exits_at_once(start_server):
    s = start_server("--kafka", f"127.0.0.1:{free_port_pair(39600)}", "--topic", "events")
    assert get(s.addr, "/").status == 503
    began = time.monotonic()
    s.signal(signal.SIGTERM)
    assert s.wait(timeout=10) == 0, s.stderr
    assert time.monotonic() - began < 3, "nothing was in flight, so there is nothing to wait for"
    assert "questlog: stopped" in s.stderr


def test_x_list_prints_librdkafka_properties_as_kcat_does(bin_path):
    r = subprocess.run([bin_path, "serve", "-X", "list"], capture_output=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert b"linger.ms" in r.stdout and b"enable.idempotence" in r.stdout


# --------------------------------------------------------------------------- outage bounds


class OneAtATime:
    """One client on one keep-alive connection that sends its next tagged request only
    after its previous answer, as the seed's ab -c1 does. Records (id, sent, answered,
    status, body) for each."""

    def __init__(self, addr: tuple[str, int], timeout: float = 30.0):
        self.addr = addr
        self.timeout = timeout
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.results: list[tuple[str, float, float, int | str, bytes]] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = http.client.HTTPConnection(*self.addr, timeout=self.timeout)
        n = 0
        while not self.stop.is_set():
            rid = f"seq-{n}"
            n += 1
            sent = time.monotonic()
            try:
                conn.request("GET", "/purchase_a_sword", headers={"Host": "seq.example", "X-Req": rid})
                resp = conn.getresponse()
                body = resp.read()
                outcome: int | str = resp.status
            except Exception as e:  # noqa: BLE001 - recorded and asserted on
                outcome, body = f"{type(e).__name__}: {e}", b""
                conn.close()
                conn = http.client.HTTPConnection(*self.addr, timeout=self.timeout)
            with self.lock:
                self.results.append((rid, sent, time.monotonic(), outcome, body))
            time.sleep(0.02)
        conn.close()

    def __enter__(self) -> "OneAtATime":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=self.timeout + 5)
        assert not self.thread.is_alive(), "the client hung"

    def since(self, t: float) -> list:
        with self.lock:
            return [r for r in self.results if r[1] >= t]

    def wait_status(self, status: int, after: float, n: int, timeout: float) -> None:
        wait_for(lambda: sum(1 for r in self.since(after) if r[3] == status) >= n, timeout=timeout,
                 what=f"{n} answers {status} (have {Counter(r[3] for r in self.since(after))})")


def assert_outage_bounds(client: OneAtATime, began: float, ended: float, timeout_ms: int) -> None:
    """Every answer during the outage came within the message timeout (the README's
    bound), and after the first failure most came at once (the breaker)."""
    during = [r for r in client.results if began <= r[1] < ended]
    statuses = Counter(r[3] for r in during)
    assert set(statuses) <= {200, 503}, statuses
    waits = [r[2] - r[1] for r in during]
    # The bound plus slack for a busy machine (the sweeper looks every 50 ms).
    assert max(waits) < timeout_ms / 1000 + 2.0, sorted(waits)[-5:]
    fast_503s = [r for r in during if r[3] == 503 and r[2] - r[1] < 0.5]
    assert len(fast_503s) >= 10, f"the breaker did not answer at once: {statuses}, waits {sorted(waits)[-5:]}"
    # Each fast 503 says why: the breaker (deliveries failing), or, when the
    # surviving broker is too slow for the readiness probe too (seen at a load
    # average of 15 on two cores), the probe.
    reasons = (b"Kafka is failing deliveries", b"Kafka is not reachable")
    assert all(any(x in r[4] for x in reasons) for r in fast_503s), {r[4] for r in fast_503s}


def test_lost_quorum_every_request_answered_within_the_timeout_then_at_once(kafka_cluster, start_server):
    k = kafka_cluster
    s = start_server("--kafka", k.bootstrap, "--topic", "events", "-X", "message.timeout.ms=3000")
    with OneAtATime(s.addr) as client:
        client.wait_status(200, 0, 20, timeout=60)
        leader = partition_leader(k.bootstrap, "events")
        followers = [n for n in (1, 2, 3) if n != leader]
        for n in followers:
            k.kill_node(n)  # acks=all can no longer be met
        began = time.monotonic()
        client.wait_status(503, began, 30, timeout=60)
        ended = time.monotonic()
        k.start_node(followers[0])
        client.wait_status(200, ended, 10, timeout=90)
    assert_outage_bounds(client, began, ended, 3000)
    assert "a delivery failed" in s.stderr and "deliveries succeed again" in s.stderr, s.stderr
    acked = {r[0] for r in client.results if r[3] == 200}
    in_topic = {json.loads(v).get("X-Req") for v in kcat_values(k.bootstrap, "events")}
    assert acked <= in_topic, f"acknowledged events missing: {sorted(acked - in_topic)[:10]}"


def test_stopped_broker_every_request_answered_within_the_timeout_then_at_once(start_server, tmp_path):
    broker = Kafka(tmp_path / "kafka", 1, free_port_pair(39700)).start()
    try:
        s = start_server("--kafka", broker.bootstrap, "--topic", "events", "-X", "message.timeout.ms=3000")
        with OneAtATime(s.addr) as client:
            client.wait_status(200, 0, 20, timeout=60)
            broker.pause_node(1)  # SIGSTOP: connections stay open, nothing answers
            began = time.monotonic()
            try:
                client.wait_status(503, began, 30, timeout=60)
            finally:
                ended = time.monotonic()
                broker.resume_node(1)
            client.wait_status(200, ended, 10, timeout=60)
        assert_outage_bounds(client, began, ended, 3000)
        acked = {r[0] for r in client.results if r[3] == 200}
        in_topic = {json.loads(v).get("X-Req") for v in kcat_values(broker.bootstrap, "events")}
        assert acked <= in_topic, f"acknowledged events missing: {sorted(acked - in_topic)[:10]}"
    finally:
        broker.stop()
