"""Keys no table can hold as they are: keys that differ only in case (Spark refuses
the table, DuckDB silently renames one) and the empty key. Events from any
producer may carry them (older questlog logs, other Kafka producers); extract
renames the later spellings and sends records with an empty key to _rejected,
so every table opens in every reader with every value where it was logged.
(test_spark_reads.py opens such a table in Spark.)"""

from __future__ import annotations

import duckdb
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from conftest import append_raw, extract, extract_ok, write_job

SPARK_NOTE = "it differs from {} only in case, which Spark does not allow"


def renamed(table: str, column: str, to: str, kept: str) -> str:
    return f"questlog: table {table}: column {column} renamed to {to}: " + SPARK_NOTE.format(kept)


def rows_by_offset(table) -> list[dict]:
    """The table's rows without `timestamp`, in log order (by `n`)."""
    rows = [{k: v for k, v in r.items() if k != "timestamp"} for r in table.to_pylist()]
    return sorted(rows, key=lambda r: r["n"])


def test_keys_differing_only_in_case_become_renamed_columns_with_their_values(bin_path, tmp_path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    append_raw(bin_path, data, [
        # One record with both spellings, as serve logged `curl -H "Description: x"`.
        b'{"n":0,"event_type":"purchase_knife","description":"very sharp knife","Description":"x"}',
        # A third spelling in a later record, next to a real key that looks like a renamed one.
        b'{"n":1,"DESCRIPTION":"y","description__2":"real","Event_Type":"z","event_type":"b"}',
        # Case beyond ASCII, as Java lower-cases it for Spark: E WITH ACUTE, KELVIN SIGN.
        '{"n":2,"épée":1,"ÉPÉE":2,"\u212aey":"kelvin","key":"k","Timestamp":"own"}'.encode(),
    ])
    job = write_job(tmp_path, "names", '[[tables]]\nname = "t"\npath = "t"\n')
    r = extract_ok(bin_path, job, data, lake)
    err = r.stderr.decode()
    notes = [
        # description__2 is a key of the table, so Description takes the next number.
        renamed("t", "Description", "Description__3", "description"),
        renamed("t", "DESCRIPTION", "DESCRIPTION__4", "description"),
        renamed("t", "Event_Type", "Event_Type__2", "event_type"),
        renamed("t", "ÉPÉE", "ÉPÉE__2", "épée"),
        renamed("t", "key", "key__2", "\u212aey"),
        # The table's own ingest time came first.
        renamed("t", "Timestamp", "Timestamp__2", "timestamp"),
    ]
    for note in notes:
        assert note + "\n" in err, err
    assert err.count(" renamed to ") == len(notes), err

    want_columns = sorted(["n", "event_type", "description", "Description__3", "DESCRIPTION__4",
                           "description__2", "Event_Type__2", "épée", "ÉPÉE__2", "\u212aey",
                           "key__2", "Timestamp__2", "timestamp"])
    want_rows = [
        {"n": 0, "event_type": "purchase_knife", "description": "very sharp knife",
         "Description__3": "x"},
        {"n": 1, "DESCRIPTION__4": "y", "description__2": "real", "Event_Type__2": "z",
         "event_type": "b"},
        {"n": 2, "épée": 1, "ÉPÉE__2": 2, "\u212aey": "kelvin", "key__2": "k",
         "Timestamp__2": "own"},
    ]
    for row in want_rows:
        for c in want_columns:
            row.setdefault(c, None)
        del row["timestamp"]

    table = pq.read_table(lake / "t")
    assert table.column_names == want_columns
    assert rows_by_offset(table) == want_rows

    # DuckDB keeps every name as written (it renames duplicates it finds, silently).
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{lake / 't'}/*.parquet')")
    assert rel.columns == want_columns
    got = [{k: v for k, v in zip(rel.columns, row) if k != "timestamp"} for row in rel.fetchall()]
    assert sorted(got, key=lambda r: r["n"]) == want_rows


def test_the_rename_follows_log_order_and_names_partition_directories(bin_path, tmp_path):
    """The spelling seen first keeps the name, whichever it is; a partition column is
    a column too (Spark would read the directory's value in place of the file's)."""
    data, lake = tmp_path / "data", tmp_path / "lake"
    append_raw(bin_path, data, [
        b'{"n":0,"Level":1,"event_type":"a"}',
        b'{"n":1,"level":2,"Event_Type":"b","event_type":"a"}',
        b'{"n":2,"LEVEL":3,"event_type":"c"}',
    ])
    job = write_job(tmp_path, "order", """
[[tables]]
name = "by_type"
path = "by_type"
partition_by = ["event_type"]
""")
    err = extract_ok(bin_path, job, data, lake).stderr.decode()
    assert renamed("by_type", "level", "level__2", "Level") + "\n" in err, err
    assert renamed("by_type", "LEVEL", "LEVEL__3", "Level") + "\n" in err, err
    assert renamed("by_type", "Event_Type", "Event_Type__2", "event_type") + "\n" in err, err
    assert sorted(p.name for p in (lake / "by_type").iterdir() if p.is_dir()) == [
        "event_type=a", "event_type=c"]
    table = pads.dataset(lake / "by_type", partitioning="hive").to_table()
    assert sorted(table.column_names) == sorted(
        ["Event_Type__2", "LEVEL__3", "Level", "level__2", "n", "timestamp", "event_type"])
    rows = rows_by_offset(table)
    assert [(r["Level"], r["level__2"], r["LEVEL__3"]) for r in rows] == [
        (1, None, None), (None, 2, None), (None, None, 3)]
    assert [(r["event_type"], r["Event_Type__2"]) for r in rows] == [
        ("a", None), ("a", "b"), ("c", None)]


def test_a_record_with_an_empty_key_is_rejected_and_the_job_writes_its_tables(bin_path, tmp_path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    append_raw(bin_path, data, [
        b'{"event_type":"purchase_sword","Host":"h"}',
        b'{"":"x"}',
        b'{"event_type":"purchase_sword","":"no name","Host":"h2"}',
        b'{"event_type":"default","nested":{"":"kept as JSON text"}}',
    ])
    job = write_job(tmp_path, "empty", """
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
[[tables]]
name = "all"
path = "all"
""")
    r = extract(bin_path, job, data, lake)
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert pq.read_table(lake / "swords").column("Host").to_pylist() == ["h"]
    everything = pq.read_table(lake / "all")
    assert everything.column("event_type").to_pylist() == ["purchase_sword", "default"]
    assert everything.column("nested").to_pylist() == [None, '{"":"kept as JSON text"}']

    rejected = pq.read_table(lake / "_rejected" / "empty").to_pylist()
    assert [(x["offset"], x["raw"]) for x in rejected] == [
        (1, '{"":"x"}'), (2, '{"event_type":"purchase_sword","":"no name","Host":"h2"}')]
    assert {x["error"] for x in rejected} == {"empty key: a column cannot have an empty name"}
    assert ("questlog: 2 records rejected (the first at offset 1: empty key: a column cannot "
            f"have an empty name) -> {lake / '_rejected' / 'empty'}\n") in err, err

    strict = extract(bin_path, job, data, tmp_path / "lake2", "--strict")
    assert strict.returncode == 1
    assert strict.stderr.decode() == (
        "questlog: offset 1: empty key: a column cannot have an empty name (--strict)\n")
