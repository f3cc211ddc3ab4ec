"""Spark (pyspark, local mode) reads the Parquet files questlog writes, with the
types and exact values written: the third independent reader after pyarrow and
DuckDB. One SparkSession (conftest.py) serves every Spark test of the run (it takes ~10 s to start)."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def tools_dir() -> Path:
    return Path(os.environ.get("QUESTLOG_TOOLS_DIR") or REPO / "build")


def escape(s: str) -> str:
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c == "\\":
            out.append("\\\\")
        elif c == "\t":
            out.append("\\t")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif b < 0x20 or b >= 0x7F:
            out.append(f"\\x{b:02x}")
        else:
            out.append(c)
    return "".join(out)


def write(path: Path, columns: list[tuple[str, str]], rows: list[list], options: str) -> None:
    lines = [options, "\t".join(f"{escape(n)}:{t}" for n, t in columns)]
    for row in rows:
        fields = []
        for (_, t), v in zip(columns, row):
            if v is None:
                fields.append("\\N")
            elif t == "string":
                fields.append(escape(v))
            elif t == "float64":
                fields.append(float.hex(v))
            elif t == "boolean":
                fields.append("1" if v else "0")
            elif t == "timestamp":
                fields.append(str(v))
            else:
                fields.append(str(v))
        lines.append("\t".join(fields))
    r = subprocess.run(
        [str(tools_dir() / "write_parquet"), str(path)],
        input=("\n".join(lines) + "\n").encode(),
        capture_output=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr.decode()


COLUMNS = [
    ("Accept", "string"),
    ("description", "string"),
    ("level", "int64"),
    ("score", "float64"),
    ("won", "boolean"),
    ("timestamp", "timestamp"),
]


def random_rows(n: int, seed: int) -> list[list]:
    rng = random.Random(seed)
    words = ["*/*", "", "very sharp knife", "épée ⚔", "x" * 300, "moe", "a\tb\nc"]
    rows = []
    for i in range(n):
        rows.append(
            [
                rng.choice(words) if rng.random() > 0.1 else None,
                (rng.choice(words) + str(i)) if rng.random() > 0.5 else None,
                rng.randint(-(2**63), 2**63 - 1) if rng.random() > 0.2 else None,
                rng.uniform(-1e9, 1e9) if rng.random() > 0.2 else None,
                rng.random() > 0.5 if rng.random() > 0.2 else None,
                rng.randint(0, 4_000_000_000_000_000) if rng.random() > 0.05 else None,
            ]
        )
    return rows


def as_python(row: list) -> list:
    out = list(row)
    if out[5] is not None:
        out[5] = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=out[5])
    return out


@pytest.mark.parametrize("codec", ["snappy", "zstd", "uncompressed"])
def test_spark_reads_every_type_and_value(spark, tmp_path, codec):
    rows = random_rows(3000, seed=7)
    path = tmp_path / f"t.{codec}.parquet"
    # Small row groups and pages and dictionary: several of each, and the
    # dictionary falls back to plain part way.
    write(path, COLUMNS, rows,
          f"codec={codec} row_group_bytes=20000 page_bytes=4000 dictionary_page_bytes=2000")
    df = spark.read.parquet(str(path))
    assert [(f.name, f.dataType.simpleString()) for f in df.schema.fields] == [
        ("Accept", "string"),
        ("description", "string"),
        ("level", "bigint"),
        ("score", "double"),
        ("won", "boolean"),
        ("timestamp", "timestamp"),
    ]
    got = [list(r) for r in df.collect()]
    assert len(got) == len(rows)
    for i, (g, w) in enumerate(zip(got, map(as_python, rows))):
        assert g == w, f"row {i}: spark read {g!r}, wrote {w!r}"


def test_spark_reads_empty_and_all_null_columns(spark, tmp_path):
    path = tmp_path / "nulls.parquet"
    write(path, [("a", "string"), ("b", "int64")], [[None, None]] * 10, "codec=snappy")
    assert [list(r) for r in spark.read.parquet(str(path)).collect()] == [[None, None]] * 10
    empty = tmp_path / "empty.parquet"
    write(empty, [("a", "string")], [], "codec=snappy")
    assert spark.read.parquet(str(empty)).count() == 0


def test_spark_reads_the_seeds_tables_from_extract(spark, start_server, bin_path, data_dir, tmp_path):
    """The seed's session, then its separate_events and filtered_writes jobs; Spark
    reads the tables as the seed's notebook would."""
    import http.client

    server = start_server("--threads", "1")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    for host in ("user1.comcast.com", "user2.att.com"):
        for path in ("/", "/purchase_a_sword"):
            for _ in range(10):  # the headers ab sends, and no others
                conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
                for name, value in (("Host", host), ("User-Agent", "ApacheBench/2.3"),
                                    ("Accept", "*/*")):
                    conn.putheader(name, value)
                conn.endheaders()
                assert conn.getresponse().read()
    conn.request("GET", "/purchase_a_knife", headers={"Host": "user1.comcast.com"})
    assert conn.getresponse().read() == b"Knife Purchased!\n"
    conn.close()

    lake = tmp_path / "lake"
    for job in ("separate_events", "filtered_writes"):
        r = subprocess.run([bin_path, "extract", str(REPO / "jobs" / f"{job}.toml"),
                            "--data", str(data_dir), "--lake", str(lake), "--show", "0"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode()

    swords = spark.read.parquet(str(lake / "sword_purchases"))
    assert swords.columns == ["Accept", "Cache-Control", "Host", "User-Agent", "event_type",
                              "timestamp"]
    assert swords.schema["timestamp"].dataType.simpleString() == "timestamp"
    rows = swords.collect()
    assert len(rows) == 20
    assert {(r["Host"], r["Cache-Control"], r["event_type"]) for r in rows} == {
        ("moe", "no-cache", "purchase_sword")}
    assert spark.read.parquet(str(lake / "default_hits")).count() == 20
    # pandas (through pyarrow), as the seed's notebook would load a table.
    import pandas as pd

    frame = pd.read_parquet(lake / "sword_purchases")
    assert list(frame.columns) == swords.columns and len(frame) == 20
    assert str(frame["timestamp"].dtype).startswith("datetime64") and frame["timestamp"].dt.tz
    assert set(frame["Host"]) == {"moe"}

    purchases = spark.read.parquet(str(lake / "purchases"))
    assert sorted(r["Host"] for r in purchases.select("Host").collect()) == (
        ["user1.comcast.com"] * 10 + ["user2.att.com"] * 10)


def test_spark_reads_many_columns_and_long_strings(spark, tmp_path):
    columns = [(f"c{i:03d}", "string" if i % 2 else "int64") for i in range(200)]
    rng = random.Random(3)
    rows = []
    for r in range(40):
        row = []
        for i, (_, t) in enumerate(columns):
            if rng.random() < 0.2:
                row.append(None)
            elif t == "string":
                row.append(("ü" * rng.randint(0, 3)) + str(r * 1000 + i) * (1 + (i == 1) * 30000))
            else:
                row.append(rng.randint(-1000, 1000))
        rows.append(row)
    path = tmp_path / "wide.parquet"
    write(path, columns, rows, "codec=zstd row_group_bytes=100000")
    df = spark.read.parquet(str(path))
    assert df.columns == [n for n, _ in columns]
    assert [list(r) for r in df.collect()] == rows


def test_spark_opens_tables_whose_keys_differ_only_in_case(spark, bin_path, tmp_path):
    """Spark compares column names without case and refuses a table holding two
    that compare equal (COLUMN_ALREADY_EXISTS); extract renames the later spelling,
    in the files and in partition directories, and Spark reads every value."""
    from conftest import append_raw, extract_ok, write_job

    data, lake = tmp_path / "data", tmp_path / "lake"
    append_raw(bin_path, data, [
        b'{"n":0,"event_type":"purchase_knife","description":"very sharp knife","Description":"x"}',
        '{"n":1,"event_type":"a","Event_Type":"b","\u00e9p\u00e9e":1,"\u00c9P\u00c9E":2}'.encode(),
        '{"n":2,"event_type":"a","\u212aey":"kelvin","key":"k","Timestamp":"own"}'.encode(),
    ])
    job = write_job(tmp_path, "names", """
[[tables]]
name = "flat"
path = "flat"
[[tables]]
name = "by_type"
path = "by_type"
partition_by = ["event_type"]
""")
    extract_ok(bin_path, job, data, lake)
    want = {
        0: {"event_type": "purchase_knife", "description": "very sharp knife",
            "Description__2": "x"},
        1: {"event_type": "a", "Event_Type__2": "b", "\u00e9p\u00e9e": 1, "\u00c9P\u00c9E__2": 2},
        2: {"event_type": "a", "\u212aey": "kelvin", "key__2": "k", "Timestamp__2": "own"},
    }
    columns = {"n", "timestamp"} | {k for row in want.values() for k in row}
    for table in ("flat", "by_type"):
        df = spark.read.parquet(str(lake / table))
        assert set(df.columns) == columns, table
        got = {r["n"]: {k: v for k, v in r.asDict().items() if v is not None and k not in
                        ("n", "timestamp")} for r in df.collect()}
        assert got == want, table


def test_spark_reads_the_example_games_tables_with_typed_columns(spark, start_server, bin_path,
                                                                 data_dir, tmp_path):
    """The example game (config/guild_game.toml) played as the README tour plays it, then
    jobs/guild_game.toml: Spark sees an `int` parameter as bigint, a `float` one as
    double, a `bool` one as boolean, and the inventory's JSON types as they were sent."""
    from conftest import GUILD_GAME, GUILD_GAME_JOB, extract_ok, play_guild_game

    server = start_server("--routes", str(GUILD_GAME), "--threads", "1")
    play_guild_game(server.url)
    lake = tmp_path / "lake"
    extract_ok(bin_path, GUILD_GAME_JOB, data_dir, lake, "--show", "0")

    def types(table: str) -> dict:
        df = spark.read.parquet(str(lake / "guild_game" / table))
        return {f.name: f.dataType.simpleString() for f in df.schema.fields}

    assert {k: v for k, v in types("sword_purchases").items()
            if k in ("sword_type", "color", "quantity", "price", "timestamp")} == {
        "sword_type": "string", "color": "string", "quantity": "bigint", "price": "double",
        "timestamp": "timestamp"}
    assert {k: v for k, v in types("guild_joins").items()
            if k in ("guild_name", "officer", "level")} == {
        "guild_name": "string", "officer": "boolean", "level": "bigint"}
    assert {k: v for k, v in types("inventory_snapshots").items()
            if k in ("player", "gold", "hp", "online", "sword", "items")} == {
        "player": "string", "gold": "bigint", "hp": "double", "online": "boolean",
        "sword": "string", "items": "string"}

    swords = spark.read.parquet(str(lake / "guild_game" / "sword_purchases"))
    assert swords.where("quantity > 1").count() == 10  # a number, not a string
    assert swords.agg({"price": "sum"}).collect()[0][0] == 95.0
    joins = spark.read.parquet(str(lake / "guild_game" / "guild_joins"))
    assert sorted((r["guild_name"], r["officer"]) for r in joins.collect()) == [
        ("Camelot", False), ("Knights of Ni", True)]
    inv = spark.read.parquet(str(lake / "guild_game" / "inventory_snapshots"))
    row = inv.selectExpr("get_json_object(sword, '$.type') AS t", "gold + 1 AS g").first()
    assert (row["t"], row["g"]) == ("longsword", 4032)
