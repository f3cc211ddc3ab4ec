"""Shared fixtures for the questlog integration tests.

Every test talks to a real `questlog serve` process on 127.0.0.1 with a port the
kernel picks (--listen 127.0.0.1:0) and its own temporary --data directory. The
binary comes from $QUESTLOG_BIN, else <repo>/build/questlog (what `make test`
builds). Every process a test starts is killed by pid in teardown, and every
wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVING_RE = re.compile(r"questlog: serving http://127\.0\.0\.1:(\d+) ")

DEFAULT_BODY = b"This is the default response!\n"
SWORD_BODY = b"Sword Purchased!\n"
KNIFE_BODY = b"Knife Purchased!\n"
HTML = "text/html; charset=utf-8"


def questlog_bin() -> str:
    return os.environ.get("QUESTLOG_BIN") or str(REPO / "build" / "questlog")


@pytest.fixture(scope="session")
def bin_path() -> str:
    path = questlog_bin()
    if not os.access(path, os.X_OK):
        pytest.fail(f"questlog binary not found or not executable: {path} (set QUESTLOG_BIN)")
    return path


# --------------------------------------------------------------------------- processes


class Server:
    """One `questlog serve` process; stderr is collected by a reader thread."""

    def __init__(self, bin_path: str, data: Path, args: list[str], env: dict | None = None,
                 prefix: list[str] | None = None):
        self.data = data
        self.args = args
        listen = [] if "--listen" in args else ["--listen", "127.0.0.1:0"]
        # `prefix` runs the server through a command that execs it (prlimit ...).
        self.cmd = [*(prefix or []), bin_path, "serve", *listen, "--data", str(data), *args]
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**os.environ, **env} if env else None,
        )
        self.pid = self.proc.pid
        self._stderr: list[str] = []
        self._lock = threading.Lock()
        self._port_ready = threading.Event()
        self.port: int | None = None
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            with self._lock:
                self._stderr.append(line)
            m = SERVING_RE.search(line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self._port_ready.set()
        self._port_ready.set()  # EOF: the process ended

    @property
    def stderr(self) -> str:
        with self._lock:
            return "".join(self._stderr)

    def wait_ready(self, timeout: float = 10.0) -> int:
        self._port_ready.wait(timeout)
        if self.port is None:
            rc = self.proc.poll()
            raise AssertionError(
                f"server did not announce its port (rc={rc}); stderr:\n{self.stderr}"
            )
        return self.port

    @property
    def addr(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=2)
        return rc

    def kill9(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=2)

    def alive(self) -> bool:
        return self.proc.poll() is None


def slow_sync_env(delay_ms: int) -> dict:
    """Environment for a process whose every fdatasync takes at least `delay_ms`: a slow
    disk, through the LD_PRELOAD library tests/tools/preload/slow_sync.cpp builds."""
    lib = Path(questlog_bin()).parent / "libslow_sync.so"
    if not lib.exists():
        pytest.fail(f"{lib} not built (it is part of the questlog build with tests)")
    return {"LD_PRELOAD": str(lib), "QUESTLOG_TEST_SYNC_DELAY_MS": str(delay_ms)}


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local Spark session for every test that reads our tables with Spark
    (starting one costs seconds and a JVM)."""
    if shutil.which("java") is None:
        pytest.fail("java is missing: `make test` installs openjdk-17-jre-headless")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("questlog-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.local.dir", str(tmp_path_factory.mktemp("spark-local")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def procs():
    """Every process started through this list is killed by pid at teardown."""
    started: list = []
    yield started
    for p in started:
        proc = p.proc if isinstance(p, Server) else p
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except Exception:
                    pass


@pytest.fixture
def start_server(bin_path, data_dir, procs):
    """start_server(*args, data=None, wait=True, env=None, prefix=None) -> Server (ready,
    port known). `env` adds variables to the server's environment (see slow_sync_env);
    `prefix` is a command that execs the server (e.g. ["prlimit", "--nofile=256:256"])."""

    def start(*args: str, data: Path | None = None, wait: bool = True,
              env: dict | None = None, prefix: list[str] | None = None) -> Server:
        s = Server(bin_path, data or data_dir, list(args), env, prefix)
        procs.append(s)
        if wait:
            s.wait_ready()
        return s

    return start


@pytest.fixture
def server(start_server) -> Server:
    """A server on the built-in routes with two event loops."""
    return start_server("--threads", "2")


# --------------------------------------------------------------------------- ab


def ab(url: str, host: str, n: int = 10) -> None:
    """The seed's `ab -n N -H "Host: HOST" URL`, asserting every request got a 2xx."""
    r = subprocess.run(["ab", "-n", str(n), "-H", f"Host: {host}", url],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, f"ab {url} failed: {out}\n{r.stderr!r}"
    assert re.search(rf"Complete requests:\s+{n}\n", out), out
    assert "Non-2xx" not in out and re.search(r"Failed requests:\s+0\n", out), out


def seed_ab_session(url: str, knives: int = 0) -> None:
    """The seed's ab session: 10 default and 10 sword purchases for user1.comcast.com,
    the same for user2.att.com, then `knives` knife purchases for user1."""
    for host in ("user1.comcast.com", "user2.att.com"):
        ab(url + "/", host)
        ab(url + "/purchase_a_sword", host)
    if knives:
        ab(url + "/purchase_a_knife", "user1.comcast.com", n=knives)


def log_seed_session(bin_path: str, data: Path) -> Path:
    """seed_ab_session with 5 knives, logged by a `questlog serve` on the embedded
    log in `data` that is stopped (SIGTERM) afterwards; returns `data`."""
    if shutil.which("ab") is None:
        pytest.skip("ab (apache2-utils) not installed")
    server = Server(bin_path, data, ["--threads", "2"])
    try:
        server.wait_ready()
        seed_ab_session(server.url, knives=5)
    finally:
        server.signal(signal.SIGTERM)
        server.wait(10)
    return data


# --------------------------------------------------------------------------- the example game

GUILD_GAME = REPO / "config" / "guild_game.toml"
GUILD_GAME_JOB = REPO / "jobs" / "guild_game.toml"
INVENTORY = REPO / "config" / "inventory.json"
CURL_UA = "questlog-tests"


def curl(url: str, *args: str) -> tuple[int, bytes]:
    """curl with a fixed User-Agent (CURL_UA); (status, body)."""
    if shutil.which("curl") is None:
        pytest.fail("curl is missing (make deps-test installs it)")
    r = subprocess.run(["curl", "-sS", "-H", f"User-Agent: {CURL_UA}", "-o", "-", "-w", "\n%{http_code}",
                        *args, url], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    body, _, status = r.stdout.rpartition(b"\n")
    return int(status), body


def ab_post(url: str, n: int, concurrency: int = 1) -> None:
    """ab -p: n POSTs of config/inventory.json, each a 2xx."""
    if shutil.which("ab") is None:
        pytest.fail("ab is missing (make deps-test installs apache2-utils)")
    r = subprocess.run(["ab", "-n", str(n), "-c", str(concurrency), "-p", str(INVENTORY),
                        "-T", "application/json", "-H", "Host: user1.comcast.com", url],
                       capture_output=True, timeout=60)
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    assert re.search(rf"Complete requests:\s+{n}\n", out), out
    assert "Non-2xx" not in out and re.search(r"Failed requests:\s+0\n", out), out


def play_guild_game(url: str) -> None:
    """The README tour's session of the example game (config/guild_game.toml, served at
    `url`): 10 longswords with ab, curl for the rest, 5 inventory snapshots with ab -p."""
    if shutil.which("ab") is None:
        pytest.fail("ab is missing (make deps-test installs apache2-utils)")
    r = subprocess.run(["ab", "-n", "10", "-H", "Host: user1.comcast.com",
                        url + "/purchase_a_sword/longsword?color=red&quantity=2&price=9.5"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0 and b"Non-2xx" not in r.stdout, r.stdout
    assert curl(url + "/purchase_a_sword/katana?quantity=1")[0] == 200
    assert curl(url + "/purchase_a_knife/dagger?quantity=3")[0] == 200
    assert curl(url + "/purchase_a_knife")[0] == 200
    assert curl(url + "/join_guild/Knights%20of%20Ni?officer=true&level=7")[0] == 200
    assert curl(url + "/join_guild/Camelot?officer=0")[0] == 200
    ab_post(url + "/inventory/alice", 5)
    assert curl(url + "/")[0] == 200


# --------------------------------------------------------------------------- tail


def run_questlog(bin_path: str, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [bin_path, *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
    )


def tail_lines(bin_path: str, data: Path, *args: str, timeout: float = 8.0) -> list[bytes]:
    """`questlog tail --data DATA -e ARGS`, asserting success; the lines as bytes."""
    try:
        r = run_questlog(bin_path, "tail", "--data", str(data), "-e", *args, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        segs = sorted((p.name, p.stat().st_size) for p in Path(data).glob("*/*/*.log"))
        raise AssertionError(
            f"`tail -e {' '.join(args)}` did not exit at the end of the log within {timeout}s "
            f"(printed {len((e.stdout or b'').splitlines())} lines so far); segments: {segs[-3:]}"
        ) from None
    assert r.returncode == 0, f"tail failed rc={r.returncode}: {r.stderr!r}"
    assert r.stdout == b"" or r.stdout.endswith(b"\n"), r.stdout[-200:]
    return r.stdout.splitlines()


def tail_events(bin_path: str, data: Path, *args: str) -> list[dict]:
    return [json.loads(line.decode("utf-8")) for line in tail_lines(bin_path, data, *args)]


def assert_nothing_logged(bin_path: str, server, before: int = 0) -> None:
    """Asserts that nothing was logged beyond `before` events, and that the server
    still serves: one probe request must become the only new event. (Probing
    instead of reading an empty log keeps this independent of `tail -e` on an
    empty log, which test_tail covers on its own.)"""
    probe = get(server.addr, "/", extra=b"X-Probe: after\r\n")
    assert probe.status == 200 and probe.body == DEFAULT_BODY, probe
    events = tail_events(bin_path, server.data)
    assert len(events) == before + 1, events[before:]
    assert events[-1].get("X-Probe") == "after", events[-1]


def wait_for(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------- extract


def append_raw_bin(bin_path: str) -> str:
    path = Path(bin_path).parent / "append_raw"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: it is built with the unit tests (tests/tools/append_raw.cpp)")
    return str(path)


def append_raw(bin_path: str, data: Path, lines: list[bytes]) -> None:
    r = subprocess.run([append_raw_bin(bin_path), str(data)], input=b"\n".join(lines) + b"\n",
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr


def seed_events(bin_path: str, data: Path, n: int, segment_bytes: int | None = None) -> None:
    """Appends n events shaped like the seed's session (tests/tools/append_raw.cpp), fast;
    with segment_bytes, segments roll at that size (after each batch of 4096)."""
    size = ["--segment-bytes", str(segment_bytes)] if segment_bytes else []
    r = subprocess.run([append_raw_bin(bin_path), *size, "--seed", str(n), str(data)],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr


def extract(bin_path: str, job: Path | str, data: Path, lake: Path, *args: str,
            timeout: float = 30) -> subprocess.CompletedProcess:
    return run_questlog(bin_path, "extract", str(job), "--data", str(data), "--lake", str(lake),
                        *args, timeout=timeout)


def extract_ok(*a, **kw) -> subprocess.CompletedProcess:
    r = extract(*a, **kw)
    assert r.returncode == 0, r.stderr.decode()
    return r


def write_job(tmp: Path, name: str, text: str) -> Path:
    p = tmp / f"{name}.toml"
    p.write_text(text)
    return p


# --------------------------------------------------------------------------- raw HTTP


class Response:
    def __init__(self, version: str, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.headers} {self.body[:80]!r}>"


class RawConn:
    """A raw TCP connection that reads HTTP/1.x responses off a buffered stream."""

    def __init__(self, addr: tuple[str, int], timeout: float = 5.0):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            if not self._fill():
                raise EOFError(f"connection closed before {marker!r}; got {self.buf!r}")
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError(f"connection closed with {len(self.buf)} of {n} bytes")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, head_request: bool = False) -> Response:
        head = self.read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        version, status, *reason = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                headers.append((k.strip(), v.strip()))
        resp = Response(version, int(status), reason[0] if reason else "", headers, b"")
        length = resp.header("Content-Length")
        if not head_request and length is not None:
            resp.body = self.read_exact(int(length))
        return resp

    def is_closed(self, timeout: float = 3.0) -> bool:
        """True if the peer closes (EOF or reset) within timeout with no more data."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        if chunk:
            self.buf += chunk
            return False
        return True

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def raw_exchange(addr, data: bytes, timeout: float = 5.0, head_request: bool = False) -> Response:
    with RawConn(addr, timeout) as c:
        c.send(data)
        return c.read_response(head_request=head_request)


def get(addr, path: str = "/", host: str = "t.example", extra: bytes = b"", timeout: float = 5.0) -> Response:
    req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n".encode() + extra + b"\r\n"
    return raw_exchange(addr, req, timeout)


def serves_normally(addr) -> bool:
    r = get(addr, "/")
    return r.status == 200 and r.body == DEFAULT_BODY


# --------------------------------------------------------------------------- Kafka


class Kafka:
    """A real Apache Kafka (KRaft) started by scripts/kafka.sh in its own directory."""

    def __init__(self, root: Path, nodes: int, port: int):
        self.root = root
        self.nodes = nodes
        self.port = port
        self.bootstrap = ""
        self.started_once = False

    def _script(self, *args: str, timeout: float = 180.0) -> str:
        r = subprocess.run(
            ["bash", str(REPO / "scripts" / "kafka.sh"), *args],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
        )
        if r.returncode != 0:
            raise AssertionError(f"kafka.sh {' '.join(args)} failed: {r.stderr.decode()[-3000:]}")
        return r.stdout.decode().strip()

    def start(self) -> "Kafka":
        """Starts the nodes. A fresh cluster whose ports were taken between the check
        and the bind (another broker on this machine) moves to other ports, twice at most."""
        for attempt in range(3):
            try:
                self.bootstrap = self._script("start", str(self.root), str(self.nodes), str(self.port))
                self.started_once = True
                return self
            except AssertionError:
                if attempt == 2 or self.started_once or "Address already in use" not in self._logs():
                    raise
                self.stop()
                shutil.rmtree(self.root)
                self.port = free_port_pair(self.port + 10)
        raise AssertionError("unreachable")

    def _logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.root.glob("node-*/logs/*.log"))

    def stop(self) -> None:
        self._script("stop", str(self.root))

    def kill_node(self, n: int) -> None:
        self._script("kill", str(self.root), str(n))

    def pause_node(self, n: int) -> None:
        """SIGSTOP: the node hangs with its connections open (resume_node before stop)."""
        self._script("pause", str(self.root), str(n))

    def resume_node(self, n: int) -> None:
        self._script("resume", str(self.root), str(n))

    def start_node(self, n: int) -> None:
        self._script("start-node", str(self.root), str(n))

    def listener(self, n: int) -> str:
        return f"127.0.0.1:{self.port + 2 * (n - 1)}"


def free_port_pair(start: int) -> int:
    """The first even port >= start such that it and the next 5 ports are free."""
    port = start
    while True:
        ok = True
        for p in range(port, port + 6):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
        port += 10


@pytest.fixture(scope="session")
def kafka(tmp_path_factory):
    """One single-node broker for the whole session. Tests use their own topics."""
    k = Kafka(tmp_path_factory.mktemp("kafka"), 1, free_port_pair(39092)).start()
    yield k
    k.stop()


@pytest.fixture
def kafka_cluster(tmp_path_factory):
    """A fresh 3-node cluster (replication factor 3, min.insync.replicas=2) for one test."""
    k = Kafka(tmp_path_factory.mktemp("kafka3"), 3, free_port_pair(39192))
    try:
        k.start()
        yield k
    finally:
        k.stop()


_topic_seq = [0]


@pytest.fixture
def topic(request) -> str:
    """A topic name no other test uses (Kafka auto-creates it, 1 partition)."""
    _topic_seq[0] += 1
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:60].strip("-")
    return f"t{_topic_seq[0]}-{name}"


def kcat(*args: str, input: bytes | None = None, timeout: float = 30.0) -> bytes:
    r = subprocess.run(["kcat", *args], input=input, capture_output=True, timeout=timeout)
    assert r.returncode == 0, f"kcat {' '.join(args)} failed: {r.stderr.decode()[-2000:]}"
    return r.stdout


def kcat_values(bootstrap: str, topic: str) -> list[bytes]:
    """Every message value of every partition of `topic`, via kcat -e."""
    out = kcat("-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\\n")
    return out.splitlines()
