"""SIGTERM / SIGINT: requests in flight are finished and acknowledged, idle
connections are let go, and the process exits 0."""

import json
import os
import signal
import socket
import subprocess
import time

from conftest import (SERVING_RE, RawConn, get, serves_normally, slow_sync_env, tail_events,
                      tail_lines, wait_for)


def in_log(bin_path, data, request_id: str) -> bool:
    try:
        lines = tail_lines(bin_path, data, timeout=3)
    except AssertionError:
        return False
    return any(json.loads(x).get("X-Request-Id") == request_id for x in lines)


def test_sigterm_during_slow_fsync_still_answers_200_and_exits_0(start_server, bin_path, data_dir):
    server = start_server("--threads", "1", "--durability", "fsync", env=slow_sync_env(1000))
    with RawConn(server.addr, timeout=8) as c:
        c.send(b"GET /purchase_a_sword HTTP/1.1\r\nHost: h\r\nX-Request-Id: slow\r\n\r\n")
        # The event is written (so tail sees it) but waits on the slow fsync.
        wait_for(lambda: in_log(bin_path, data_dir, "slow"), timeout=3, what="the event to be written")
        c.sock.settimeout(0.05)
        try:
            early = c.sock.recv(1)
        except socket.timeout:
            early = b""
        assert early == b"", "answered before its fsync finished"
        c.sock.settimeout(8)
        server.signal(signal.SIGTERM)
        r = c.read_response()
        assert r.status == 200 and r.body == b"Sword Purchased!\n"
        assert (r.header("Connection") or "").lower() == "close"
        assert c.is_closed(timeout=3)
    # Within the sync's second plus a busy machine's slack, not the 75 s idle timeout.
    assert server.wait(timeout=8) == 0
    assert "stopped" in server.stderr, server.stderr
    lines = tail_lines(bin_path, data_dir)
    assert [json.loads(x)["X-Request-Id"] for x in lines] == ["slow"]


def test_sigint_on_idle_server_exits_0_promptly(server):
    assert get(server.addr, "/").status == 200
    t0 = time.monotonic()
    server.signal(signal.SIGINT)
    assert server.wait(timeout=5) == 0
    assert time.monotonic() - t0 < 1.5
    assert "SIGINT" in server.stderr, server.stderr


def test_sigterm_closes_idle_keepalive_connections_and_exits_promptly(start_server, bin_path):
    server = start_server("--threads", "2")  # default idle timeout: 75 s
    conns = []
    try:
        for i in range(5):
            c = RawConn(server.addr)
            c.send(f"GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: {i}\r\n\r\n".encode())
            assert c.read_response().status == 200
            conns.append(c)
        t0 = time.monotonic()
        server.signal(signal.SIGTERM)
        for c in conns:
            assert c.is_closed(timeout=3)
        assert server.wait(timeout=5) == 0
        assert time.monotonic() - t0 < 2
    finally:
        for c in conns:
            c.close()
    assert len(tail_lines(bin_path, server.data)) == 5


def test_no_new_connections_after_sigterm(start_server, bin_path, data_dir):
    server = start_server("--threads", "1", "--durability", "fsync", env=slow_sync_env(1000))
    with RawConn(server.addr, timeout=8) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: inflight\r\n\r\n")
        wait_for(lambda: in_log(bin_path, data_dir, "inflight"), timeout=3, what="the event to be written")
        server.signal(signal.SIGTERM)
        # The listener closes at once while the in-flight request finishes. (The
        # probe sends nothing: one accepted just before the stop is simply closed.)
        def refused():
            try:
                with socket.create_connection(server.addr, timeout=1) as s:
                    s.settimeout(1)
                    try:
                        s.recv(100)
                    except (socket.timeout, ConnectionResetError):
                        pass
                return False
            except (ConnectionRefusedError, ConnectionResetError):
                # Reset: the connection reached the backlog just as the listener closed.
                return True
        wait_for(refused, timeout=2, what="the listener to close")
        assert c.read_response().status == 200
    assert server.wait(timeout=5) == 0
    assert [json.loads(x)["X-Request-Id"] for x in tail_lines(bin_path, data_dir)] == ["inflight"]


def test_second_signal_exits_at_once_keeping_acknowledged_events(start_server, bin_path, data_dir):
    # Syncs take 4 s, so "at once" (under 2.5 s, which a busy machine holds) is
    # told apart from waiting for the pending request's sync.
    server = start_server("--threads", "1", "--durability", "fsync", env=slow_sync_env(4000))
    r = get(server.addr, "/", extra=b"X-Request-Id: acked\r\n", timeout=10)
    assert r.status == 200
    c = RawConn(server.addr, timeout=8)
    try:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: pending\r\n\r\n")
        wait_for(lambda: in_log(bin_path, data_dir, "pending"), timeout=3, what="the event to be written")
        server.signal(signal.SIGTERM)
        wait_for(lambda: "stopping" in server.stderr, timeout=2, what="the first signal to be taken")
        t0 = time.monotonic()
        server.signal(signal.SIGTERM)
        rc = server.wait(timeout=3)
        assert rc != 0  # an abrupt exit is not a clean stop
        assert time.monotonic() - t0 < 2.5
    finally:
        c.close()
    ids = [json.loads(x)["X-Request-Id"] for x in tail_lines(bin_path, data_dir)]
    assert ids[0] == "acked"


def buy_a_sword_then_stop(proc: subprocess.Popen, port: int) -> None:
    """One purchase answered 200, then SIGTERM, after which serve exits 0."""
    assert get(("127.0.0.1", port), "/purchase_a_sword").status == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def kill_if_running(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_a_stderr_nobody_reads_any_more_does_not_crash_the_stop(bin_path, tmp_path):
    """serve's stderr is a pipe whose reader went away (a supervisor restarted, `| head`):
    its stop lines fail to write, as fprintf's did, and it still exits 0 with every event."""
    data = tmp_path / "data"
    proc = subprocess.Popen([bin_path, "serve", "--listen", "127.0.0.1:0", "--data", str(data)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        port = None
        while port is None:
            line = proc.stderr.readline()
            assert line, f"serve ended before it said where it listens (rc={proc.poll()})"
            m = SERVING_RE.search(line.decode("utf-8", "replace"))
            port = int(m.group(1)) if m else None
        proc.stderr.close()  # nobody reads it any more
        buy_a_sword_then_stop(proc, port)
    finally:
        kill_if_running(proc)
    assert [e["event_type"] for e in tail_events(bin_path, data)] == ["purchase_sword"]


def test_started_without_stderr_nothing_it_prints_lands_in_the_data_dir(bin_path, tmp_path):
    """`serve 2>&-`: the first file serve opens would get descriptor 2 and receive every
    line meant for stderr; serve puts /dev/null there first, so its files hold only theirs."""
    data = tmp_path / "data"
    with socket.socket() as s:  # a free port (serve cannot say which it took)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([bin_path, "serve", "--listen", f"127.0.0.1:{port}", "--data", str(data)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            preexec_fn=lambda: os.close(2))
    try:
        def answers() -> bool:
            try:
                return serves_normally(("127.0.0.1", port))
            except OSError:
                return False

        wait_for(answers, timeout=10, what="serve to answer")
        buy_a_sword_then_stop(proc, port)
    finally:
        kill_if_running(proc)
    written = [p for p in data.rglob("*") if p.is_file() and b"questlog: " in p.read_bytes()]
    assert written == [], "serve's messages went into its own files"
    assert [e["event_type"] for e in tail_events(bin_path, data)][-1] == "purchase_sword"
