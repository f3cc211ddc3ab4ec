"""`questlog extract --follow --lake webhdfs://...`: a follower keeping tables on a real
HDFS (the `hdfs` fixture, Hadoop's MiniDFSCluster) current as `serve` logs events.

A Delta table and a plain incremental Parquet table: records served while the
follower runs reach them; SIGTERM commits what the log holds and exits 0; and a
follower killed with SIGKILL at random points while `serve` takes tagged requests,
then started again, leaves every 200 the job's filter selects in both tables
exactly once. The tables are downloaded over WebHDFS (Hdfs.get_tree) and read with
delta-rs (`deltalake`) and pyarrow, not with anything of ours.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import wait_for, write_job
from test_follow import (SWORDS, Follower, TaggedClient, followers,  # noqa: F401
                         kill_at_random_points, serve_tagged)

pytest.register_assert_rewrite("hdfs_cluster")
from hdfs_cluster import Hdfs, WebHdfsError  # noqa: E402

pytest_plugins = ["hdfs_cluster"]

deltalake = pytest.importorskip("deltalake")  # tests/requirements.txt installs it

# The swords twice: a Delta table, and a plain incremental one (offsets in its file names).
SWORDS_TWICE = SWORDS + """
[[tables]]
name = "plain_swords"
path = "plain_swords"
where = { event_type = "purchase_sword" }
mode = "incremental"
"""


def lake_of(hdfs: Hdfs, name: str) -> str:
    return f"{hdfs.webhdfs}/tmp/follow_hdfs/{name}"


def download(hdfs: Hdfs, lake: str, table: str, dest: Path) -> Path | None:
    """A copy of the table, or None when there is none yet (or it changed while being
    copied: a commit renamed a file away)."""
    path = lake.removeprefix(hdfs.webhdfs) + "/" + table
    shutil.rmtree(dest, ignore_errors=True)
    try:
        hdfs.get_tree(path, dest)
    except WebHdfsError as e:
        if e.status == 404:
            return None
        raise
    return dest


def delta_tags(hdfs: Hdfs, lake: str, tmp: Path) -> list[str] | None:
    """The X-Tag column of the lake's Delta table `swords` (None: not readable yet)."""
    copy = download(hdfs, lake, "swords", tmp / "copy_swords")
    if copy is None or not (copy / "_delta_log" / f"{0:020d}.json").exists():
        return None
    try:
        t = deltalake.DeltaTable(str(copy)).to_pyarrow_table()
    except (OSError, deltalake.exceptions.DeltaError):
        return None  # copied between a commit's listing and its files: copy again
    return t.column("X-Tag").to_pylist() if "X-Tag" in t.column_names else []


def plain_tags(hdfs: Hdfs, lake: str, tmp: Path) -> list[str] | None:
    """The X-Tag column of the lake's plain table `plain_swords` (None: none yet)."""
    copy = download(hdfs, lake, "plain_swords", tmp / "copy_plain")
    if copy is None or not any(copy.rglob("*.parquet")):
        return None
    t = pq.read_table(copy)
    return t.column("X-Tag").to_pylist() if "X-Tag" in t.column_names else []


def wait_for_tags(hdfs: Hdfs, lake: str, tmp: Path, want: list[str], timeout: float = 60) -> None:
    """Waits (bounded) until both tables hold exactly `want`, each once."""
    def both() -> bool:
        d = delta_tags(hdfs, lake, tmp)
        p = plain_tags(hdfs, lake, tmp)
        return d is not None and p is not None and sorted(d) == sorted(want) == sorted(p)
    wait_for(both, timeout, interval=0.3, what=f"{len(want)} tags in both tables of {lake}")


def test_records_served_while_following_reach_the_tables_on_hdfs(
        bin_path, server, hdfs, tmp_path, followers):
    lake = lake_of(hdfs, "reach")
    job = write_job(tmp_path, "follow", SWORDS_TWICE)
    f = Follower(bin_path, job, server.data, lake, "--trigger", "500ms")
    followers.append(f)
    swords = serve_tagged(server.addr, 20, "a")
    serve_tagged(server.addr, 7, "h", "/")  # not selected by either table
    wait_for_tags(hdfs, lake, tmp_path, swords)
    swords += serve_tagged(server.addr, 5, "b")
    wait_for_tags(hdfs, lake, tmp_path, swords)
    assert f.stop() == 0, f.stderr
    assert "questlog: table swords: " in f.stderr and "(Delta version " in f.stderr, f.stderr
    assert f"-> {lake}/swords" in f.stderr, f.stderr
    assert "questlog: stopped following: read " in f.stderr, f.stderr


def test_sigterm_commits_what_the_log_holds_on_hdfs_and_exits_0(
        bin_path, server, hdfs, tmp_path, followers):
    lake = lake_of(hdfs, "term")
    job = write_job(tmp_path, "term", SWORDS_TWICE)
    swords = serve_tagged(server.addr, 5, "a")
    # A trigger longer than the test: the only commits are the first micro-batch
    # (at start) and the last one (at SIGTERM).
    f = Follower(bin_path, job, server.data, lake, "--trigger", "10m")
    followers.append(f)
    wait_for_tags(hdfs, lake, tmp_path, swords)
    swords += serve_tagged(server.addr, 6, "b")
    assert f.stop(signal.SIGTERM) == 0, f.stderr
    assert sorted(delta_tags(hdfs, lake, tmp_path)) == sorted(swords)
    assert sorted(plain_tags(hdfs, lake, tmp_path)) == sorted(swords)
    assert "2 micro-batches" in f.stderr, f.stderr


def test_followers_killed_at_random_points_leave_every_200_on_hdfs_once(
        bin_path, server, hdfs, tmp_path, followers):
    lake = lake_of(hdfs, "kills")
    job = write_job(tmp_path, "kills", SWORDS_TWICE)
    rng = random.Random(int(os.environ.get("FOLLOW_SEED", "17")))
    cycles = int(os.environ.get("FOLLOW_HDFS_CYCLES", "8"))
    with TaggedClient(server.addr) as client:
        kills = kill_at_random_points(followers, rng, cycles, (0.2, 2.5),
                                      bin_path, job, server.data, lake, "--trigger", "100ms")
    assert not client.errors, client.errors[:3]
    assert kills >= cycles * 0.75
    # A last follower catches up; SIGTERM commits the rest.
    f = Follower(bin_path, job, server.data, lake, "--trigger", "200ms")
    followers.append(f)
    wait_for_tags(hdfs, lake, tmp_path, client.acked, timeout=120)
    assert f.stop() == 0, f.stderr
    for got in (delta_tags(hdfs, lake, tmp_path), plain_tags(hdfs, lake, tmp_path)):
        assert len(got) == len(set(got)), "a row twice"
        assert sorted(got) == sorted(client.acked), f"{len(got)} rows for {len(client.acked)} 200s"
    assert len(client.acked) > 50
