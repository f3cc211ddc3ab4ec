// A single-node HDFS on loopback for development and tests: Apache Hadoop's
// MiniDFSCluster (one namenode, one datanode) kept running until SIGTERM.
// scripts/hdfs.sh compiles this file against the jars it fetched and runs it;
// see that script for the user-facing commands.
//
//   java -cp CLASSES:LIBS/* HdfsServer DIR NN_RPC_PORT NN_HTTP_PORT
//
// DIR holds the cluster's data (DIR/data) and its state files:
//   DIR/formatted   written once the namenode was formatted; later starts keep the data
//   DIR/ready       written (atomically) once the namenode serves, has left safe mode
//                   and one datanode is registered; removed while the namenode is
//                   stopped and when this process stops. Lines: rpc=hdfs://127.0.0.1:P,
//                   http=127.0.0.1:P, datanode=127.0.0.1:P and datanode-http=127.0.0.1:P
//                   (left out while the datanode is stopped), pid=N
//   DIR/control/NAME.req   a request (file content: one command) that this process
//                   carries out, answering in DIR/control/NAME.ack with "ok" or
//                   "error: ...". Commands: datanode-stop, datanode-start,
//                   namenode-stop, namenode-start.
//
// Everything binds to 127.0.0.1: the namenode on the given ports, the datanode on
// ephemeral ones. Permissions are on; the superuser is the user running this. On
// the first start /tmp is created world-writable with the sticky bit (1777), as
// on a real cluster.
//
// -Dhdfs.datanodes=N (hdfs.sh's HDFS_DATANODES) starts N datanodes instead of one
// (bench/hdfs.sh measures a cluster of two that keeps two replicas); DIR/ready
// and the datanode commands then name the first.

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import sun.misc.Signal;

public final class HdfsServer {
  private final Path dir;
  private final Path control;
  private final MiniDFSCluster cluster;
  private MiniDFSCluster.DataNodeProperties stoppedDatanode;
  private boolean namenodeStopped;
  private FileSystem fs;
  private final CountDownLatch stopping;

  private HdfsServer(Path dir, MiniDFSCluster cluster, CountDownLatch stopping) {
    this.dir = dir;
    this.stopping = stopping;
    this.control = dir.resolve("control");
    this.cluster = cluster;
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: HdfsServer DIR NN_RPC_PORT NN_HTTP_PORT [KEY=VALUE...]");
      System.exit(2);
    }
    Path dir = Paths.get(args[0]).toAbsolutePath();
    int rpcPort = Integer.parseInt(args[1]);
    int httpPort = Integer.parseInt(args[2]);
    Path data = dir.resolve("data");
    Path formatted = dir.resolve("formatted");
    boolean format = !Files.exists(formatted);
    Files.deleteIfExists(dir.resolve("ready"));
    // SIGTERM (and ^C) stop the cluster from the main thread, not from a JVM
    // shutdown hook: Hadoop's own hooks refuse changes while the JVM shuts down.
    // One that arrives during startup takes effect once the cluster is up.
    CountDownLatch stopping = new CountDownLatch(1);
    Signal.handle(new Signal("TERM"), s -> stopping.countDown());
    Signal.handle(new Signal("INT"), s -> stopping.countDown());

    Configuration conf = new HdfsConfiguration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, data.toString());
    // Loopback only, for every listener the two daemons open.
    conf.set("dfs.namenode.rpc-bind-host", "127.0.0.1");
    conf.set("dfs.namenode.http-bind-host", "127.0.0.1");
    conf.set("dfs.datanode.address", "127.0.0.1:0");
    conf.set("dfs.datanode.http.address", "127.0.0.1:0");
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
    conf.set("dfs.datanode.hostname", "127.0.0.1");
    conf.set("dfs.http.policy", "HTTP_ONLY");
    conf.setBoolean("dfs.permissions.enabled", true);
    conf.setBoolean("dfs.webhdfs.enabled", true);
    conf.setInt("dfs.replication", 1);
    // One datanode: a pipeline cannot replace it, so a client must not try.
    conf.set("dfs.client.block.write.replace-datanode-on-failure.policy", "NEVER");
    // The datanode's WebHDFS handler reaches the namenode through IPC connections
    // pooled in this JVM; one left from before a namenode restart fails the first
    // request after it (EOFException). Idle ones close after 1 s, well before a
    // restarted namenode serves.
    conf.setInt("ipc.client.connection.maxidletime", 1000);
    // A datanode that stops is declared dead after 2 x 2 s + 10 x 1 s = 14 s,
    // not after Hadoop's 10.5 minutes.
    conf.setInt("dfs.namenode.heartbeat.recheck-interval", 2000);
    conf.setInt("dfs.heartbeat.interval", 1);
    // A file's close that comes before the datanode has reported the file's last
    // block is refused, and the writer asks again after this delay, doubling:
    // 20 ms here, not Hadoop's 400 ms. Writes over WebHDFS are closed by the
    // datanode's own client, which reads this from the datanode's configuration
    // (README, "For cluster admins"; bench/hdfs.sh measures both).
    conf.setInt("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", 20);
    // Properties given on the command line (hdfs.sh's HDFS_SET) win over the above.
    for (int i = 3; i < args.length; ++i) {
      int eq = args[i].indexOf('=');
      if (eq <= 0) {
        System.err.println("HdfsServer: not KEY=VALUE: " + args[i]);
        System.exit(2);
      }
      conf.set(args[i].substring(0, eq), args[i].substring(eq + 1));
      System.err.println("HdfsServer: set " + args[i]);
    }

    MiniDFSCluster cluster =
        new MiniDFSCluster.Builder(conf, data.toFile())
            .nameNodePort(rpcPort)
            .nameNodeHttpPort(httpPort)
            .numDataNodes(Integer.getInteger("hdfs.datanodes", 1))
            .storagesPerDatanode(1)
            .format(format)
            .checkDataNodeAddrConfig(true)
            .checkDataNodeHostConfig(true)
            .checkExitOnShutdown(false)
            .waitSafeMode(true)
            .build();
    cluster.waitActive();
    HdfsServer server = new HdfsServer(dir, cluster, stopping);
    if (format) {
      server.fs = FileSystem.newInstance(cluster.getURI(), conf);
      org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path("/tmp");
      server.fs.mkdirs(tmp);
      server.fs.setPermission(tmp, new FsPermission((short) 01777));
      Files.writeString(formatted, "formatted\n");
    }
    server.writeReady();
    System.err.println("HdfsServer: ready " + Files.readString(dir.resolve("ready")).replace('\n', ' '));
    server.serve();
    server.shutdown();
    System.exit(0);
  }

  private void writeReady() throws IOException {
    InetSocketAddress rpc = cluster.getNameNode().getNameNodeAddress();
    InetSocketAddress http = cluster.getNameNode().getHttpAddress();
    StringBuilder s = new StringBuilder();
    s.append("rpc=hdfs://127.0.0.1:").append(rpc.getPort()).append('\n');
    s.append("http=127.0.0.1:").append(http.getPort()).append('\n');
    if (stoppedDatanode == null) {
      DataNode dn = cluster.getDataNodes().get(0);
      s.append("datanode=127.0.0.1:").append(dn.getXferPort()).append('\n');
      s.append("datanode-http=127.0.0.1:").append(dn.getInfoPort()).append('\n');
    }
    s.append("pid=").append(ProcessHandle.current().pid()).append('\n');
    Path tmp = dir.resolve("ready.tmp");
    Files.writeString(tmp, s.toString(), StandardCharsets.UTF_8);
    Files.move(tmp, dir.resolve("ready"), StandardCopyOption.ATOMIC_MOVE);
  }

  // Carries out control requests until the JVM is asked to stop.
  private void serve() throws InterruptedException, IOException {
    Files.createDirectories(control);
    while (!stopping.await(50, TimeUnit.MILLISECONDS)) {
      try (DirectoryStream<Path> reqs = Files.newDirectoryStream(control, "*.req")) {
        for (Path req : reqs) {
          String name = req.getFileName().toString();
          Path ack = control.resolve(name.substring(0, name.length() - 4) + ".ack");
          String command = Files.readString(req).trim();
          String answer;
          try {
            answer = run(command);
          } catch (Exception e) {
            answer = "error: " + e;
          }
          Files.delete(req);
          Path tmp = control.resolve(name + ".tmp");
          Files.writeString(tmp, answer + "\n");
          Files.move(tmp, ack, StandardCopyOption.ATOMIC_MOVE);
          System.err.println("HdfsServer: " + command + ": " + answer);
        }
      }
    }
  }

  private synchronized String run(String command) throws IOException {
    switch (command) {
      case "datanode-stop":
        if (stoppedDatanode != null) return "error: the datanode is already stopped";
        stoppedDatanode = cluster.stopDataNode(0);
        if (!namenodeStopped) writeReady();
        return "ok";
      case "datanode-start":
        if (stoppedDatanode == null) return "error: the datanode is running";
        cluster.restartDataNode(stoppedDatanode, true);
        stoppedDatanode = null;
        if (!namenodeStopped) {
          cluster.waitActive();  // until the namenode has the datanode registered
          writeReady();
        }
        return "ok";
      case "namenode-stop":
        if (namenodeStopped) return "error: the namenode is already stopped";
        Files.deleteIfExists(dir.resolve("ready"));
        cluster.shutdownNameNode(0);
        namenodeStopped = true;
        return "ok";
      case "namenode-start":
        if (!namenodeStopped) return "error: the namenode is running";
        cluster.restartNameNode(0, true);  // same ports; waits until it is active
        namenodeStopped = false;
        writeReady();
        return "ok";
      default:
        return "error: unknown command '" + command + "'";
    }
  }

  // Stops both daemons and keeps their data (MiniDFSCluster.shutdown() would
  // delete it when the JVM exits).
  private synchronized void shutdown() throws IOException {
    Files.deleteIfExists(dir.resolve("ready"));
    if (fs != null) fs.close();
    cluster.shutdownDataNodes();
    cluster.shutdownNameNodes();
    System.err.println("HdfsServer: stopped");
  }
}
