"""The HDFS the tests (and `make hdfs`) use is a real one: WebHDFS answers with the
two-step CREATE through the datanode, Hadoop's own shell from the same jars sees
what WebHDFS wrote, permissions are enforced, Spark reads Parquet from it over
hdfs://, it listens on loopback only, and it stops cleanly with its data kept."""

from __future__ import annotations

import io
import ipaddress
import os
import socket
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.register_assert_rewrite("hdfs_cluster")
from hdfs_cluster import Hdfs, WebHdfsError  # noqa: E402

pytest_plugins = ["hdfs_cluster"]


def test_webhdfs_create_goes_through_the_datanode_and_open_reads_it_back(hdfs: Hdfs):
    root = hdfs.list("/")
    tmp = [s for s in root if s["pathSuffix"] == "tmp"]
    assert tmp and tmp[0]["type"] == "DIRECTORY" and tmp[0]["permission"] == "1777", root

    # Step one, the namenode: no data, a redirect to a datanode on loopback.
    status, headers, _ = hdfs.request("PUT", "/tmp/webhdfs/hello.txt", "CREATE", user="alice")
    assert status == 307, (status, headers)
    dn = hdfs.info()["datanode-http"]
    assert headers["location"].startswith(f"http://{dn}/webhdfs/v1/tmp/webhdfs/hello.txt?"), headers

    # Both steps, then OPEN (also redirected) returns the bytes.
    data = b"hello from webhdfs\n" * 1000
    assert hdfs.create("/tmp/webhdfs/hello.txt", data, user="alice") == dn
    assert hdfs.open("/tmp/webhdfs/hello.txt", user="bob") == data
    st = hdfs.status("/tmp/webhdfs/hello.txt")
    assert st["length"] == len(data) and st["owner"] == "alice" and st["replication"] == 1, st
    assert [s["pathSuffix"] for s in hdfs.list("/tmp/webhdfs")] == ["hello.txt"]


def test_hadoop_shell_lists_and_cats_what_webhdfs_wrote(hdfs: Hdfs):
    hdfs.create("/tmp/shell/a.txt", b"first line\nsecond line\n", user="alice")
    hdfs.create("/tmp/shell/b.txt", b"", user="alice")

    ls = hdfs.dfs("-ls", "/tmp/shell").stdout.decode()
    lines = [line.split() for line in ls.splitlines() if line.startswith("-")]
    assert [(f[0], f[2], f[4], f[7]) for f in lines] == [
        ("-rw-r--r--", "alice", "23", "/tmp/shell/a.txt"),
        ("-rw-r--r--", "alice", "0", "/tmp/shell/b.txt"),
    ], ls
    assert hdfs.dfs("-cat", "/tmp/shell/a.txt").stdout == b"first line\nsecond line\n"

    # And the other way round: the shell writes, WebHDFS reads.
    r = hdfs.dfs("-mkdir", "-p", "/tmp/shell/sub")
    assert r.returncode == 0
    assert hdfs.status("/tmp/shell/sub")["type"] == "DIRECTORY"


def test_permissions_are_enforced(hdfs: Hdfs, tmp_path: Path):
    hdfs.mkdirs("/tmp/perm-alice", user="alice", permission="755")
    hdfs.create("/tmp/perm-alice/mine.txt", b"alice's\n", user="alice")

    with pytest.raises(WebHdfsError) as e:
        hdfs.create("/tmp/perm-alice/theirs.txt", b"bob's\n", user="bob")
    assert e.value.status == 403 and e.value.exception == "AccessControlException", e.value

    local = tmp_path / "theirs.txt"
    local.write_bytes(b"bob's\n")
    r = hdfs.dfs("-put", str(local), "/tmp/perm-alice/theirs.txt", user="bob", check=False)
    assert r.returncode != 0
    assert b"Permission denied: user=bob, access=WRITE" in r.stderr, r.stderr
    assert hdfs.status("/tmp/perm-alice/theirs.txt") is None


def test_safe_mode_refuses_writes_and_allows_reads(hdfs: Hdfs):
    hdfs.create("/tmp/safemode/before.txt", b"before\n", user="alice")
    assert b"Safe mode is ON" in hdfs.dfsadmin("-safemode", "enter").stdout
    try:
        with pytest.raises(WebHdfsError) as e:
            hdfs.create("/tmp/safemode/during.txt", b"during\n", user="alice")
        assert e.value.exception == "SafeModeException", e.value
        assert hdfs.open("/tmp/safemode/before.txt") == b"before\n"
    finally:
        assert b"Safe mode is OFF" in hdfs.dfsadmin("-safemode", "leave").stdout
    hdfs.create("/tmp/safemode/after.txt", b"after\n", user="alice")


def test_spark_reads_parquet_from_hdfs(hdfs: Hdfs, spark):
    table = pa.table({
        "host": ["user1.comcast.com", "user2.att.com", "user1.comcast.com", None],
        "n": pa.array([1, 2, 3, 2**62], pa.int64()),
        "score": [0.5, -1.25, None, 3.0],
    })
    buf = io.BytesIO()
    pq.write_table(table, buf)
    hdfs.create("/tmp/spark/t/part-00000.parquet", buf.getvalue(), user="alice")
    hdfs.create("/tmp/spark/t/_SUCCESS", b"", user="alice")

    df = spark.read.parquet(hdfs.url("/tmp/spark/t"))
    rows = sorted((r.host or "", r.n, r.score) for r in df.collect())
    assert rows == sorted((h or "", n, s) for h, n, s in zip(*table.to_pydict().values()))
    df.createOrReplaceTempView("t")
    by_host = spark.sql("SELECT host, count(*) AS c FROM t WHERE host IS NOT NULL "
                        "GROUP BY host ORDER BY host").collect()
    assert [(r.host, r.c) for r in by_host] == [("user1.comcast.com", 2), ("user2.att.com", 1)]


def listening_addresses(pid: int) -> list[tuple[str, str, int]]:
    """(protocol, address, port) of every listening TCP socket and every bound UDP
    socket the process holds, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]:
            f = line.split()
            local, state, inode = f[1], f[3], f[9]
            if inode not in inodes or (proto.startswith("tcp") and state != "0A"):
                continue
            addr_hex, port_hex = local.split(":")
            raw = bytes.fromhex(addr_hex)
            # /proc prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            if len(raw) == 4:
                addr = ipaddress.IPv4Address(raw)
            else:
                addr = ipaddress.IPv6Address(raw)
                addr = addr.ipv4_mapped or addr
            out.append((proto, str(addr), int(port_hex, 16)))
    return out


def test_every_listener_is_on_loopback(hdfs: Hdfs):
    listeners = listening_addresses(hdfs.pid())
    ports = {port for _, _, port in listeners}
    info = hdfs.info()
    for key in ("http", "datanode", "datanode-http"):
        assert int(info[key].rsplit(":", 1)[1]) in ports, (key, listeners)
    assert hdfs.rpc_port in ports and hdfs.http_port in ports, listeners
    assert all(ipaddress.ip_address(a).is_loopback for _, a, _ in listeners), listeners


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_a_stopped_datanode_refuses_writes_until_it_starts_again(hdfs: Hdfs):
    hdfs.create("/tmp/dn/before.txt", b"before\n", user="alice")
    dn_port = int(hdfs.info()["datanode"].rsplit(":", 1)[1])
    hdfs.datanode("stop")
    try:
        assert refused(dn_port)
        with pytest.raises((WebHdfsError, ConnectionRefusedError)):
            hdfs.create("/tmp/dn/during.txt", b"during\n", user="alice")
    finally:
        hdfs.datanode("start")
    assert int(hdfs.info()["datanode"].rsplit(":", 1)[1]) == dn_port
    hdfs.create("/tmp/dn/after.txt", b"after\n", user="alice")
    assert hdfs.open("/tmp/dn/before.txt") == b"before\n"
    assert hdfs.open("/tmp/dn/after.txt") == b"after\n"


def test_a_stopped_namenode_comes_back_on_its_ports_with_its_files(hdfs: Hdfs):
    hdfs.create("/tmp/nn/kept.txt", b"kept\n", user="alice")
    hdfs.namenode("stop")
    try:
        assert refused(hdfs.http_port) and refused(hdfs.rpc_port)
        r = hdfs.dfs("-ls", "/tmp/nn", check=False, timeout=180)
        assert r.returncode != 0 and b"Connection refused" in r.stderr, r.stderr
    finally:
        hdfs.namenode("start")
    assert hdfs.open("/tmp/nn/kept.txt") == b"kept\n"
    assert b"/tmp/nn/kept.txt" in hdfs.dfs("-ls", "/tmp/nn").stdout


def test_stop_is_clean_and_a_restart_keeps_the_data(hdfs: Hdfs):
    hdfs.create("/tmp/restart/kept.txt", b"kept across a restart\n", user="alice")
    pid, ports = hdfs.pid(), (hdfs.rpc_port, hdfs.http_port)
    assert pid is not None

    hdfs.stop()
    assert not Path(f"/proc/{pid}").exists()
    last_run = hdfs.log.rsplit("hdfs.sh: starting", 1)[1]
    assert "HdfsServer: stopped" in last_run, last_run[-3000:]
    assert "Exception in thread" not in last_run.rsplit("HdfsServer: ready", 1)[1]
    assert all(refused(p) for p in ports)
    assert not (hdfs.root / "ready").exists()

    hdfs.start()
    assert (hdfs.rpc_port, hdfs.http_port) == ports
    assert hdfs.open("/tmp/restart/kept.txt") == b"kept across a restart\n"
    assert hdfs.dfs("-cat", "/tmp/restart/kept.txt").stdout == b"kept across a restart\n"
