"""The HTTP contract of `questlog serve`: what the seed's Flask app answers, byte
for byte, and exactly which requests become events."""

import http.client
import json
import socket
import subprocess

import pytest

from conftest import (
    DEFAULT_BODY,
    HTML,
    KNIFE_BODY,
    SWORD_BODY,
    RawConn,
    raw_exchange,
    run_questlog,
    assert_nothing_logged,
    tail_events,
    tail_lines,
)


def http_get(server, path, method="GET", headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def pairs(line: bytes):
    """The event's (key, value) pairs in order, duplicates kept."""
    return json.loads(line, object_pairs_hook=lambda p: [list(kv) for kv in p])


@pytest.mark.parametrize(
    "path,body,event_type",
    [
        ("/", DEFAULT_BODY, "default"),
        ("/purchase_a_sword", SWORD_BODY, "purchase_sword"),
        ("/purchase_a_knife", KNIFE_BODY, "purchase_knife"),
    ],
    ids=["default", "sword", "knife"],
)
def test_routes_answer_seed_bodies_and_log_one_event(server, bin_path, path, body, event_type):
    status, headers, got = http_get(server, path, headers={"Host": "user1.comcast.com"})
    assert status == 200
    assert got == body
    assert headers["Content-Type"] == HTML
    assert headers["Content-Length"] == str(len(body))
    [ev] = tail_events(bin_path, server.data)
    assert ev["event_type"] == event_type
    assert ev["Host"] == "user1.comcast.com"
    assert ev["Accept-Encoding"] == "identity"  # what http.client sends, as Werkzeug shows it


@pytest.mark.parametrize("path", ["/nope", "/purchase_a_sword/", "/Purchase_a_sword", "/purchase_a_swordx"])
def test_unknown_paths_are_404_and_log_nothing(server, bin_path, path):
    status, headers, body = http_get(server, path)
    assert status == 404
    assert b"Not Found" in body
    assert_nothing_logged(bin_path, server)


def test_post_on_get_route_is_405_with_allow_and_logs_nothing(server, bin_path):
    status, headers, body = http_get(server, "/", method="POST", body=b"x=1",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 405
    allow = {m.strip() for m in headers["Allow"].split(",")}
    assert allow == {"GET", "HEAD", "OPTIONS"}
    assert_nothing_logged(bin_path, server)


def test_head_runs_the_view_logs_an_event_and_sends_no_body(server, bin_path):
    with RawConn(server.addr) as c:
        c.send(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
        r = c.read_response(head_request=True)
        assert r.status == 200
        assert r.header("Content-Type") == HTML
        # A body would arrive as stray bytes before the next response.
        c.send(b"GET /purchase_a_sword HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        r2 = c.read_response()
        assert r2.status == 200 and r2.body == SWORD_BODY
    events = tail_events(bin_path, server.data)
    assert [e["event_type"] for e in events] == ["default", "purchase_sword"]


def test_options_answers_allow_and_logs_nothing(server, bin_path):
    status, headers, body = http_get(server, "/purchase_a_knife", method="OPTIONS")
    assert status == 200
    assert {m.strip() for m in headers["Allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}
    assert body == b""
    assert_nothing_logged(bin_path, server)


def test_query_string_is_ignored_for_matching(server, bin_path):
    status, _, body = http_get(server, "/purchase_a_sword?color=red&n=2")
    assert status == 200 and body == SWORD_BODY
    status, _, body = http_get(server, "/?")
    assert status == 200 and body == DEFAULT_BODY
    events = tail_events(bin_path, server.data)
    assert [e["event_type"] for e in events] == ["purchase_sword", "default"]


def test_percent_encoded_path_matches_decoded_route(server, bin_path):
    status, _, body = http_get(server, "/purchase%5Fa%5Fsword")
    assert status == 200 and body == SWORD_BODY


def test_http10_without_keepalive_closes_after_response(server, bin_path):
    with RawConn(server.addr) as c:
        c.send(b"GET / HTTP/1.0\r\nHost: h\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.body == DEFAULT_BODY
        assert c.is_closed(timeout=3)
    assert len(tail_lines(bin_path, server.data)) == 1


def test_http10_keepalive_keeps_the_connection(server, bin_path):
    with RawConn(server.addr) as c:
        for _ in range(3):
            c.send(b"GET / HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n")
            r = c.read_response()
            assert r.status == 200 and r.body == DEFAULT_BODY
            assert (r.header("Connection") or "").lower() == "keep-alive"
    assert len(tail_lines(bin_path, server.data)) == 3


def test_http11_keepalive_carries_many_requests_on_one_connection(server, bin_path):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        local = None
        for i in range(50):
            conn.request("GET", "/purchase_a_sword" if i % 2 else "/", headers={"X-N": str(i)})
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.read() == (SWORD_BODY if i % 2 else DEFAULT_BODY)
            assert resp.getheader("Connection") is None or resp.getheader("Connection").lower() != "close"
            name = conn.sock.getsockname()
            assert local in (None, name), "the connection was reopened"
            local = name
    finally:
        conn.close()
    events = tail_events(bin_path, server.data)
    assert [e["X-N"] for e in events] == [str(i) for i in range(50)]


def test_pipelined_requests_are_answered_in_order(server, bin_path):
    paths = ["/", "/purchase_a_sword", "/nope", "/purchase_a_knife", "/"] * 4
    reqs = b"".join(f"GET {p} HTTP/1.1\r\nHost: h\r\nX-Seq: {i}\r\n\r\n".encode() for i, p in enumerate(paths))
    expected = {"/": DEFAULT_BODY, "/purchase_a_sword": SWORD_BODY, "/purchase_a_knife": KNIFE_BODY}
    with RawConn(server.addr) as c:
        c.send(reqs)
        for p in paths:
            r = c.read_response()
            if p == "/nope":
                assert r.status == 404
            else:
                assert r.status == 200 and r.body == expected[p]
    events = tail_events(bin_path, server.data)
    logged = [str(i) for i, p in enumerate(paths) if p != "/nope"]
    assert [e["X-Seq"] for e in events] == logged


def test_header_names_are_canonicalised_like_werkzeug(server, bin_path):
    raw = (b"GET / HTTP/1.1\r\nhost: h\r\nx-custom-thing: a\r\ndnt: 1\r\nX-REQUESTED-WITH: b\r\n"
           b"content-md5: c\r\nx-b3-traceid: d\r\nx-1abc: e\r\nX-Empty:\r\nConnection: close\r\n\r\n")
    assert raw_exchange(server.addr, raw).status == 200
    [line] = tail_lines(bin_path, server.data)
    assert pairs(line) == [
        ["event_type", "default"],
        ["Host", "h"],
        ["X-Custom-Thing", "a"],
        ["Dnt", "1"],
        ["X-Requested-With", "b"],
        ["Content-Md5", "c"],
        ["X-B3-Traceid", "d"],  # str.title(): a letter after a non-letter is upper-cased
        ["X-1Abc", "e"],
        ["X-Empty", ""],
        ["Connection", "close"],
    ]


def test_repeated_headers_are_joined_with_comma_space(server, bin_path):
    raw = (b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nAccept: a\r\n"
           b"x-forwarded-for: 2.2.2.2\r\nX-Forwarded-For: 3.3.3.3\r\nConnection: close\r\n\r\n")
    assert raw_exchange(server.addr, raw).status == 200
    [line] = tail_lines(bin_path, server.data)
    p = pairs(line)
    assert ["X-Forwarded-For", "1.1.1.1, 2.2.2.2, 3.3.3.3"] in p
    assert [k for k, _ in p].count("X-Forwarded-For") == 1


@pytest.mark.parametrize("name", [b"event_type", b"Event_Type", b"EVENT_TYPE", b"Event-Type"])
def test_header_cannot_override_route_event_type(server, bin_path, name):
    raw = b"GET /purchase_a_sword HTTP/1.1\r\nHost: h\r\n" + name + b": spoofed\r\nConnection: close\r\n\r\n"
    assert raw_exchange(server.addr, raw).status == 200
    [line] = tail_lines(bin_path, server.data)
    p = pairs(line)
    assert [k for k, _ in p].count("event_type") == 1
    assert p[0] == ["event_type", "purchase_sword"]
    assert json.loads(line)["event_type"] == "purchase_sword"


def test_header_cannot_override_route_description(server, bin_path):
    raw = b"GET /purchase_a_knife HTTP/1.1\r\nHost: h\r\ndescription: blunt\r\nConnection: close\r\n\r\n"
    assert raw_exchange(server.addr, raw).status == 200
    [line] = tail_lines(bin_path, server.data)
    assert json.loads(line)["description"] == "very sharp knife"


def test_header_differing_only_in_case_from_a_route_field_is_dropped(server, bin_path):
    """`curl -H "Description: x"` must not log a `Description` next to the route's
    `description`: Spark refuses a table with both (COLUMN_ALREADY_EXISTS)."""
    r = subprocess.run(["curl", "-sS", "-H", "Description: x", "-H", "DESCRIPTION: y",
                        f"{server.url}/purchase_a_knife"], capture_output=True, timeout=10)
    assert r.returncode == 0 and r.stdout == KNIFE_BODY, r
    [line] = tail_lines(bin_path, server.data)
    p = pairs(line)
    assert [k for k, _ in p if k.lower() == "description"] == ["description"], p
    assert p[:2] == [["event_type", "purchase_knife"], ["description", "very sharp knife"]]


def test_headers_differing_only_in_case_are_one_header(server, bin_path):
    raw = (b"GET / HTTP/1.1\r\nHost: h\r\ndnt: 1\r\nAccept: a\r\nDNT: 2\r\nDnT: 3\r\n"
           b"x_tag: a\r\nX-TAG: b\r\nConnection: close\r\n\r\n")
    assert raw_exchange(server.addr, raw).status == 200
    [line] = tail_lines(bin_path, server.data)
    assert pairs(line) == [["event_type", "default"], ["Host", "h"], ["Dnt", "1, 2, 3"],
                           ["Accept", "a"], ["X-Tag", "a, b"], ["Connection", "close"]]


def test_non_utf8_header_bytes_give_valid_utf8_json_latin1_mapped(server, bin_path):
    raw = (b"GET / HTTP/1.1\r\nHost: h\r\nX-Bin: \xff\xfe\r\nX-Utf: caf\xc3\xa9\r\n"
           b"X-Quote: a\"b\\c\r\nConnection: close\r\n\r\n")
    assert raw_exchange(server.addr, raw).status == 200
    [line] = tail_lines(bin_path, server.data)
    text = line.decode("utf-8")  # strict: raises on invalid UTF-8
    ev = json.loads(text)
    assert ev["X-Bin"] == "\u00ff\u00fe"
    assert ev["X-Utf"] == "caf\u00e9"
    assert ev["X-Quote"] == 'a"b\\c'


ROUTES_OK = """\
[[route]]
path = "/x"
body = "ok\\n"
methods = ["GET", "POST"]
status = 201
content_type = "text/plain; charset=utf-8"
event = { event_type = "x", level = 3, vip = true }
"""


def test_custom_routes_file_serves_and_logs_its_event(start_server, bin_path, tmp_path):
    routes = tmp_path / "routes.toml"
    routes.write_text(ROUTES_OK)
    server = start_server("--routes", str(routes))
    assert str(routes) in server.stderr
    status, headers, body = http_get(server, "/x", method="POST", body=b"a=1",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 201
    assert body == b"ok\n"
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    status, _, body = http_get(server, "/x")
    assert status == 201 and body == b"ok\n"
    # The built-in routes are replaced, not merged.
    status, _, _ = http_get(server, "/purchase_a_sword")
    assert status == 404
    lines = tail_lines(bin_path, server.data)
    assert len(lines) == 2
    p = pairs(lines[0])
    assert p[:3] == [["event_type", "x"], ["level", 3], ["vip", True]]
    assert json.loads(lines[0])["Content-Type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "text,line_no,needle",
    [
        ('[[route]]\npath = "/x"\ncolour = "red"\n', 3, "colour"),
        ('[[route]]\npath = "/x"\nbody = "ok\n', 3, None),  # unterminated string
        ('[[route]]\npath = "x"\n', 2, "path"),
        ('[[route]]\npath = "/x"\nstatus = 404\n', 3, "status"),
        ('[[route]]\npath = "/x"\n\n[[route]]\npath = "/x"\n', 4, "duplicate"),
        ('[[rout]]\npath = "/x"\n', 1, "rout"),
    ],
)
def test_broken_routes_file_fails_with_one_error_line(bin_path, tmp_path, data_dir, text, line_no, needle):
    routes = tmp_path / "bad_routes.toml"
    routes.write_text(text)
    r = run_questlog(bin_path, "serve", "--listen", "127.0.0.1:0", "--data", str(data_dir),
                     "--routes", str(routes), timeout=10)
    assert r.returncode != 0
    assert r.stdout == b""
    err = r.stderr.decode()
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("questlog: ")
    assert f"{routes}:{line_no}" in err, err
    if needle:
        assert needle in err, err


@pytest.mark.parametrize(
    "fields,line_no,what",
    [
        ('event = { event_type = "x", "" = "y" }', 6, "event field name must not be empty"),
        ('[route.event]\n"a\\u0000b" = 1', 7,
         "event field name 'a\\u0000b' must not contain control characters"),
        ('[route.event]\ndescription = "a"\nDescription = "b"', 8,
         "event fields 'description' and 'Description' differ only in case, "
         "which Spark does not allow"),
    ],
    ids=["empty", "nul", "case"],
)
def test_routes_file_with_an_impossible_field_name_fails_naming_the_route(
        bin_path, tmp_path, data_dir, fields, line_no, what):
    routes = tmp_path / "routes.toml"
    routes.write_text('[[route]]\npath = "/"\n\n[[route]]\npath = "/x"\n' + fields + "\n")
    r = run_questlog(bin_path, "serve", "--listen", "127.0.0.1:0", "--data", str(data_dir),
                     "--routes", str(routes), timeout=10)
    assert r.returncode != 0
    assert r.stderr.decode() == f"questlog: {routes}:{line_no}: route /x: {what}\n"


def test_missing_routes_file_fails_with_one_error_line(bin_path, tmp_path, data_dir):
    missing = tmp_path / "nope.toml"
    r = run_questlog(bin_path, "serve", "--listen", "127.0.0.1:0", "--data", str(data_dir),
                     "--routes", str(missing), timeout=10)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert err.startswith("questlog: ") and err.count("\n") == 1 and str(missing) in err, err


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--listen", "nonsense"], "--listen"),
        (["--listen", "127.0.0.1:99999"], "port"),
        (["--listen", "999.1.1.1:0"], "address"),
        (["--durability", "sometimes"], "--durability"),
        (["--segment-bytes", "10"], "--segment-bytes"),
        (["--topic", "a/b"], "topic"),
        (["--no-such-flag"], "no-such-flag"),
    ],
)
def test_serve_bad_arguments_fail_with_one_error_line(bin_path, data_dir, args, needle):
    base = ["serve", "--data", str(data_dir)]
    if "--listen" not in args:
        base += ["--listen", "127.0.0.1:0"]
    r = run_questlog(bin_path, *base, *args, timeout=10)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert err.startswith("questlog: ") and err.count("\n") == 1, err
    assert needle in err, err


def test_serve_with_data_that_is_a_file_fails_with_one_error_line(bin_path, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    r = run_questlog(bin_path, "serve", "--listen", "127.0.0.1:0", "--data", str(f), timeout=10)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert err.startswith("questlog: ") and err.count("\n") == 1 and str(f) in err, err


def test_expect_100_continue_is_answered_before_the_body(server, bin_path):
    """A client that asks to continue (curl does for bodies over 1 KiB) gets
    100 Continue at once instead of waiting out its own timeout."""
    s = socket.create_connection(server.addr, timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
    s.settimeout(0.5)
    interim = s.recv(100)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n", interim
    s.settimeout(5)
    s.sendall(b"hello")
    data = b""
    while not data.endswith(DEFAULT_BODY):
        chunk = s.recv(4096)
        assert chunk, data
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert tail_events(bin_path, server.data)[-1]["Expect"] == "100-continue"


def test_a_204_route_sends_no_content_length_and_keeps_the_connection(start_server, bin_path, tmp_path):
    """RFC 9110 8.6: no Content-Length in a 204; a keep-alive client reads the
    next response on the same connection."""
    routes = tmp_path / "routes.toml"
    routes.write_text('[[route]]\npath = "/seen"\nstatus = 204\nevent = { event_type = "seen" }\n')
    server = start_server("--routes", str(routes))
    with RawConn(server.addr) as c:
        for _ in range(2):
            c.send(b"GET /seen HTTP/1.1\r\nHost: h\r\n\r\n")
            head = c.read_until(b"\r\n\r\n").decode().lower()
            assert head.startswith("http/1.1 204 no content\r\n"), head
            assert "content-length" not in head and "content-type" not in head, head
    assert [json.loads(x)["event_type"] for x in tail_lines(bin_path, server.data)] == ["seen", "seen"]
