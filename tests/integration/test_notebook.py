"""notebooks/seed_analysis.ipynb, executed headless (nbclient, a real ipykernel) on the
seed session's tables: once on the local lake questlog wrote, once on the tables the
same jobs wrote to the test HDFS (extract --lake webhdfs://...; the notebook reads them
with QUESTLOG_LAKE=webhdfs://..., Spark over hdfs://). The
checks are on what it computed (its results.json and its printed answers: rows per
table, purchases per host, events per minute and type), and on the PNG plots."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import nbformat
import pyarrow.parquet as pq
import pytest
from nbclient import NotebookClient

from conftest import log_seed_session, run_questlog

pytest.register_assert_rewrite("hdfs_cluster")
from hdfs_cluster import Hdfs  # noqa: E402

pytest_plugins = ["hdfs_cluster"]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "seed_analysis.ipynb"
TABLES = ("sword_purchases", "default_hits", "purchases")


@pytest.fixture(scope="module")
def seed_data(bin_path, tmp_path_factory) -> Path:
    """The seed's session (10 default hits and 10 sword purchases from each of two
    hosts, 5 knives) in an embedded log."""
    return log_seed_session(bin_path, tmp_path_factory.mktemp("seed") / "data")


def run_seed_jobs(bin_path: str, data: Path, lake: str) -> None:
    """The seed's two writing jobs, into `lake` (a directory or a webhdfs:// URI)."""
    for job in ("separate_events.toml", "filtered_writes.toml"):
        r = run_questlog(bin_path, "extract", str(REPO / "jobs" / job), "--data", str(data),
                         "--lake", lake, timeout=60)
        assert r.returncode == 0, r.stderr.decode()


@pytest.fixture(scope="module")
def seed_lake(bin_path, seed_data: Path, tmp_path_factory) -> Path:
    """The seed's jobs' tables in a local lake."""
    lake = tmp_path_factory.mktemp("seed-lake") / "lake"
    run_seed_jobs(bin_path, seed_data, str(lake))
    return lake


def expected_per_minute(lake: Path) -> list[dict]:
    """Events per minute and type, counted here with pyarrow alone."""
    counts: dict[tuple[str, str], int] = {}
    for table in ("sword_purchases", "default_hits"):
        t = pq.read_table(lake / table).to_pydict()
        for ts, kind in zip(t["timestamp"], t["event_type"]):
            minute = ts.replace(second=0, microsecond=0).isoformat()
            counts[(minute, kind)] = counts.get((minute, kind), 0) + 1
    return [{"minute": m, "event_type": k, "events": n} for (m, k), n in sorted(counts.items())]


def execute(tmp: Path, monkeypatch, lake: str, **env: str) -> tuple[dict, str, Path]:
    """Runs every cell in a fresh kernel whose working directory is notebooks/, as
    JupyterLab does. Returns results.json, the text the cells printed, and the
    output directory. Jupyter, IPython, matplotlib and Spark keep their files in `tmp`."""
    out = tmp / "out"
    for name, value in {
        "QUESTLOG_LAKE": lake,
        "QUESTLOG_NOTEBOOK_OUT": str(out),
        "JUPYTER_RUNTIME_DIR": str(tmp / "jupyter-runtime"),
        "IPYTHONDIR": str(tmp / "ipython"),
        "MPLCONFIGDIR": str(tmp / "matplotlib"),
        "SPARK_LOCAL_DIRS": str(tmp / "spark"),
        **env,
    }.items():
        monkeypatch.setenv(name, value)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    try:
        client.execute()
    finally:
        nbformat.write(nb, tmp / "executed.ipynb")  # for a look after a failure
    text = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o.output_type != "error", f"{o.ename}: {o.evalue}"
            if o.output_type == "stream":
                text.append(o.text)
            elif "text/plain" in o.get("data", {}):
                text.append(o["data"]["text/plain"])
    return json.loads((out / "results.json").read_text()), "\n".join(text), out


def check(results: dict, printed: str, out: Path, lake: Path) -> None:
    # The seed session's numbers, as a person would read them off the notebook.
    assert results["rows"] == {"sword_purchases": 20, "default_hits": 20, "purchases": 20}
    assert results["purchases_by_host"] == {"user1.comcast.com": 10, "user2.att.com": 10}
    assert results["events_by_type"] == {"default": 20, "purchase_sword": 20}
    assert results["events_per_minute"] == expected_per_minute(lake)
    assert "Spark, DuckDB and pandas agree on 60 rows in 3 tables:" in printed, printed[-3000:]
    assert "  user1.comcast.com: 10\n  user2.att.com: 10\n" in printed
    for name in ("events_per_minute.png", "purchases_by_host.png"):
        png = (out / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", name
        width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
        assert width >= 400 and height >= 200, (name, width, height)


def test_notebook_on_the_local_lake(seed_lake: Path, tmp_path: Path, monkeypatch):
    results, printed, out = execute(tmp_path, monkeypatch, str(seed_lake))
    assert results["lake"] == str(seed_lake)
    assert f"lake: the local directory {seed_lake}" in printed
    check(results, printed, out, seed_lake)


def test_notebook_on_hdfs(bin_path, seed_data: Path, seed_lake: Path, hdfs: Hdfs, tmp_path: Path,
                         monkeypatch):
    lake = f"{hdfs.webhdfs}/tmp/notebook-lake"
    run_seed_jobs(bin_path, seed_data, lake)
    for table in TABLES:
        names = sorted(e["pathSuffix"] for e in hdfs.list(f"/tmp/notebook-lake/{table}"))
        assert len(names) == 2 and names[0] == "_SUCCESS", names  # part file + _SUCCESS
    results, printed, out = execute(tmp_path, monkeypatch, lake, QUESTLOG_HDFS=hdfs.rpc)
    assert results["lake"] == lake
    assert f"lake: HDFS {lake} (Spark: {hdfs.rpc}/tmp/notebook-lake" in printed, printed[:2000]
    check(results, printed, out, seed_lake)
