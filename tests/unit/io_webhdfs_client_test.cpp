// The WebHDFS client against a scripted namenode and datanode on loopback (the
// real HDFS is in tests/integration/test_hdfs_lake.py): the two-step CREATE
// that never sends data to the namenode, retries of a datanode that fails, and
// one-line errors naming who refused what.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/url_decode.h"
#include "io/webhdfs_client.h"
#include "io/webhdfs_file_system.h"

namespace questlog::io {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct Seen {
  std::string method;
  std::string target;
  std::string body;
};

// What a scripted server does with a request: answer it, or drop the
// connection without an answer (a datanode dying mid-write).
struct Reply {
  unsigned status = 200;
  std::string body;
  std::string location;
  bool drop = false;
};

Reply answer(unsigned status, std::string body, std::string location = "") {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  r.location = std::move(location);
  return r;
}

Reply drop() {
  Reply r;
  r.drop = true;
  return r;
}

// An HTTP server on 127.0.0.1 that answers with `script`, recording every
// request. Keep-alive; each connection is served on a thread of its own, so
// requests made side by side are answered side by side.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<Reply(const Seen&)> script)
      : script_(std::move(script)),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    boost::system::error_code ec;
    // Wake the accept with a connection of our own.
    tcp::socket s(io_);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    thread_.join();
    // Connections end when the client closes them (it goes first).
    for (std::thread& t : connections_) t.join();
  }
  uint16_t port() const { return port_; }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void run() {
    while (!stop_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) continue;
      connections_.emplace_back([this, socket = std::move(socket)]() mutable { serve(socket); });
    }
  }

  void serve(tcp::socket& socket) {
    boost::system::error_code ec;
    {
      boost::beast::flat_buffer buffer;
      for (;;) {
        http::request<http::string_body> req;
        http::read(socket, buffer, req, ec);
        if (ec) break;
        Seen s{std::string(req.method_string()), std::string(req.target()), req.body()};
        {
          std::lock_guard lock(mu_);
          seen_.push_back(s);
        }
        Reply r = script_(s);
        if (r.drop) break;
        http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
        if (!r.location.empty()) res.set(http::field::location, r.location);
        res.set(http::field::content_type, "application/json");
        res.body() = r.body;
        res.prepare_payload();
        http::write(socket, res, ec);
        if (ec) break;
      }
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  std::function<Reply(const Seen&)> script_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> connections_;  // written by thread_ only, until it is joined
  std::mutex mu_;
  std::vector<Seen> seen_;
};

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

WebHdfsOptions fast(std::vector<std::string>* notes = nullptr) {
  WebHdfsOptions o;
  o.user = "alice";
  o.write_attempts = 3;
  o.namenode_attempts = 2;
  o.namenode_retry_wait = std::chrono::milliseconds(1);
  o.write_retry_wait = std::chrono::milliseconds(1);
  if (notes) o.note = [notes](const std::string& line) { notes->push_back(line); };
  return o;
}

// A datanode that writes as told, and a namenode redirecting CREATE and OPEN to it.
struct Cluster {
  explicit Cluster(std::function<Reply(const Seen&)> datanode_script)
      : datanode(std::move(datanode_script)), namenode([this](const Seen& s) { return name(s); }) {}

  Reply name(const Seen& s) {
    if (has(s.target, "op=CREATE") || has(s.target, "op=OPEN")) {
      std::string query = s.target.substr(s.target.find('?'));
      return answer(307, "",
                    "http://127.0.0.1:" + std::to_string(datanode.port()) + "/webhdfs/v1" +
                        s.target.substr(11, s.target.find('?') - 11) + query +
                        "&namenoderpcaddress=x");
    }
    if (has(s.target, "op=DELETE")) return answer(200, R"({"boolean":true})");
    return answer(404,
                  R"({"RemoteException":{"exception":"FileNotFoundException","message":"no"}})");
  }
  WebHdfsUri uri() const { return {"127.0.0.1", namenode.port(), "/"}; }

  ScriptedServer datanode;
  ScriptedServer namenode;
};

TEST(WebHdfsClientTest, CreateTakesTwoStepsAndNeverSendsTheDataToTheNamenode) {
  Cluster c([](const Seen&) { return answer(201, ""); });
  WebHdfsClient client(c.uri(), fast());
  ASSERT_TRUE(client.create("/tmp/t/part-0.parquet", "PAR1 some bytes", true).ok());

  auto nn = c.namenode.seen();
  ASSERT_EQ(nn.size(), 1u);
  EXPECT_EQ(nn[0].method, "PUT");
  EXPECT_EQ(nn[0].target,
            "/webhdfs/v1/tmp/t/part-0.parquet?op=CREATE&user.name=alice&overwrite=true");
  EXPECT_EQ(nn[0].body, "");
  auto dn = c.datanode.seen();
  ASSERT_EQ(dn.size(), 1u);
  EXPECT_EQ(dn[0].method, "PUT");
  EXPECT_TRUE(has(dn[0].target, "namenoderpcaddress=x")) << dn[0].target;
  EXPECT_EQ(dn[0].body, "PAR1 some bytes");
}

TEST(WebHdfsClientTest, ADatanodeThatDiesMidWriteIsWrittenAgainFromTheNamenode) {
  int writes = 0;
  Cluster c([&](const Seen&) { return ++writes == 1 ? drop() : answer(201, ""); });
  std::vector<std::string> notes;
  WebHdfsClient client(c.uri(), fast(&notes));
  Status s = client.create("/tmp/t/p", std::string(100000, 'x'), true);
  ASSERT_TRUE(s.ok()) << s.message();

  auto dn = c.datanode.seen();
  ASSERT_EQ(dn.size(), 2u);
  EXPECT_EQ(dn[1].body.size(), 100000u);  // all of it again
  auto nn = c.namenode.seen();
  ASSERT_EQ(nn.size(), 3u);  // CREATE, DELETE of the half-written file, CREATE
  EXPECT_TRUE(has(nn[0].target, "op=CREATE"));
  EXPECT_EQ(nn[1].method, "DELETE");
  EXPECT_TRUE(has(nn[2].target, "op=CREATE"));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_TRUE(has(notes[0], "webhdfs://127.0.0.1:" + std::to_string(c.namenode.port()) +
                                "/tmp/t/p: CREATE: the datanode 127.0.0.1:" +
                                std::to_string(c.datanode.port()) + " failed"))
      << notes[0];
  EXPECT_TRUE(has(notes[0], "writing it again in 0.0 s (attempt 2 of 3)")) << notes[0];
}

TEST(WebHdfsClientTest, RetriesAreBounded) {
  Cluster c([](const Seen&) {
    return answer(
        500,
        R"j({"RemoteException":{"exception":"IOException","message":"All datanodes are bad. Aborting...\n\tat x.y(Z.java:1)"}})j");
  });
  WebHdfsClient client(c.uri(), fast());
  Status s = client.create("/tmp/t/p", "x", true);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(c.datanode.seen().size(), 3u);
  EXPECT_EQ(s.message(),
            "webhdfs://127.0.0.1:" + std::to_string(c.namenode.port()) +
                "/tmp/t/p: CREATE refused by the datanode 127.0.0.1:" +
                std::to_string(c.datanode.port()) +
                ": IOException: All datanodes are bad. Aborting... (after 3 attempts)");
}

TEST(WebHdfsClientTest, ARefusalHdfsWouldRepeatIsNotRetried) {
  Cluster c([](const Seen&) {
    return answer(
        403,
        R"({"RemoteException":{"exception":"AccessControlException","javaClassName":"org.apache.hadoop.security.AccessControlException","message":"Permission denied: user=alice, access=WRITE, inode=\"/tmp/t\":bob:supergroup:drwxr-xr-x"}})");
  });
  WebHdfsClient client(c.uri(), fast());
  Status s = client.create("/tmp/t/p", "x", true);
  EXPECT_EQ(c.datanode.seen().size(), 1u);
  EXPECT_TRUE(has(s.message(), "/tmp/t/p: CREATE refused by the datanode 127.0.0.1:"))
      << s.message();
  EXPECT_TRUE(
      has(s.message(), ": AccessControlException: Permission denied: user=alice, access=WRITE"))
      << s.message();
}

TEST(WebHdfsClientTest, ANamenodeThatFindsNoDatanodeIsAskedAgain) {
  ScriptedServer dn([](const Seen&) { return answer(201, ""); });
  int creates = 0;
  ScriptedServer nn([&](const Seen& s) {
    if (has(s.target, "op=DELETE")) return answer(200, R"({"boolean":false})");
    if (++creates == 1)
      return answer(
          403,
          R"({"RemoteException":{"exception":"IOException","message":"Failed to find datanode, suggest to check cluster health."}})");
    return answer(307, "",
                  "http://127.0.0.1:" + std::to_string(dn.port()) + "/webhdfs/v1/p?op=CREATE");
  });
  std::vector<std::string> notes;
  WebHdfsClient client({"127.0.0.1", nn.port(), "/"}, fast(&notes));
  Status s = client.create("/p", "x", true);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_TRUE(
      has(notes[0], "/p: CREATE refused by the namenode: IOException: Failed to find datanode"))
      << notes[0];
  EXPECT_EQ(dn.seen().size(), 1u);

  // Safe mode, though, is not asked again.
  ScriptedServer safe([](const Seen&) {
    return answer(
        403,
        R"({"RemoteException":{"exception":"SafeModeException","message":"Cannot create file /p. Name node is in safe mode."}})");
  });
  WebHdfsClient refused({"127.0.0.1", safe.port(), "/"}, fast(&notes));
  EXPECT_TRUE(has(refused.create("/p", "x", true).message(), "SafeModeException"));
  EXPECT_EQ(safe.seen().size(), 1u);
}

TEST(WebHdfsClientTest, WithoutOverwriteAnExistingFileIsAlreadyExists) {
  Cluster c([](const Seen&) {
    return answer(
        403,
        R"({"RemoteException":{"exception":"FileAlreadyExistsException","message":"/tmp/l already exists"}})");
  });
  WebHdfsClient client(c.uri(), fast());
  Status s = client.create("/tmp/l", "x", false);
  EXPECT_EQ(s.code(), Errc::already_exists);
  EXPECT_TRUE(has(c.namenode.seen()[0].target, "overwrite=false"));
}

TEST(WebHdfsClientTest, NamenodeRefusalsNameTheNamenodeThePathAndHdfssMessage) {
  ScriptedServer nn([](const Seen& s) {
    if (has(s.target, "op=RENAME"))
      return answer(
          404,
          R"({"RemoteException":{"exception":"FileNotFoundException","javaClassName":"java.io.FileNotFoundException","message":"rename source /tmp/a is not found."}})");
    if (has(s.target, "op=MKDIRS"))
      return answer(
          403,
          R"({"RemoteException":{"exception":"SafeModeException","message":"Cannot create directory /tmp/b. Name node is in safe mode.\nIt was turned on manually."}})");
    if (has(s.target, "op=GETFILESTATUS"))
      return answer(
          200,
          R"({"FileStatus":{"accessTime":0,"blockSize":0,"childrenNum":1,"fileId":16386,"group":"supergroup","length":0,"modificationTime":1795896926486,"owner":"root","pathSuffix":"","permission":"755","replication":0,"storagePolicy":0,"type":"DIRECTORY"}})");
    return answer(400, "not json");
  });
  const std::string at = "webhdfs://127.0.0.1:" + std::to_string(nn.port());
  WebHdfsClient client({"127.0.0.1", nn.port(), "/"}, fast());

  Status r = client.rename("/tmp/a", "/tmp/b", false);
  EXPECT_EQ(r.code(), Errc::not_found);
  EXPECT_EQ(r.message(), at + "/tmp/a: RENAME to /tmp/b refused by the namenode: "
                              "FileNotFoundException: rename source /tmp/a is not found.");
  EXPECT_TRUE(has(nn.seen()[0].target, "destination=/tmp/b&renameoptions=NONE"));

  Status m = client.mkdirs("/tmp/b");
  EXPECT_EQ(m.message(),
            at + "/tmp/b: MKDIRS refused by the namenode: SafeModeException: Cannot "
                 "create directory /tmp/b. Name node is in safe mode. It was turned on manually.");

  auto st = client.get_file_status("/tmp");
  ASSERT_TRUE(st.ok() && *st);
  EXPECT_EQ((*st)->kind, FileKind::directory);
  EXPECT_EQ((*st)->file_id, 16386);
  EXPECT_EQ((*st)->modification_ms, 1795896926486);

  Status t = client.set_modification_time("/tmp", 5);
  EXPECT_EQ(t.message(), at + "/tmp: SETTIMES refused by the namenode: HTTP 400: not json");
}

TEST(WebHdfsClientTest, ANamenodeThatIsDownIsNamed) {
  uint16_t port;
  {
    ScriptedServer gone([](const Seen&) { return Reply{}; });
    port = gone.port();
  }  // closed: connections are refused
  WebHdfsClient client({"127.0.0.1", port, "/lake"}, fast());
  Status s = client.mkdirs("/lake/.staging");
  ASSERT_FALSE(s.ok());
  const std::string head =
      "webhdfs://127.0.0.1:" + std::to_string(port) +
      "/lake/.staging: MKDIRS: no answer from the namenode 127.0.0.1:" + std::to_string(port) +
      " (";
  EXPECT_EQ(s.message().rfind(head, 0), 0u) << s.message();
  EXPECT_EQ(s.message().find('\n'), std::string::npos);
}

TEST(WebHdfsClientTest, OpenReadsARangeFromTheDatanode) {
  Cluster c([](const Seen& s) {
    EXPECT_TRUE(has(s.target, "offset=10&length=4")) << s.target;
    return answer(200, "abcd");
  });
  WebHdfsClient client(c.uri(), fast());
  auto got = client.open("/tmp/f", 10, 4);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, "abcd");
  EXPECT_EQ(c.namenode.seen()[0].method, "GET");
}

// put_if_absent (a Delta commit): the bytes go to a hidden name beside the
// target, which is then renamed without overwrite; the namenode's refusal of
// that rename is Errc::already_exists, and the hidden file is deleted.
TEST(WebHdfsFileSystemTest, PutIfAbsentUploadsAHiddenFileAndRenamesItWithoutOverwrite) {
  std::atomic<bool> taken{false};
  Cluster c([](const Seen&) { return answer(201, ""); });
  ScriptedServer namenode([&](const Seen& s) {
    if (has(s.target, "op=RENAME"))
      return taken ? answer(403, R"({"RemoteException":{"exception":"FileAlreadyExistsException",)"
                                 R"("message":"rename destination exists"}})")
                   : answer(200, R"({"boolean":true})");
    return c.name(s);
  });
  WebHdfsFileSystemOptions o;
  o.client = fast();
  WebHdfsFileSystem fs({"127.0.0.1", namenode.port(), "/lake"}, o);
  ASSERT_TRUE(fs.put_if_absent("t/_delta_log/00.json", "{\"commitInfo\":{}}\n").ok());
  auto nn = namenode.seen();
  ASSERT_EQ(nn.size(), 2u);
  EXPECT_TRUE(has(nn[0].target, "/webhdfs/v1/lake/t/_delta_log/.00.json.")) << nn[0].target;
  EXPECT_TRUE(has(nn[0].target, ".tmp?op=CREATE&user.name=alice&overwrite=false")) << nn[0].target;
  EXPECT_TRUE(has(nn[1].target, "op=RENAME")) << nn[1].target;
  EXPECT_TRUE(has(nn[1].target, "destination=/lake/t/_delta_log/00.json")) << nn[1].target;
  EXPECT_TRUE(has(nn[1].target, "renameoptions=NONE")) << nn[1].target;
  EXPECT_EQ(c.datanode.seen().back().body, "{\"commitInfo\":{}}\n");

  taken = true;
  Status lost = fs.put_if_absent("t/_delta_log/00.json", "x");
  EXPECT_EQ(lost.code(), Errc::already_exists) << lost.message();
  nn = namenode.seen();
  ASSERT_EQ(nn.size(), 5u);
  EXPECT_EQ(nn[4].method, "DELETE");
  EXPECT_TRUE(has(nn[4].target, "/lake/t/_delta_log/.00.json.")) << nn[4].target;
}

// A namenode holding a tree of directories (each "dir" maps to its entries,
// "name/" for a directory), answering LISTSTATUS, with `gone` answered 404 as
// a directory removed between its parent's listing and its own.
ScriptedServer tree_namenode(std::map<std::string, std::vector<std::string>> tree,
                             std::string gone = "") {
  return ScriptedServer([tree = std::move(tree), gone = std::move(gone)](const Seen& s) {
    std::string path;  // after /webhdfs/v1, %XX decoded ("a=1" comes as "a%3D1")
    questlog::http::decode_path(s.target.substr(11, s.target.find('?') - 11), path);
    auto at = tree.find(path);
    if (!has(s.target, "op=LISTSTATUS") || at == tree.end() || path == gone)
      return answer(404, R"({"RemoteException":{"exception":"FileNotFoundException",)"
                         R"("message":"File )" +
                             path + R"( does not exist."}})");
    std::string body = R"({"FileStatuses":{"FileStatus":[)";
    for (const std::string& e : at->second) {
      const bool dir = e.back() == '/';
      if (body.back() == '}') body += ',';
      body += R"({"pathSuffix":")" + (dir ? e.substr(0, e.size() - 1) : e) + R"(","type":")" +
              (dir ? "DIRECTORY" : "FILE") + R"(","length":1,"modificationTime":1,"fileId":1})";
    }
    return answer(200, body + "]}}");
  });
}

TEST(WebHdfsFileSystemTest, ListFilesWalksEveryLevelAndSkipsADirectoryRemovedMeanwhile) {
  std::map<std::string, std::vector<std::string>> tree = {
      {"/lake/t", {"_SUCCESS", "a=1/", "a=2/", "a=3/"}},
      {"/lake/t/a=1", {"b=x/", "part-1"}},
      {"/lake/t/a=1/b=x", {"part-2"}},
      {"/lake/t/a=2", {"part-3"}},
      {"/lake/t/a=3", {"part-4"}},
  };
  WebHdfsFileSystemOptions o;
  o.client = fast();
  {
    ScriptedServer nn = tree_namenode(tree);
    WebHdfsFileSystem fs({"127.0.0.1", nn.port(), "/lake"}, o);
    auto files = fs.list_files("t");
    ASSERT_TRUE(files.ok()) << files.status().message();
    EXPECT_EQ(*files, (std::vector<std::filesystem::path>{
                          "_SUCCESS", "a=1/b=x/part-2", "a=1/part-1", "a=2/part-3", "a=3/part-4"}));
    auto missing = fs.list_files("nothing");
    EXPECT_EQ(missing.status().code(), Errc::not_found) << missing.status().message();
  }
  {
    ScriptedServer nn = tree_namenode(tree, "/lake/t/a=2");
    WebHdfsFileSystem fs({"127.0.0.1", nn.port(), "/lake"}, o);
    auto files = fs.list_files("t");
    ASSERT_TRUE(files.ok()) << files.status().message();
    EXPECT_EQ(*files, (std::vector<std::filesystem::path>{"_SUCCESS", "a=1/b=x/part-2",
                                                          "a=1/part-1", "a=3/part-4"}));
  }
}

}  // namespace
}  // namespace questlog::io
