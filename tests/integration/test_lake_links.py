"""Symbolic links inside the lake (issue 8, defect 4): questlog never follows one.

A table path that meets a link (`lake/evil -> outside`, `path = "evil/sub"`), a
table directory that is itself a link, or a link inside a table: every mode
refuses with one line naming the link and exits non-zero. Links planted in
questlog's own staging area are removed as links by recovery, never followed.
In every case the directory the link points to keeps exactly the files it had.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from conftest import run_questlog

REFUSAL = "questlog never follows links inside the lake"


def append_raw_bin(bin_path: str) -> str:
    path = Path(bin_path).parent / "append_raw"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: it is built with the unit tests (tests/tools/append_raw.cpp)")
    return str(path)


def seed(bin_path: str, data: Path, n: int = 100) -> None:
    r = subprocess.run([append_raw_bin(bin_path), "--seed", str(n), str(data)],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr


def job(tmp: Path, path: str, mode: str, partition_by: str = "") -> Path:
    p = tmp / f"links_{mode}.toml"
    p.write_text(f"""
[[tables]]
name = "t"
path = "{path}"
where = {{ event_type = "purchase_sword" }}
mode = "{mode}"
{f'partition_by = ["{partition_by}"]' if partition_by else ''}
""")
    return p


def extract(bin_path: str, job_file: Path, data: Path, lake: Path) -> subprocess.CompletedProcess:
    return run_questlog(bin_path, "extract", str(job_file), "--data", str(data), "--lake", str(lake),
                        "--show", "0", timeout=30)


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry under `root` (not following links): files by content, the rest by kind."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link -> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = p.read_bytes()
    return out


@pytest.fixture
def outside(tmp_path) -> Path:
    """A directory outside the lake holding a table-looking `sub/` and a file."""
    d = tmp_path / "outside"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "part-00000-precious-c000.snappy.parquet").write_bytes(b"not questlog's")
    (d / "sub" / "_SUCCESS").write_bytes(b"")
    (d / "notes.txt").write_text("keep me\n")
    return d


def assert_refused(r: subprocess.CompletedProcess, link: Path) -> None:
    err = r.stderr.decode()
    assert r.returncode != 0, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("questlog: "), err
    assert f"{link} is a symbolic link" in lines[0], err
    assert REFUSAL in lines[0], err


@pytest.mark.parametrize("mode", ["overwrite", "append", "incremental"])
def test_a_table_path_through_a_link_is_refused(bin_path, tmp_path, outside, mode):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed(bin_path, data)
    lake.mkdir()
    (lake / "evil").symlink_to(outside)
    before = snapshot(outside)

    r = extract(bin_path, job(tmp_path, "evil/sub", mode), data, lake)
    assert_refused(r, lake / "evil")
    assert snapshot(outside) == before
    assert (lake / "evil").is_symlink()  # the user's link is left alone too


@pytest.mark.parametrize("mode", ["overwrite", "append", "incremental"])
def test_a_table_directory_that_is_a_link_is_refused(bin_path, tmp_path, outside, mode):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed(bin_path, data)
    lake.mkdir()
    (lake / "t").symlink_to(outside / "sub")
    before = snapshot(outside)

    r = extract(bin_path, job(tmp_path, "t", mode), data, lake)
    assert_refused(r, lake / "t")
    assert snapshot(outside) == before
    assert (lake / "t").is_symlink()


def test_a_partition_directory_that_is_a_link_is_refused(bin_path, tmp_path, outside):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed(bin_path, data)
    (lake / "t").mkdir(parents=True)
    (lake / "t" / "event_type=purchase_sword").symlink_to(outside / "sub")
    before = snapshot(outside)

    r = extract(bin_path, job(tmp_path, "t", "append", partition_by="event_type"), data, lake)
    assert_refused(r, lake / "t" / "event_type=purchase_sword")
    assert snapshot(outside) == before


@pytest.mark.parametrize("planted, mode", [
    ("overwrite-0b5e6c1e", "overwrite"),      # an unfinished run: recovery deletes it
    ("append-0b5e6c1e.ready", "append"),      # a ready run: recovery publishes its files
    ("overwrite-0b5e6c1e.ready", "append"),   # a ready table: recovery moves it in
])
def test_a_link_planted_in_staging_is_removed_not_followed(bin_path, tmp_path, outside, planted,
                                                           mode):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed(bin_path, data)
    (lake / ".staging" / "t").mkdir(parents=True)
    (lake / ".staging" / "t" / planted).symlink_to(outside)
    before = snapshot(outside)

    r = extract(bin_path, job(tmp_path, "t", mode), data, lake)
    assert r.returncode == 0, r.stderr.decode()
    assert snapshot(outside) == before
    assert not (lake / ".staging" / "t" / planted).is_symlink()
    assert not (lake / "t").is_symlink()
    assert pads.dataset(lake / "t", format="parquet").count_rows() == 40  # 2 of every 5 are swords


def test_a_staging_directory_that_is_a_link_is_refused(bin_path, tmp_path, outside):
    data, lake = tmp_path / "data", tmp_path / "lake"
    seed(bin_path, data)
    (lake / ".staging").mkdir(parents=True)
    (lake / ".staging" / "t").symlink_to(outside)
    before = snapshot(outside)

    r = extract(bin_path, job(tmp_path, "t", "overwrite"), data, lake)
    assert_refused(r, lake / ".staging" / "t")
    assert snapshot(outside) == before


def test_the_lake_itself_may_be_a_link(bin_path, tmp_path):
    """The user chose the lake: a link there is followed, once, as before."""
    data, real = tmp_path / "data", tmp_path / "real_lake"
    seed(bin_path, data)
    real.mkdir()
    (tmp_path / "lake").symlink_to(real)
    r = extract(bin_path, job(tmp_path, "t", "overwrite"), data, tmp_path / "lake")
    assert r.returncode == 0, r.stderr.decode()
    assert pads.dataset(real / "t", format="parquet").count_rows() == 40
