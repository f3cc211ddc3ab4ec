"""questlog ls [LAKE] on a local lake: the tables under it (nested paths, partitioned
tables, _rejected), with rows read from the Parquet footers of any writer's files
(ours, pyarrow's with many row groups), files, bytes and last write time, in
aligned columns; a damaged file is named and shown as "?". (The same on HDFS is in
test_hdfs_lake.py.)"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import append_raw, write_job

REPO = Path(__file__).resolve().parents[2]

JOB = """
[[tables]]
name = "swords"
path = "shop/swords"
where = { event_type = "purchase_sword" }

[[tables]]
name = "by_type"
path = "by_type"
partition_by = ["event_type"]
"""


def ls(bin_path: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([bin_path, "ls", *args], stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=30, cwd=cwd, env={**os.environ, "TZ": "UTC"})


def test_ls_lists_every_table_with_rows_files_bytes_and_last_write(bin_path, tmp_path: Path):
    data, lake = tmp_path / "data", tmp_path / "lake"
    append_raw(bin_path, data, [
        b'{"event_type":"purchase_sword","Host":"a"}',
        b'{"event_type":"purchase_sword","Host":"b"}',
        b'{"event_type":"default","Host":"a"}',
        b'not json',
    ])
    job = write_job(tmp_path, "shop", JOB)
    started = time.time()
    r = subprocess.run([bin_path, "extract", str(job), "--data", str(data), "--lake", str(lake)],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    # A table another writer made: pyarrow, ten row groups.
    (lake / "other").mkdir()
    pq.write_table(pa.table({"n": list(range(1000))}), lake / "other" / "data.parquet",
                   row_group_size=100)
    # Not tables: an empty directory, hidden ones, stray files at the top.
    (lake / "empty").mkdir()
    (lake / ".hidden" / "t").mkdir(parents=True)
    (lake / ".hidden" / "t" / "_SUCCESS").touch()
    (lake / "README").write_text("hello\n")
    finished = time.time()

    out = ls(bin_path, str(lake))
    assert out.returncode == 0, out.stderr.decode()
    lines = out.stdout.decode().splitlines()
    assert lines[0] == "Found 4 tables"
    header, *table_lines = lines[1:]
    assert header.split() == ["rows", "files", "bytes", "last", "write", "table"]
    got, when = {}, set()
    for line in table_lines:
        f = line.split()
        got[f[5]] = (int(f[0]), int(f[1]), int(f[2]))
        when.add(f"{f[3]} {f[4]}")
    size = lambda p: sum(f.stat().st_size for f in p.rglob("*.parquet"))  # noqa: E731
    assert got == {
        f"{lake}/_rejected/shop": (1, 1, size(lake / "_rejected" / "shop")),
        f"{lake}/by_type": (3, 2, size(lake / "by_type")),
        f"{lake}/other": (1000, 1, size(lake / "other")),
        f"{lake}/shop/swords": (2, 1, size(lake / "shop" / "swords")),
    }, got
    minutes = {time.strftime("%Y-%m-%d %H:%M", time.gmtime(t)) for t in (started, finished)}
    assert when <= minutes, (when, minutes)  # UTC (TZ), to the minute, as hadoop fs -ls
    # Sorted by path; every column starts where its header does.
    assert [line.split()[5] for line in table_lines] == sorted(got)
    for line in table_lines:
        assert len(line) - len(line.split()[5]) == len(header) - len("table"), (header, line)


def test_ls_defaults_to_lake_and_names_tables_as_given(bin_path, tmp_path: Path):
    (tmp_path / "lake" / "t").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1, 2, 3]}), tmp_path / "lake" / "t" / "part-0.parquet")
    out = ls(bin_path, cwd=tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.decode().splitlines()[2].endswith("  lake/t")
    assert out.stdout.decode().splitlines()[2].split()[0] == "3"


def test_a_damaged_file_is_named_and_its_table_shows_unknown_rows(bin_path, tmp_path: Path):
    lake = tmp_path / "lake"
    (lake / "t").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1, 2, 3]}), lake / "t" / "part-0.parquet")
    (lake / "t" / "part-1.parquet").write_bytes(b"PAR1 this is not a footer")
    out = ls(bin_path, str(lake))
    assert out.returncode == 1
    assert out.stdout.decode().splitlines()[2].split()[:2] == ["?", "2"]
    assert out.stderr.decode() == (f"questlog: {lake}/t/part-1.parquet: not a Parquet file: no PAR1 "
                                   "at its end\n")


def test_a_missing_lake_is_one_line(bin_path, tmp_path: Path):
    out = ls(bin_path, str(tmp_path / "nope"))
    assert out.returncode == 1
    assert out.stdout == b""
    assert out.stderr.decode() == f"questlog: {tmp_path}/nope: no such directory\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    out = ls(bin_path, str(empty))
    assert out.returncode == 0 and out.stdout.decode().splitlines()[0] == "Found 0 tables"


def test_ls_never_follows_a_link_in_the_lake(bin_path, tmp_path: Path):
    lake, elsewhere = tmp_path / "lake", tmp_path / "elsewhere"
    (elsewhere / "t").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), elsewhere / "t" / "part-0.parquet")
    lake.mkdir()
    (lake / "evil").symlink_to(elsewhere)
    out = ls(bin_path, str(lake))
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.decode().splitlines()[0] == "Found 0 tables"
