"""A real HDFS for the integration tests: Apache Hadoop's MiniDFSCluster (one
namenode, one datanode, permissions on) started by scripts/hdfs.sh on free
loopback ports in a temporary directory, once per session, stopped by pid.

A test module that needs it declares

    pytest_plugins = ["hdfs_cluster"]

and takes the `hdfs` fixture (an Hdfs). Being a plugin rather than a name imported
into each module, the fixture is one cluster for the whole session however many
modules use it. Its startup time is printed in the session's summary.

Hdfs offers what the tests need around it: the addresses (rpc, http, webhdfs),
Hadoop's own shell from the same jars (dfs: `hdfs dfs ...`), a small WebHDFS client
on http.client (the two-step CREATE included), and the faults scripts/hdfs.sh can
cause (datanode/namenode stop and start, stop, kill).
"""

from __future__ import annotations

import getpass
import http.client
import json
import os
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "hdfs.sh"


class WebHdfsError(AssertionError):
    def __init__(self, what: str, status: int, body: bytes):
        super().__init__(f"{what}: HTTP {status}: {body[:500]!r}")
        self.status = status
        self.body = body

    @property
    def exception(self) -> str:
        """HDFS's RemoteException class name (e.g. AccessControlException), or ''."""
        try:
            return json.loads(self.body)["RemoteException"]["exception"]
        except (ValueError, KeyError, TypeError):
            return ""


class Hdfs:
    """One cluster in its own directory, driven through scripts/hdfs.sh."""

    def __init__(self, root: Path):
        self.root = root
        self.rpc_port = 0
        self.http_port = 0
        self.startup_seconds: list[float] = []
        self.user = getpass.getuser()  # the superuser: the user running the namenode

    # ----------------------------------------------------------------- lifecycle

    def script(self, *args: str, timeout: float = 300.0, env: dict | None = None,
               check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(["bash", str(SCRIPT), *args], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout, env=env)
        if check and r.returncode != 0:
            raise AssertionError(f"hdfs.sh {' '.join(args)} failed (rc={r.returncode}): "
                                 f"{r.stderr.decode(errors='replace')[-3000:]}")
        return r

    def start(self) -> "Hdfs":
        """Starts it (ports picked by the kernel the first time, kept after) and
        waits until the namenode serves WebHDFS with the datanode registered."""
        t0 = time.monotonic()
        if self.rpc_port:
            out = self.script("start", str(self.root)).stdout.decode()
        else:
            out = self.script("start", str(self.root), "0", "0").stdout.decode()
        self.startup_seconds.append(time.monotonic() - t0)
        info = dict(line.split("=", 1) for line in out.split())
        self.rpc_port = int(info["rpc"].rsplit(":", 1)[1])
        self.http_port = int(info["http"].rsplit(":", 1)[1])
        return self

    def stop(self) -> None:
        self.script("stop", str(self.root))

    def kill(self) -> None:
        self.script("kill", str(self.root))

    def datanode(self, action: str) -> None:
        """'stop' or 'start' the datanode (it comes back on the same data port)."""
        self.script("datanode", str(self.root), action)

    def namenode(self, action: str) -> None:
        """'stop' or 'start' the namenode (it comes back on the same ports)."""
        self.script("namenode", str(self.root), action)

    def info(self) -> dict[str, str]:
        """The running cluster's addresses (rpc, http, datanode, datanode-http)."""
        out = self.script("info", str(self.root)).stdout.decode()
        return dict(line.split("=", 1) for line in out.split())

    def pid(self) -> int | None:
        try:
            pid = int((self.root / "pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None

    @property
    def log(self) -> str:
        return (self.root / "logs" / "hdfs.log").read_text(errors="replace")

    # ----------------------------------------------------------------- addresses

    @property
    def rpc(self) -> str:
        """The namenode's RPC address, what Spark and Hadoop's shell use: hdfs://127.0.0.1:P"""
        return f"hdfs://127.0.0.1:{self.rpc_port}"

    @property
    def webhdfs(self) -> str:
        """The namenode's HTTP address as Hadoop's webhdfs:// URI scheme names it."""
        return f"webhdfs://127.0.0.1:{self.http_port}"

    def url(self, path: str) -> str:
        return f"{self.rpc}{path}"

    # ----------------------------------------------------------------- Hadoop's shell

    def dfs(self, *args: str, user: str | None = None, check: bool = True,
            timeout: float = 120.0) -> subprocess.CompletedProcess:
        """`hdfs dfs ARGS` from the cluster's own jars, as `user` (default: the superuser)."""
        env = {**os.environ, "HDFS_DIR": str(self.root)}
        if user:
            env["HADOOP_USER_NAME"] = user
        return self.script("dfs", *args, env=env, check=check, timeout=timeout)

    def dfsadmin(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`hdfs dfsadmin ARGS` as the superuser, e.g. ("-safemode", "enter")."""
        env = {**os.environ, "HDFS_DIR": str(self.root)}
        return self.script("dfsadmin", *args, env=env, check=check, timeout=120)

    # ----------------------------------------------------------------- WebHDFS

    def request(self, method: str, path: str, op: str, user: str | None = None,
                body: bytes | None = None, port: int | None = None, host_path: str | None = None,
                **params) -> tuple[int, dict[str, str], bytes]:
        """One WebHDFS request to the namenode (or to `port`, with `host_path` as the
        full path and query, for the datanode step); no redirect is followed."""
        if host_path is None:
            query = urllib.parse.urlencode({"op": op, "user.name": user or self.user, **params})
            host_path = f"/webhdfs/v1{urllib.parse.quote(path)}?{query}"
        conn = http.client.HTTPConnection("127.0.0.1", port or self.http_port, timeout=60)
        try:
            conn.request(method, host_path, body=body,
                         headers={"Content-Type": "application/octet-stream"} if body is not None else {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def _follow(self, what: str, status: int, headers: dict, body: bytes) -> tuple[str, int, str]:
        if status != 307 or "location" not in headers:
            raise WebHdfsError(what, status, body)
        loc = urllib.parse.urlsplit(headers["location"])
        return loc.hostname or "", loc.port or 80, f"{loc.path}?{loc.query}"

    def create(self, path: str, data: bytes, user: str | None = None, overwrite: bool = True,
               permission: str | None = None) -> str:
        """The two-step CREATE: the namenode answers 307 with a datanode's address, the
        data goes there. Returns the datanode's host:port it was redirected to."""
        params = {"overwrite": str(overwrite).lower()}
        if permission:
            params["permission"] = permission
        host, port, target = self._follow(
            f"CREATE {path}", *self.request("PUT", path, "CREATE", user=user, **params))
        assert host == "127.0.0.1", f"redirected to {host}:{port}, not to loopback"
        status, _, body = self.request("PUT", path, "CREATE", body=data, port=port, host_path=target)
        if status != 201:
            raise WebHdfsError(f"CREATE {path} at the datanode 127.0.0.1:{port}", status, body)
        return f"{host}:{port}"

    def open(self, path: str, user: str | None = None) -> bytes:
        _, port, target = self._follow(f"OPEN {path}", *self.request("GET", path, "OPEN", user=user))
        status, _, body = self.request("GET", path, "OPEN", port=port, host_path=target)
        if status != 200:
            raise WebHdfsError(f"OPEN {path} at the datanode 127.0.0.1:{port}", status, body)
        return body

    def mkdirs(self, path: str, user: str | None = None, permission: str | None = None) -> None:
        params = {"permission": permission} if permission else {}
        status, _, body = self.request("PUT", path, "MKDIRS", user=user, **params)
        if status != 200 or not json.loads(body).get("boolean"):
            raise WebHdfsError(f"MKDIRS {path}", status, body)

    def list(self, path: str, user: str | None = None) -> list[dict]:
        status, _, body = self.request("GET", path, "LISTSTATUS", user=user)
        if status != 200:
            raise WebHdfsError(f"LISTSTATUS {path}", status, body)
        return json.loads(body)["FileStatuses"]["FileStatus"]

    def status(self, path: str, user: str | None = None) -> dict | None:
        status, _, body = self.request("GET", path, "GETFILESTATUS", user=user)
        if status == 404:
            return None
        if status != 200:
            raise WebHdfsError(f"GETFILESTATUS {path}", status, body)
        return json.loads(body)["FileStatus"]

    def delete(self, path: str, recursive: bool = True, user: str | None = None) -> bool:
        status, _, body = self.request("DELETE", path, "DELETE", user=user,
                                       recursive=str(recursive).lower())
        if status != 200:
            raise WebHdfsError(f"DELETE {path}", status, body)
        return json.loads(body)["boolean"]

    def put_tree(self, local: Path, path: str, user: str | None = None) -> int:
        """Copies the directory `local` to `path` (which must not exist) over WebHDFS,
        files and subdirectories alike; returns the number of files."""
        n = 0
        self.mkdirs(path, user=user)
        for p in sorted(local.rglob("*")):
            dest = f"{path}/{p.relative_to(local).as_posix()}"
            if p.is_dir():
                self.mkdirs(dest, user=user)
            else:
                self.create(dest, p.read_bytes(), user=user)
                n += 1
        return n

    def get_tree(self, path: str, dest: Path) -> None:
        """The tree at `path` on HDFS, copied to the local directory `dest` over WebHDFS."""
        dest.mkdir(parents=True, exist_ok=True)
        for e in self.list(path):
            name = e["pathSuffix"]
            if e["type"] == "DIRECTORY":
                self.get_tree(f"{path}/{name}", dest / name)
            else:
                (dest / name).write_bytes(self.open(f"{path}/{name}"))


_clusters: list[Hdfs] = []


@pytest.fixture(scope="session")
def hdfs(tmp_path_factory) -> Hdfs:
    """One single-node HDFS for the session, on free loopback ports. Tests write
    under their own directories (/tmp/<test name> or the like)."""
    h = Hdfs(tmp_path_factory.mktemp("hdfs"))
    _clusters.append(h)
    try:
        h.start()
        yield h
    finally:
        h.stop()


def pytest_terminal_summary(terminalreporter):
    for h in _clusters:
        if h.startup_seconds:
            starts = ", ".join(f"{s:.1f} s" for s in h.startup_seconds)
            terminalreporter.write_line(
                f"hdfs: single-node MiniDFSCluster in {h.root}: started in {starts}")
