"""The example game (config/guild_game.toml, jobs/guild_game.toml) with real
clients: curl, Python requests and http.client, ab -p for the POSTed inventory.
Every event is exactly what the routes file promises; every bad request gets its
4xx and logs nothing; the tables have one column type per parameter type, as
pyarrow and DuckDB read them (Spark: test_spark_reads.py)."""

from __future__ import annotations

import datetime
import http.client
import json

import pyarrow.parquet as pq
import pytest

from conftest import (
    CURL_UA,
    GUILD_GAME,
    GUILD_GAME_JOB,
    INVENTORY,
    ab_post,
    assert_nothing_logged,
    curl,
    extract_ok,
    play_guild_game,
    run_questlog,
    tail_events,
    tail_lines,
)

GAME, JOB, UA = GUILD_GAME, GUILD_GAME_JOB, CURL_UA


@pytest.fixture
def game(start_server):
    return start_server("--routes", str(GAME), "--threads", "2")


def pairs(line: bytes) -> list:
    return json.loads(line, object_pairs_hook=lambda p: [list(kv) for kv in p])


def test_curl_events_are_the_route_fields_then_parameters_then_headers(game, bin_path):
    host = f"127.0.0.1:{game.port}"
    assert curl(game.url + "/purchase_a_sword/longsword?color=red&quantity=2&price=9.5&junk=1") == (
        200, b"Sword Purchased!\n")
    assert curl(game.url + "/purchase_a_knife/dagger?quantity=3") == (200, b"Knife Purchased!\n")
    assert curl(game.url + "/join_guild/Knights%20of%20Ni?officer=TRUE&level=7&level=8") == (
        200, b"Joined the guild!\n")
    assert curl(game.url + "/purchase_a_sword") == (200, b"Sword Purchased!\n")  # the seed's
    headers = [["Host", host], ["Accept", "*/*"], ["User-Agent", UA]]  # curl sends its -H last
    assert [pairs(line) for line in tail_lines(bin_path, game.data)] == [
        [["event_type", "purchase_sword"], ["sword_type", "longsword"], ["color", "red"],
         ["quantity", 2], ["price", 9.5], *headers],
        [["event_type", "purchase_knife"], ["knife_type", "dagger"], ["quantity", 3], *headers],
        [["event_type", "join_guild"], ["guild_name", "Knights of Ni"], ["officer", True],
         ["level", 7], *headers],
        [["event_type", "purchase_sword"], *headers],
    ]


def test_ab_posts_the_inventory_snapshot(game, bin_path):
    ab_post(game.url + "/inventory/alice", 40, concurrency=4)
    snapshot = json.loads(INVENTORY.read_bytes())
    events = tail_events(bin_path, game.data)
    assert len(events) == 40
    want = {"event_type": "inventory_snapshot", "player": "alice", **snapshot,
            "Host": "user1.comcast.com", "User-Agent": "ApacheBench/2.3", "Accept": "*/*",
            "Content-Length": str(INVENTORY.stat().st_size), "Content-Type": "application/json"}
    assert all(e == want for e in events), events[0]


def test_python_clients_and_chunked_bodies(game, bin_path):
    requests = pytest.importorskip("requests")
    r = requests.post(game.url + "/inventory/bob?ignored=1", json={"gold": 7, "bag": {"slots": 3}},
                      headers={"User-Agent": UA}, timeout=5)
    assert (r.status_code, r.text) == (200, "Inventory saved!\n")
    # A generator body goes out chunked (Transfer-Encoding: chunked).
    chunks = (part for part in [b'{"gold":', b' 8, "hp"', b': 1.5}'])
    r = requests.post(game.url + "/inventory/carol", data=chunks, headers={"User-Agent": UA},
                      timeout=5)
    assert r.status_code == 200, r.text
    conn = http.client.HTTPConnection("127.0.0.1", game.port, timeout=5)
    conn.request("POST", "/inventory/dave", body=iter([b'{"gold"', b":9}"]),
                  headers={"User-Agent": UA, "Transfer-Encoding": "chunked"}, encode_chunked=True)
    assert conn.getresponse().read() == b"Inventory saved!\n"
    conn.close()
    events = tail_events(bin_path, game.data)
    assert [{k: v for k, v in e.items() if k in ("player", "gold", "bag", "hp")} for e in events] == [
        {"player": "bob", "gold": 7, "bag": {"slots": 3}},
        {"player": "carol", "gold": 8, "hp": 1.5},
        {"player": "dave", "gold": 9},
    ]
    assert events[0]["Content-Type"] == "application/json"
    assert events[1]["Transfer-Encoding"] == "chunked"


def test_expect_100_continue_body(game, bin_path):
    body = json.dumps({"items": ["torch"] * 600, "gold": 1})
    assert len(body) > 4096
    status, _ = curl(game.url + "/inventory/erin", "-H", "Expect: 100-continue",
                     "-H", "Content-Type: application/json", "--data-binary", body)
    assert status == 200
    [e] = tail_events(bin_path, game.data)
    assert e["items"] == ["torch"] * 600 and e["gold"] == 1 and e["player"] == "erin"


def test_no_client_sets_event_type_or_a_parameter_from_another_source(game, bin_path):
    status, _ = curl(game.url + "/inventory/alice?event_type=q&player=q",
                     "-H", "Event_Type: h", "-H", "Player: h", "-H", "GOLD: h",
                     "--data-binary", '{"event_type":"free_gold","player":"mallory","gold":1}')
    assert status == 200
    [e] = tail_lines(bin_path, game.data)
    got = pairs(e)
    assert got[:3] == [["event_type", "inventory_snapshot"], ["player", "alice"], ["gold", 1]]
    assert ["Event-Type", "h"] in got  # another name: Werkzeug's '-' is not '_'
    assert not any(k in ("Player", "GOLD", "Gold") for k, _ in got), got


BAD = [
    # (method, path, body, status, response body)
    ("GET", "/purchase_a_sword/longsword?quantity=two", None, 400,
     b'Bad Request: query parameter quantity: "two" is not an int\n'),
    ("GET", "/purchase_a_sword/longsword?quantity=99999999999999999999", None, 400,
     b'Bad Request: query parameter quantity: "99999999999999999999" is out of range for an int '
     b'(64 bits)\n'),
    ("GET", "/purchase_a_sword/longsword?price=inf", None, 400,
     b'Bad Request: query parameter price: "inf" is not a float\n'),
    ("GET", "/join_guild/Ni?officer=maybe", None, 400,
     b'Bad Request: query parameter officer: "maybe" is not a bool (true, false, 1 or 0)\n'),
    ("GET", "/purchase_a_sword/a%2Fb", None, 404, None),
    ("GET", "/purchase_a_sword/", None, 404, None),
    ("GET", "/join_guild/", None, 404, None),
    ("GET", "/join_guild//", None, 404, None),
    ("POST", "/inventory/alice", b"[]", 400,
     b"Bad Request: the body is an array, not a JSON object\n"),
    ("POST", "/inventory/alice", b"", 400,
     b"Bad Request: the body is empty; this route takes a JSON object\n"),
    ("POST", "/inventory/alice", b'{"gold":1,"gold":2}', 400,
     b'Bad Request: the JSON body has the key "gold" twice\n'),
    ("POST", "/inventory/alice", b'{"gold":1,"Gold":2}', 400,
     b'Bad Request: the JSON body has the keys "gold" and "Gold", which differ only in case '
     b'(Spark does not allow both)\n'),
    ("POST", "/inventory/alice", b'{"":1}', 400,
     b"Bad Request: the JSON body has an empty key, which no column can have\n"),
    ("POST", "/inventory/alice", b'{"zone":"\xff"}', 400,
     b"Bad Request: the body is not valid UTF-8\n"),
    ("POST", "/inventory/alice", b'{"gold":', 400, None),
    ("POST", "/inventory/alice", b'{"deep":' + b"[" * 5000 + b"]" * 5000 + b"}", 400, None),
    ("GET", "/inventory/alice", None, 405, None),
    ("POST", "/purchase_a_sword/longsword", b"{}", 405, None),
]


def test_bad_requests_get_their_4xx_and_log_nothing(game, bin_path):
    # One keep-alive connection: a 400 leaves it open for the next request.
    conn = http.client.HTTPConnection("127.0.0.1", game.port, timeout=5)
    for method, path, body, status, text in BAD:
        conn.request(method, path, body=body,
                     headers={"Content-Type": "application/json"} if body is not None else {})
        resp = conn.getresponse()
        got = resp.read()
        assert resp.status == status, (method, path, body and body[:40], got)
        if text is not None:
            assert got == text
        if status == 400:
            assert resp.getheader("Content-Type") == "text/plain; charset=utf-8"
            assert resp.getheader("Connection") is None  # still open
            if text is None:
                assert got.startswith(b"Bad Request: the body is not valid JSON: "), got
    conn.close()
    # Past the body limit: 413, as on any route.
    conn = http.client.HTTPConnection("127.0.0.1", game.port, timeout=5)
    conn.request("POST", "/inventory/alice", body=b"{" + b" " * (1 << 20) + b"}")
    assert conn.getresponse().status == 413
    conn.close()
    assert_nothing_logged(bin_path, game)


def test_routes_files_that_cannot_serve_are_refused_with_one_line(bin_path, tmp_path):
    cases = {
        "[[route]]\npath = \"/sword/{kind}\"\n\n[[route]]\npath = \"/sword/{type}\"\n":
            "route /sword/{type} is ambiguous with route /sword/{kind} (line 1): both match "
            "/sword/x; a path must match one route only",
        "[[route]]\npath = \"/guild/{guild_name}\"\n[[route]]\npath = \"/guild/new\"\n":
            "route /guild/new is ambiguous with route /guild/{guild_name} (line 1): both match "
            "/guild/new; a path must match one route only",
        "[[route]]\npath = \"/{Event_Type}\"\nevent = { event_type = \"x\" }\n":
            "route /{Event_Type}: event field 'event_type' and path parameter 'Event_Type' differ "
            "only in case, which Spark does not allow",
        "[[route]]\npath = \"/x\"\nquery = [\"qty\"]\ntypes = { qty = \"integer\" }\n":
            "route /x: the type of 'qty' must be \"string\", \"int\", \"float\" or \"bool\"",
    }
    for i, (text, why) in enumerate(cases.items()):
        routes = tmp_path / f"r{i}.toml"
        routes.write_text(text)
        r = run_questlog(bin_path, "serve", "--listen", "127.0.0.1:0", "--data",
                         str(tmp_path / "data"), "--routes", str(routes))
        assert r.returncode != 0
        lines = r.stderr.decode().splitlines()
        assert len(lines) == 1 and str(routes) in lines[0] and lines[0].endswith(why), lines


# ------------------------------------------------------------------- tables


def test_the_tables_have_a_column_type_per_parameter_type(game, bin_path, tmp_path):
    import duckdb
    import pyarrow.parquet as pq

    play_guild_game(game.url)
    lake = tmp_path / "lake"
    r = extract_ok(bin_path, JOB, game.data, lake)
    assert b"table inventory_snapshots: 5 rows" in r.stderr, r.stderr

    want = {
        "sword_purchases": {"sword_type": "string", "color": "string", "quantity": "int64",
                            "price": "double", "event_type": "string"},
        "knife_purchases": {"knife_type": "string", "quantity": "int64", "description": "string"},
        "guild_joins": {"guild_name": "string", "officer": "bool", "level": "int64"},
        "inventory_snapshots": {"player": "string", "gold": "int64", "level": "int64",
                                "hp": "double", "online": "bool", "potions": "int64",
                                "sword": "string", "items": "string", "zone": "string"},
    }
    duck = {"string": "VARCHAR", "int64": "BIGINT", "double": "DOUBLE", "bool": "BOOLEAN"}
    for table, columns in want.items():
        path = lake / "guild_game" / table
        schema = pq.read_table(path).schema
        got = {name: str(schema.field(name).type) for name in columns}
        assert got == columns, table
        described = {row[0]: row[1] for row in
                     duckdb.sql(f"DESCRIBE SELECT * FROM '{path}/*.parquet'").fetchall()}
        assert {name: described[name] for name in columns} == {
            name: duck[t] for name, t in columns.items()}, table

    swords = pq.read_table(lake / "guild_game" / "sword_purchases").to_pylist()
    assert sorted((s["sword_type"], s["quantity"], s["price"]) for s in swords) == (
        [("katana", 1, None)] + [("longsword", 2, 9.5)] * 10)
    joins = duckdb.sql(f"SELECT guild_name, officer, level FROM "
                       f"'{lake}/guild_game/guild_joins/*.parquet' ORDER BY guild_name").fetchall()
    assert joins == [("Camelot", False, None), ("Knights of Ni", True, 7)]
    inv = pq.read_table(lake / "guild_game" / "inventory_snapshots").to_pylist()
    snapshot = json.loads(INVENTORY.read_bytes())
    for row in inv:
        assert json.loads(row["sword"]) == snapshot["sword"]  # nested: JSON text
        assert json.loads(row["items"]) == snapshot["items"]
        assert (row["gold"], row["hp"], row["online"]) == (4031, 87.5, True)


def test_a_thousand_query_parameters(start_server, bin_path, tmp_path):
    """A `query = "*"` route takes 1,000 parameters as 1,000 keys, a thousand repeats as
    one (the first), and a target past the header limit gets 431 and logs nothing."""
    routes = tmp_path / "all.toml"
    routes.write_text('[[route]]\npath = "/"\n\n[[route]]\npath = "/all/{p}"\nquery = "*"\n'
                      'event = { event_type = "all" }\n')
    server = start_server("--routes", str(routes))
    names = "&".join(str(i) for i in range(1000))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)

    def status(target: str) -> int:
        conn.request("GET", target, headers={"User-Agent": UA})
        resp = conn.getresponse()
        resp.read()
        return resp.status

    assert status("/all/x?" + names) == 200
    assert status("/all/y?" + "&".join(f"{'K' if i % 2 else 'k'}={i}" for i in range(1000))) == 200
    assert status("/all/z?" + "&".join(f"param{i}={i}" for i in range(1000))) == 431
    conn.close()
    first, second = tail_lines(bin_path, server.data)
    got = pairs(first)
    assert got[:2] == [["event_type", "all"], ["p", "x"]]
    assert got[2:1002] == [[str(i), ""] for i in range(1000)]
    assert pairs(second)[:3] == [["event_type", "all"], ["p", "y"], ["k", "0"]]
    assert not any(k in ("k", "K") for k, _ in pairs(second)[3:])


def test_a_clients_timestamp_is_kept_beside_the_ingest_time(start_server, bin_path, tmp_path):
    """Every table has `timestamp`, the ingest time. A client's own `timestamp` (a query
    parameter on a `query = "*"` route, a body member, a `Timestamp` header) is logged as
    `<spelling>__2` and reaches the table under that name, rather than vanishing behind
    the ingest time (or being answered 400)."""
    routes = tmp_path / "all.toml"
    routes.write_text('[[route]]\npath = "/"\n\n[[route]]\npath = "/all"\nquery = "*"\n'
                      'event = { event_type = "all" }\n\n'
                      '[[route]]\npath = "/body"\nrequest_body = "json"\n'
                      'event = { event_type = "body" }\n')
    server = start_server("--routes", str(routes))
    assert curl(server.url + "/all?timestamp=client-1&n=1") == (200, b"")
    assert curl(server.url + "/body", "-d", '{"TimeStamp": 1700000000, "n": 2}') == (200, b"")
    assert curl(server.url + "/", "-H", "timestamp: 12:00") == (200, b"")
    events = tail_events(bin_path, server.data)
    assert [{k: v for k, v in e.items() if k.lower().startswith("timestamp")} for e in events] == [
        {"timestamp__2": "client-1"}, {"TimeStamp__2": 1700000000}, {"Timestamp__2": "12:00"}]

    job = tmp_path / "job.toml"
    job.write_text('[[tables]]\nname = "all"\npath = "all"\nwhere = { event_type = "all" }\n')
    lake = tmp_path / "lake"
    extract_ok(bin_path, job, server.data, lake)
    rows = pq.read_table(lake / "all").to_pylist()
    assert [r["timestamp__2"] for r in rows] == ["client-1"]
    assert all(isinstance(r["timestamp"], datetime.datetime) for r in rows)
