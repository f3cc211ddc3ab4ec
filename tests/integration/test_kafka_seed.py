"""Seed compatibility on a real Kafka (issue 4): the seed's own programs, from
tests/seed/ (changed only where tests/seed/README.md says), next to questlog.

1. The seed's game_api.py (Flask 2.2 and kafka-python 2.0.2, Debian's, under
   /usr/bin/python3, started like `flask run`) and `questlog serve --kafka` get the
   same requests, the seed's ab session first; each logs into its own topic on the
   session broker. Read back with kcat, the two topics hold the same events, request
   by request, with the same keys and values in the same order. Where questlog
   differs by design (docs/design.md), the difference is asserted exactly, both sides.
2. The seed's separate_events.py and filtered_writes.py run in local-mode PySpark
   (the venv's pyspark, Spark's Kafka connector from scripts/spark-kafka.sh) over
   the events `questlog serve --kafka` put in Kafka, as the seed ran them with
   spark-submit, and show the seed's tables and write them as Parquet.

Every process is started here and killed by pid; every wait is bounded.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import KNIFE_BODY, SWORD_BODY, DEFAULT_BODY, ab, kcat, raw_exchange, wait_for

UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "tests" / "seed"
SYSTEM_PYTHON = "/usr/bin/python3"
JAVA_HOME = os.environ.get("QUESTLOG_JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")

USER1, USER2 = "user1.comcast.com", "user2.att.com"
AB_HEADERS = ["User-Agent", "Accept"]  # what ab adds to the Host it is given


def _system_python_has(*modules: str) -> bool:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return False
    code = "import " + ", ".join(modules)
    return subprocess.run([SYSTEM_PYTHON, "-c", code], capture_output=True, timeout=30).returncode == 0


needs_ab = pytest.mark.skipif(shutil.which("ab") is None, reason="ab (apache2-utils) not installed")
needs_flask = pytest.mark.skipif(
    not _system_python_has("flask", "kafka"),
    reason="Debian's python3-flask and python3-kafka are not installed for /usr/bin/python3",
)


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def topic_records(bootstrap: str, topic: str) -> list[tuple[bytes, bytes]]:
    """(key, value) of every record in the topic, in offset order, via kcat -e."""
    out = kcat("-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
               "-f", "%k\\t%s\\n")
    records = []
    for line in out.splitlines():
        key, _, value = line.partition(b"\t")
        records.append((key, value))
    return records


def start_flask(procs, tmp_path: Path, bootstrap: str, topic: str) -> str:
    """The seed's game_api.py as the seed ran it (`env FLASK_APP=game_api.py flask run`),
    under Debian's Flask and kafka-python; its events go to `topic`. Returns its URL."""
    port = free_port()
    env = dict(os.environ, FLASK_APP=str(SEED / "game_api.py"), KAFKA_BOOTSTRAP=bootstrap,
               KAFKA_TOPIC=topic, PYTHONDONTWRITEBYTECODE="1")
    for var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "FLASK_DEBUG", "FLASK_ENV"):
        env.pop(var, None)
    log = tmp_path / "flask.stderr"
    with open(log, "wb") as err:
        p = subprocess.Popen([SYSTEM_PYTHON, "-m", "flask", "run", "--host", "127.0.0.1",
                              "--port", str(port)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                             env=env, cwd=tmp_path)
    procs.append(p)

    def listening() -> bool:
        if p.poll() is not None:
            raise AssertionError(f"flask run exited rc={p.returncode}: {log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()  # no request: no event
            return True
        except OSError:
            return False

    wait_for(listening, 20, 0.1, "the seed's Flask app to listen")
    return f"http://127.0.0.1:{port}"


def start_questlog_kafka(start_server, bootstrap: str, topic: str):
    return start_server("--kafka", bootstrap, "--topic", topic)


# --------------------------------------------------------------------------- 0. the copies


_KAFKA_OPTIONS = {
    ('        .option("kafka.bootstrap.servers", "kafka:29092") \\',
     '        .option("kafka.bootstrap.servers", os.environ.get("KAFKA_BOOTSTRAP", "kafka:29092")) \\'),
    ('        .option("subscribe", "events") \\',
     '        .option("subscribe", os.environ.get("KAFKA_TOPIC", "events")) \\'),
}
SEED_CHANGES = {  # file: {(seed's line or None, our line or None)}, as tests/seed/README.md lists them
    "game_api.py": {
        (None, "import os"),
        ("producer = KafkaProducer(bootstrap_servers='kafka:29092')",
         "producer = KafkaProducer(bootstrap_servers=os.environ.get('KAFKA_BOOTSTRAP', 'kafka:29092'))"),
        ("    producer.send(topic, json.dumps(event).encode())",
         "    producer.send(os.environ.get('KAFKA_TOPIC', topic), json.dumps(event).encode())"),
    },
    "separate_events.py": {
        (None, "import os"), (None, "from pyspark.sql.types import StringType"),
        ("@udf('string')", "@udf(StringType())"), *_KAFKA_OPTIONS,
        ('        .parquet("/tmp/sword_purchases")',
         '        .parquet(os.environ.get("OUTPUT_DIR", "/tmp") + "/sword_purchases")'),
        ('        .parquet("/tmp/default_hits")',
         '        .parquet(os.environ.get("OUTPUT_DIR", "/tmp") + "/default_hits")'),
    },
    "just_filtering.py": {
        (None, "import os"), (None, "from pyspark.sql.types import BooleanType"),
        ("@udf('boolean')", "@udf(BooleanType())"), *_KAFKA_OPTIONS,
    },
    "filtered_writes.py": {
        (None, "import os"), (None, "from pyspark.sql.types import BooleanType"),
        ("@udf('boolean')", "@udf(BooleanType())"), *_KAFKA_OPTIONS,
        ("        .parquet('/tmp/purchases')",
         "        .parquet(os.environ.get('OUTPUT_DIR', '/tmp') + '/purchases')"),
    },
}


@pytest.mark.parametrize("name", sorted(SEED_CHANGES))
def test_seed_copies_change_only_what_the_readme_lists(name):
    import difflib

    seed = (SEED / "original" / name).read_text().splitlines()
    ours = (SEED / name).read_text().splitlines()
    removed, added = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, seed, ours, autojunk=False).get_opcodes():
        removed += seed[i1:i2] if tag != "equal" else []
        added += ours[j1:j2] if tag != "equal" else []
    want = SEED_CHANGES[name]
    assert sorted(removed) == sorted(a for a, _ in want if a is not None), removed
    assert sorted(added) == sorted(b for _, b in want if b is not None), added


# --------------------------------------------------------------------------- 1. events


# Requests beyond the seed's ab session, each sent as these exact bytes to both servers.
# (name, raw request, expected status, expected body)
EXTRA_SAME = [
    ("curl-like with proxy headers",
     b"GET /purchase_a_sword HTTP/1.1\r\nHost: user1.comcast.com\r\nUser-Agent: curl/7.88.1\r\n"
     b"Accept: */*\r\nX-Forwarded-For: 10.1.2.3\r\nConnection: close\r\n\r\n", 200, SWORD_BODY),
    ("header names in any case, Werkzeug-capitalised",
     b"GET / HTTP/1.1\r\nhost: user2.att.com\r\nx-request-id: abc-123\r\nDNT: 1\r\nX-API-KEY: k\r\n"
     b"accept-language: en-US,en;q=0.9\r\nConnection: close\r\n\r\n", 200, DEFAULT_BODY),
    ("cookies, cache-control, an empty value, digits in a name",
     b"GET /purchase_a_knife?via=ad HTTP/1.1\r\nHost: user1.comcast.com\r\nCookie: a=1; b=2\r\n"
     b"Cache-Control: no-cache\r\nX-Empty:\r\nX-B3-TraceId: 80f198ee56343ba8\r\n"
     b"Connection: close\r\n\r\n", 200, KNIFE_BODY),
    ("headers named like the event's fields do not replace them",
     b"GET /purchase_a_knife HTTP/1.1\r\nHost: user2.att.com\r\nEvent-Type: spoof\r\n"
     b"Connection: close\r\n\r\n", 200, KNIFE_BODY),
    ("an underscore in a header name (Werkzeug: a dash)",
     b"GET / HTTP/1.1\r\nHost: user1.comcast.com\r\nX_Custom: v\r\nConnection: close\r\n\r\n",
     200, DEFAULT_BODY),
    ("a GET with a body: Content-Type and Content-Length are headers like any other",
     b"GET /purchase_a_sword HTTP/1.1\r\nHost: user2.att.com\r\nContent-Type: application/json\r\n"
     b"Content-Length: 2\r\nConnection: close\r\n\r\n{}", 200, SWORD_BODY),
    ("HEAD is logged, as Flask does for its GET routes",
     b"HEAD /purchase_a_knife HTTP/1.1\r\nHost: user1.comcast.com\r\nConnection: close\r\n\r\n",
     200, b""),
    ("an unknown path is a 404 and no event",
     b"GET /purchase_a_shield HTTP/1.1\r\nHost: user1.comcast.com\r\nConnection: close\r\n\r\n",
     404, None),
]

# Requests on which questlog's event differs from the Flask app's, and how, exactly.
# (name, raw request, header, Flask's value, questlog's value or None when left out, why)
EXTRA_DIFFERENT = [
    ("a repeated header",
     b"GET / HTTP/1.1\r\nHost: user1.comcast.com\r\nX-Tag: red\r\nX-Tag: blue\r\nConnection: close\r\n\r\n",
     "X-Tag", "red,blue", "red, blue",
     "docs/design.md: repeated headers joined with \", \" (Werkzeug 2.2's dev server joins with \",\"; "
     "the seed's Werkzeug 0.14 kept only the last one)"),
    ("a UTF-8 header value",
     b"GET / HTTP/1.1\r\nHost: user2.att.com\r\nX-Player: Zo\xc3\xab\r\nConnection: close\r\n\r\n",
     "X-Player", "Zo\u00c3\u00ab", "Zo\u00eb",
     "docs/design.md: always valid UTF-8; Werkzeug decodes header bytes as Latin-1, so UTF-8 arrives as mojibake"),
    ("trailing whitespace in a header value",
     b"GET / HTTP/1.1\r\nHost: user1.comcast.com\r\nX-Note: padded  \r\nConnection: close\r\n\r\n",
     "X-Note", "padded  ", "padded",
     "RFC 9110 5.5: whitespace around a field value is not part of it; Python's http.server keeps "
     "the trailing part (not written down in docs/design.md)"),
    ("a header named like a route field but for case (questlog: absent)",
     b"GET /purchase_a_knife HTTP/1.1\r\nHost: user2.att.com\r\nDescription: blunt\r\n"
     b"Connection: close\r\n\r\n",
     "Description", "blunt", None,
     "docs/design.md: a route field wins over a header of the same name compared case-insensitively; "
     "Spark refuses a table with both `description` and `Description` (COLUMN_ALREADY_EXISTS)"),
]


def seed_session_requests() -> list[tuple[str, str, int]]:
    """The seed's ab session (section 'Use Apache Bench'), then the knife route it added."""
    return [
        ("/", USER1, 10),
        ("/purchase_a_sword", USER1, 10),
        ("/", USER2, 10),
        ("/purchase_a_sword", USER2, 10),
        ("/purchase_a_knife", USER1, 5),
        ("/purchase_a_knife", USER2, 5),
    ]


def seed_event(path: str, host: str) -> dict:
    fields = {"/": {"event_type": "default"},
              "/purchase_a_sword": {"event_type": "purchase_sword"},
              "/purchase_a_knife": {"event_type": "purchase_knife", "description": "very sharp knife"}}[path]
    return {**fields, "Host": host, "User-Agent": "ApacheBench/2.3", "Accept": "*/*"}


@pytest.fixture(scope="module")
def side_by_side(kafka, tmp_path_factory):
    """Runs the whole exchange once for the module's tests: the same requests to the
    seed's Flask app (topic A) and to `questlog serve --kafka` (topic B)."""
    # Module-scoped, so it cannot use the function-scoped fixtures; the same helpers by hand.
    from conftest import Server, questlog_bin

    tmp = tmp_path_factory.mktemp("seed-side-by-side")
    stamp = f"{os.getpid()}-{int(time.time() * 1000)}"
    topic_a, topic_b = f"seed-flask-{stamp}", f"seed-questlog-{stamp}"
    started: list = []
    try:
        flask_url = start_flask(started, tmp, kafka.bootstrap, topic_a)
        ql = Server(questlog_bin(), tmp / "data", ["--kafka", kafka.bootstrap, "--topic", topic_b])
        started.append(ql)
        ql.wait_ready(20)

        expected = []  # (label, event that the seed's log_to_kafka builds) per logged request
        for path, host, n in seed_session_requests():
            for url in (flask_url, ql.url):
                ab(url + path, host, n)
            expected += [(f"ab {host}{path}", seed_event(path, host))] * n

        flask_addr = ("127.0.0.1", int(flask_url.rsplit(":", 1)[1]))
        responses = {}
        for name, raw, status, body in EXTRA_SAME:
            for who, addr in (("flask", flask_addr), ("questlog", ql.addr)):
                r = raw_exchange(addr, raw, head_request=raw.startswith(b"HEAD"))
                responses[(name, who)] = r
            if status == 200:
                expected.append((name, None))
        for name, raw, *_ in EXTRA_DIFFERENT:
            for who, addr in (("flask", flask_addr), ("questlog", ql.addr)):
                responses[(name, who)] = raw_exchange(addr, raw)
            expected.append((name, None))

        # questlog answered 200 only once Kafka had each event; the Flask app sent
        # without waiting, so its events may still be on their way.
        n = len(expected)
        b = topic_records(kafka.bootstrap, topic_b)
        a = wait_for(lambda: (lambda recs: recs if len(recs) >= n else None)(
                         topic_records(kafka.bootstrap, topic_a)),
                     30, 0.2, f"the Flask app's {n} events in topic {topic_a}")
        time.sleep(0.5)  # anything beyond n would show up now
        a = topic_records(kafka.bootstrap, topic_a)
        yield {"expected": expected, "flask": a, "questlog": b, "responses": responses,
               "questlog_stderr": ql.stderr, "topics": (topic_a, topic_b), "bootstrap": kafka.bootstrap}
    finally:
        for p in started:
            proc = p.proc if isinstance(p, Server) else p
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


@needs_ab
@needs_flask
def test_both_apps_answer_alike(side_by_side):
    for name, raw, status, body in EXTRA_SAME:
        f, q = side_by_side["responses"][(name, "flask")], side_by_side["responses"][(name, "questlog")]
        assert f.status == status, (name, f)
        assert q.status == status, (name, q)
        if body is not None:
            assert f.body == body and q.body == body, (name, f, q)
    for name, *_ in EXTRA_DIFFERENT:
        f, q = side_by_side["responses"][(name, "flask")], side_by_side["responses"][(name, "questlog")]
        assert f.status == q.status == 200 and f.body == q.body, (name, f, q)
        assert f.body in (DEFAULT_BODY, KNIFE_BODY), (name, f)


@needs_ab
@needs_flask
def test_same_events_in_both_topics_request_by_request(side_by_side):
    expected, a, b = side_by_side["expected"], side_by_side["flask"], side_by_side["questlog"]
    assert len(b) == len(expected), (
        f"questlog's topic has {len(b)} events for {len(expected)} logged requests; "
        f"serve stderr: {side_by_side['questlog_stderr'][-2000:]}")
    assert len(a) == len(expected), f"the Flask app's topic has {len(a)} events for {len(expected)} requests"

    different = {name: (header, fv, qv) for name, _, header, fv, qv, _ in EXTRA_DIFFERENT}
    for i, ((label, seed), (ka, va), (kb, vb)) in enumerate(zip(expected, a, b)):
        fe, qe = json.loads(va), json.loads(vb)
        where = f"event {i} ({label})\n  flask:    {va.decode()}\n  questlog: {vb.decode()}"
        # The seed's producer sends no key; questlog's key is the event's id (a UUIDv7, issue 9).
        assert ka == b"", f"{where}\n  the Flask app's record key: {ka!r} (should be null)"
        assert UUID7.fullmatch(kb.decode()), f"{where}\n  questlog's record key: {kb!r} (a UUIDv7)"
        if seed is not None:
            # The seed's own requests: exactly the event its log_to_kafka builds, in both topics.
            assert list(fe.items()) == list(seed.items()), where
        if label in different:
            header, fv, qv = different[label]
            assert fe.get(header) == fv, where
            assert qe.get(header) == qv, where
            # The documented difference aside, everything else the same.
            if qv is None:
                del fe[header]
            else:
                fe[header] = qv
        # Same keys, same values, same key order.
        assert list(qe.items()) == list(fe.items()), where


@needs_ab
@needs_flask
def test_json_text_differs_only_in_spacing_and_escaping(side_by_side):
    """The records' bytes are not equal: Python's json.dumps writes ", " and ": " and
    escapes non-ASCII; questlog writes compact UTF-8. A consumer that parses JSON (kcat
    | jq, Spark's from_json, the seed's json.loads) sees the same event."""
    checked = 0
    for (_, va), (_, vb) in zip(side_by_side["flask"], side_by_side["questlog"]):
        fe, qe = json.loads(va), json.loads(vb)
        if va.isascii() and fe == qe:
            assert vb == json.dumps(fe, separators=(",", ":")).encode(), vb
            assert va == json.dumps(fe).encode(), va
            checked += 1
    assert checked >= 50, checked  # the seed's session at least


# --------------------------------------------------------------------------- 2. Spark


def spark_env(bootstrap: str, topic: str, out: Path) -> dict:
    env = dict(os.environ, KAFKA_BOOTSTRAP=bootstrap, KAFKA_TOPIC=topic, OUTPUT_DIR=str(out),
               JAVA_HOME=JAVA_HOME, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
               PYTHONDONTWRITEBYTECODE="1")
    env["PATH"] = f"{Path(sys.executable).parent}:{JAVA_HOME}/bin:{env.get('PATH', '')}"
    env.pop("SPARK_HOME", None)
    return env


def spark_submit() -> str:
    exe = Path(sys.executable).parent / "spark-submit"
    if not exe.exists():
        pytest.fail(f"{exe} is missing: pyspark (tests/requirements.txt) provides it")
    return str(exe)


def parse_show(stdout: str) -> list[tuple[list[str], list[list[str]], bool]]:
    """DataFrame.show() tables in stdout: (columns, rows, 'only showing top N' footer)."""
    tables, lines, i = [], stdout.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("+-") and i + 2 < len(lines) and lines[i + 2].startswith("+-"):
            cols = [c.strip() for c in lines[i + 1].strip("|").split("|")]
            rows, j = [], i + 3
            while j < len(lines) and lines[j].startswith("|"):
                rows.append([c.strip() for c in lines[j].strip("|").split("|")])
                j += 1
            assert j < len(lines) and lines[j].startswith("+-"), stdout
            footer = j + 1 < len(lines) and lines[j + 1].startswith("only showing top")
            tables.append((cols, rows, footer))
            i = j + 1
        else:
            i += 1
    return tables


def read_parquet(path: Path):
    import pyarrow.parquet as pq

    assert (path / "_SUCCESS").exists(), f"{path} has no _SUCCESS: {sorted(os.listdir(path))}"
    assert list(path.glob("part-*.parquet")), sorted(os.listdir(path))
    return pq.read_table(path).to_pylist()


@needs_ab
def test_seed_spark_jobs_over_questlogs_events(kafka, topic, start_server, tmp_path, procs):
    if not Path(JAVA_HOME, "bin", "java").exists():
        pytest.fail(f"Java 17 is missing at {JAVA_HOME}: `make test` installs openjdk-17-jre-headless")
    jars = subprocess.run(["bash", str(REPO / "scripts" / "spark-kafka.sh")], capture_output=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    assert jars.returncode == 0, jars.stderr.decode()[-3000:]
    jars = jars.stdout.decode().strip()
    assert "spark-sql-kafka-0-10" in jars and "kafka-clients" in jars, jars

    # The seed's traffic through questlog into Kafka: the ab session, then the knife route.
    server = start_questlog_kafka(start_server, kafka.bootstrap, topic)
    t0 = dt.datetime.now()
    for path, host, n in seed_session_requests():
        ab(server.url + path, host, n)
    t1 = dt.datetime.now()
    assert len(kcat("-b", kafka.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q")
               .splitlines()) == 50

    # `spark-submit separate_events.py` and `spark-submit filtered_writes.py`, as in the
    # seed, side by side (each starts its own local-mode Spark).
    out = tmp_path / "lake"
    env = spark_env(kafka.bootstrap, topic, out)
    jobs = {}
    for job in ("separate_events", "filtered_writes"):
        stdout, stderr = open(tmp_path / f"{job}.out", "wb"), open(tmp_path / f"{job}.err", "wb")
        p = subprocess.Popen([spark_submit(), "--master", "local[2]", "--jars", jars,
                              "--conf", "spark.ui.enabled=false",
                              # C1 only: a short job spends its time warming up; ~40% less CPU
                              "--conf", "spark.driver.extraJavaOptions=-XX:TieredStopAtLevel=1",
                              str(SEED / f"{job}.py")],
                             stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env, cwd=tmp_path)
        procs.append(p)
        jobs[job] = p
    for job, p in jobs.items():
        try:
            rc = p.wait(timeout=240)
        except subprocess.TimeoutExpired:
            rc = None
        err = (tmp_path / f"{job}.err").read_text(errors="replace")
        tail = "\n".join(l for l in err.splitlines() if not l.startswith(("\tat ", "        at ")))[-4000:]
        assert rc == 0, f"spark-submit {job}.py rc={rc}:\n{tail}"

    def timestamps_ok(values):
        for v in values:  # Kafka record timestamps, cast to string in the JVM's (local) time zone
            ts = dt.datetime.fromisoformat(v)
            assert t0 - dt.timedelta(seconds=5) <= ts <= t1 + dt.timedelta(seconds=5), (v, t0, t1)

    # separate_events: the seed's two tables, 20 rows each, Host and Cache-Control munged.
    # Spark 3+ keeps Row(**kwargs) in argument order (Spark 2 sorted it), so the columns
    # are: timestamp, then the event's keys as questlog logged them, then the munged-in
    # Cache-Control; the seed's Spark 2 showed the same six columns sorted by name.
    tables = parse_show((tmp_path / "separate_events.out").read_text())
    assert len(tables) == 2, (tmp_path / "separate_events.out").read_text()
    seed_columns = ["Accept", "Cache-Control", "Host", "User-Agent", "event_type", "timestamp"]
    for (cols, rows, footer), event_type in zip(tables, ("purchase_sword", "default")):
        assert sorted(cols) == seed_columns, cols
        assert cols == ["timestamp", "event_type", "Host", "User-Agent", "Accept", "Cache-Control"], cols
        assert len(rows) == 20 and not footer, rows
        for row in rows:
            r = dict(zip(cols, row))
            assert (r["event_type"], r["Host"], r["Cache-Control"], r["User-Agent"], r["Accept"]) == \
                (event_type, "moe", "no-cache", "ApacheBench/2.3", "*/*"), row

    for table, event_type in (("sword_purchases", "purchase_sword"), ("default_hits", "default")):
        rows = read_parquet(out / table)
        assert len(rows) == 20, (table, rows)
        assert all(set(r) == set(seed_columns) for r in rows), rows[0]
        assert {(r["event_type"], r["Host"], r["Cache-Control"], r["User-Agent"], r["Accept"])
                for r in rows} == {(event_type, "moe", "no-cache", "ApacheBench/2.3", "*/*")}
        timestamps_ok(r["timestamp"] for r in rows)

    # filtered_writes: the sword purchases as logged (Host kept), printSchema, show, Parquet.
    text = (tmp_path / "filtered_writes.out").read_text()
    assert "root\n |-- timestamp: string (nullable = true)\n |-- event_type: string (nullable = true)\n" in text, text
    [(cols, rows, footer)] = parse_show(text)
    assert cols == ["timestamp", "event_type", "Host", "User-Agent", "Accept"], cols
    assert len(rows) == 20 and not footer, rows
    assert [r[1:] for r in rows] == \
        [["purchase_sword", USER1, "ApacheBench/2.3", "*/*"]] * 10 + \
        [["purchase_sword", USER2, "ApacheBench/2.3", "*/*"]] * 10, rows
    rows = read_parquet(out / "purchases")
    assert len(rows) == 20
    assert collections.Counter((r["event_type"], r["Host"]) for r in rows) == \
        {("purchase_sword", USER1): 10, ("purchase_sword", USER2): 10}
    assert all(set(r) == {"timestamp", "event_type", "Host", "User-Agent", "Accept"} for r in rows), rows[0]
    timestamps_ok(r["timestamp"] for r in rows)
