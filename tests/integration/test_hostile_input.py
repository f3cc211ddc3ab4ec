"""Hostile and broken clients: each is answered (or cut off) without logging
anything, and the server keeps serving everyone else."""

import socket
import threading
import time

import pytest

from conftest import (
    DEFAULT_BODY,
    RawConn,
    assert_nothing_logged,
    get,
    tail_events,
)


def rejected_and_closed(addr, data: bytes, status: int) -> None:
    with RawConn(addr) as c:
        c.send(data)
        r = c.read_response()
        assert r.status == status, r
        assert (r.header("Connection") or "").lower() == "close", r
        assert c.is_closed(timeout=3)


def test_headers_over_8k_get_431_and_log_nothing(server, bin_path):
    big = b"X-Big: " + b"a" * 9000 + b"\r\n"
    rejected_and_closed(server.addr, b"GET / HTTP/1.1\r\nHost: h\r\n" + big + b"\r\n", 431)
    assert_nothing_logged(bin_path, server)


def test_many_small_headers_over_8k_get_431_and_log_nothing(server, bin_path):
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 80) for i in range(120))
    rejected_and_closed(server.addr, b"GET / HTTP/1.1\r\nHost: h\r\n" + many + b"\r\n", 431)
    assert_nothing_logged(bin_path, server)


def test_header_line_longer_than_read_buffer_gets_431(server, bin_path):
    big = b"X-Huge: " + b"a" * 40000 + b"\r\n"
    with RawConn(server.addr) as c:
        try:
            c.send(b"GET / HTTP/1.1\r\nHost: h\r\n" + big + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before taking it all
        r = c.read_response()
        assert r.status == 431
    assert_nothing_logged(bin_path, server)


def test_headers_just_under_8k_are_accepted(server, bin_path):
    r = get(server.addr, "/", extra=b"X-Big: " + b"a" * 7000 + b"\r\n")
    assert r.status == 200 and r.body == DEFAULT_BODY
    [ev] = tail_events(bin_path, server.data)
    assert ev["X-Big"] == "a" * 7000


def test_body_over_1mib_gets_413_and_logs_nothing(server, bin_path):
    rejected_and_closed(
        server.addr, b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n" + b"x" * 1000, 413
    )
    assert_nothing_logged(bin_path, server)


def test_small_body_is_read_and_dropped_keeping_the_connection_in_sync(server, bin_path):
    with RawConn(server.addr) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"
               b"GET /purchase_a_sword HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n0\r\n\r\n"
               b"GET /purchase_a_knife HTTP/1.1\r\nHost: h\r\n\r\n")
        assert [c.read_response().status for _ in range(3)] == [200, 200, 200]
    events = tail_events(bin_path, server.data)
    assert [e["event_type"] for e in events] == ["default", "purchase_sword", "purchase_knife"]


def test_content_length_with_transfer_encoding_gets_400_and_logs_nothing(server, bin_path):
    rejected_and_closed(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n",
        400,
    )
    assert_nothing_logged(bin_path, server)


@pytest.mark.parametrize(
    "garbage",
    [
        b"HELLO THERE\r\n\r\n",
        b"GET / FOO/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",  # a TLS hello
        b"GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n",
    ],
    ids=["words", "bad-version", "tls", "space-in-name", "bad-length"],
)
def test_garbage_request_gets_400_and_logs_nothing(server, bin_path, garbage):
    rejected_and_closed(server.addr, garbage, 400)
    assert_nothing_logged(bin_path, server)


def test_slowloris_gets_408_while_others_are_served_promptly(start_server, bin_path):
    server = start_server("--threads", "1", "--read-timeout-ms", "500")
    with RawConn(server.addr, timeout=5) as slow:
        slow.send(b"GET / HT")
        t0 = time.monotonic()
        # A normal client on the same (single) event loop is not held up.
        r = get(server.addr, "/purchase_a_sword", timeout=2)
        assert r.status == 200
        assert time.monotonic() - t0 < 1.0  # not held up behind the slow client
        resp = slow.read_response()
        waited = time.monotonic() - t0
        assert resp.status == 408, resp
        assert 0.4 <= waited <= 2.5, waited
        assert slow.is_closed(timeout=3)
    events = tail_events(bin_path, server.data)
    assert [e["event_type"] for e in events] == ["purchase_sword"]
    assert_nothing_logged(bin_path, server, before=1)


def test_dribbling_headers_do_not_extend_the_read_deadline(start_server, bin_path):
    server = start_server("--threads", "1", "--read-timeout-ms", "500")
    with RawConn(server.addr, timeout=5) as slow:
        slow.send(b"GET / HTTP/1.1\r\nHost: h\r\n")
        t0 = time.monotonic()
        got = None
        while time.monotonic() - t0 < 4:
            try:
                slow.send(b"X")
            except (BrokenPipeError, ConnectionResetError):
                break
            slow.sock.settimeout(0.1)
            try:
                chunk = slow.sock.recv(4096)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            slow.buf += chunk
            if b"\r\n\r\n" in slow.buf or not chunk:
                break
        got = slow.buf
        waited = time.monotonic() - t0
        assert got.startswith(b"HTTP/1.1 408 "), got
        assert waited <= 3.0, waited
    assert_nothing_logged(bin_path, server)


def test_fifth_connection_over_max_connections_gets_503_and_close(start_server, bin_path):
    server = start_server("--threads", "1", "--max-connections", "4")
    idle = [RawConn(server.addr) for _ in range(4)]
    try:
        # One listening socket: the kernel hands connections over in order, so the
        # first four are accepted (and idle) before the fifth.
        with RawConn(server.addr) as fifth:
            r = fifth.read_response()
            assert r.status == 503
            assert r.header("Retry-After") is not None
            assert (r.header("Connection") or "").lower() == "close"
            assert b"too many connections" in r.body
            assert fifth.is_closed(timeout=3)
        # The four idle connections are still good.
        idle[0].send(b"GET /purchase_a_sword HTTP/1.1\r\nHost: h\r\n\r\n")
        assert idle[0].read_response().status == 200
    finally:
        for c in idle:
            c.close()

    # Once they are gone there is room again (the server notices closes asynchronously).
    deadline = time.monotonic() + 3
    while True:
        r = get(server.addr, "/")
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.status == 200
    events = tail_events(bin_path, server.data)
    assert [e["event_type"] for e in events] == ["purchase_sword", "default"]


def test_idle_keepalive_connection_is_closed_after_idle_timeout(start_server, bin_path):
    server = start_server("--threads", "1", "--idle-timeout-ms", "500")
    with RawConn(server.addr) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.read_response().status == 200
        t0 = time.monotonic()
        assert c.is_closed(timeout=3), "idle keep-alive connection was not closed"
        waited = time.monotonic() - t0
        assert 0.4 <= waited <= 2.5, waited
        assert c.buf == b""  # closed silently, no 408 for a connection between requests
    assert len(tail_events(bin_path, server.data)) == 1


def test_connection_that_never_sends_is_closed_after_idle_timeout(start_server, bin_path):
    server = start_server("--threads", "1", "--idle-timeout-ms", "500")
    with RawConn(server.addr) as c:
        t0 = time.monotonic()
        assert c.is_closed(timeout=3)
        assert time.monotonic() - t0 <= 2.5
        assert c.buf == b""
    assert_nothing_logged(bin_path, server)


def test_client_vanishing_mid_request_logs_nothing(server, bin_path):
    for partial in (b"GET / HTTP/1.1\r\nHost: h\r\n", b"GET /purch", b"GET / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"):
        s = socket.create_connection(server.addr, timeout=3)
        s.sendall(partial)
        s.close()
    # Many clients resetting at once.
    def reset_client():
        s = socket.create_connection(server.addr, timeout=3)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall(b"GET / HTTP/1.1\r\nHo")
        s.close()

    threads = [threading.Thread(target=reset_client) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert_nothing_logged(bin_path, server)


def test_bad_request_in_a_pipeline_answers_the_good_ones_first(server, bin_path):
    with RawConn(server.addr) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: 1\r\n\r\n"
               b"GET /purchase_a_sword HTTP/1.1\r\nHost: h\r\nX-Request-Id: 2\r\n\r\n"
               b"BOGUS\r\n\r\n"
               b"GET /purchase_a_knife HTTP/1.1\r\nHost: h\r\nX-Request-Id: 3\r\n\r\n")
        assert c.read_response().status == 200
        assert c.read_response().status == 200
        assert c.read_response().status == 400
        assert c.is_closed(timeout=3)
    events = tail_events(bin_path, server.data)
    assert [e["X-Request-Id"] for e in events] == ["1", "2"]


def test_hostile_clients_give_their_connection_slots_back(start_server, bin_path):
    server = start_server("--threads", "2", "--max-connections", "4", "--read-timeout-ms", "500")
    hostile = [
        b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HELLO\r\n\r\n",
        b"GET /nope HTTP/1.1\r\nHost: h\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    ]
    for _ in range(5):
        for data in hostile:
            with RawConn(server.addr) as c:
                c.send(data)
                c.read_response()
        for partial in (b"GET / HT", b""):  # clients that leave mid-request or at once
            s = socket.create_connection(server.addr, timeout=3)
            if partial:
                s.sendall(partial)
            s.close()

    # All 4 slots come back (closes are noticed asynchronously).
    def four_at_once():
        conns = [RawConn(server.addr) for _ in range(4)]
        try:
            for i, c in enumerate(conns):
                c.send(f"GET / HTTP/1.1\r\nHost: h\r\nX-Slot: {i}\r\n\r\n".encode())
            return all(c.read_response().status == 200 for c in conns)
        except (OSError, EOFError):
            return False
        finally:
            for c in conns:
                c.close()

    deadline = time.monotonic() + 3
    while not four_at_once():
        assert time.monotonic() < deadline, "connection slots leaked"
        time.sleep(0.1)


def test_client_still_sending_a_rejected_body_reads_the_whole_413(server, bin_path):
    """The server rejects at the header but the client keeps sending its 2 MB
    body; the 413 must still reach it whole (no reset destroying it)."""
    s = socket.create_connection(server.addr, timeout=5)
    s.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n")

    def send_body():
        try:
            for _ in range(250):
                s.sendall(b"x" * 8000)
        except OSError:
            pass  # the server closed its side after draining for a while

    t = threading.Thread(target=send_body)
    t.start()
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"bytes\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    t.join(timeout=10)
    s.close()
    assert data.startswith(b"HTTP/1.1 413 "), data[:200]
    assert data.endswith(b"the body exceeds 1048576 bytes\n"), data[-200:]
    assert_nothing_logged(bin_path, server)
