// A client of the WebHDFS REST protocol (Hadoop's WebHDFS.md) over libcurl:
// one namenode, reached on its HTTP port, and the datanodes it redirects to.
//
// Every request names the user in `user.name` (simple authentication, as
// Hadoop's own client does without Kerberos). CREATE and OPEN take the two
// steps the protocol asks for: a request without a body to the namenode,
// answered 307 with a datanode's URL, then the data to or from that datanode;
// a body is never sent to the namenode.
//
// Failures are one line naming the namenode (or the datanode), the path and
// HDFS's own RemoteException message, e.g.
//   webhdfs://nn:9870/tmp/t: MKDIRS refused by the namenode: AccessControlException: Permission
//   denied: ... webhdfs://nn:9870/tmp/t: MKDIRS: no answer from the namenode nn:9870 (Couldn't
//   connect to server)
// with the Errc of webhdfs_error.h (not_found, already_exists, ...).
//
// Retries: a request the namenode never received (connection refused) is sent
// again, `namenode_attempts` times in all, waits doubling from
// `namenode_retry_wait`; reads are retried on any transport failure. A CREATE
// whose datanode step fails (the datanode refused the connection, died
// mid-write, or answered with an error that may pass, not one HDFS would
// repeat such as a permission, quota or safe-mode refusal) is started again
// from the namenode, `write_attempts` times in all, the path first deleted
// (so that a half-written file's lease does not block the new one), waits
// doubling from `write_retry_wait` (0.5 + 1 + 2 + 4 s by default). Each retry
// is reported through `note`.
//
// Thread-safe: requests may run on several threads at once (curl handles are
// pooled, connections to the namenode kept alive).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/file_system.h"
#include "io/webhdfs_uri.h"
#include "util/status.h"

namespace questlog::io {

struct WebHdfsOptions {
  std::string user;                                    // user.name; empty: none sent
  int namenode_attempts = 3;                           // tries of a namenode request
  std::chrono::milliseconds namenode_retry_wait{200};  // before the 2nd; doubling
  int write_attempts = 5;                              // tries of a CREATE (and an OPEN)
  std::chrono::milliseconds write_retry_wait{500};     // before the 2nd; doubling
  std::chrono::milliseconds connect_timeout{10'000};   // per connection
  std::chrono::seconds stall_timeout{60};              // no byte for this long: failed
  std::function<void(const std::string& line)> note;   // retries, for stderr
};

// An entry of GETFILESTATUS or LISTSTATUS.
struct HdfsFileStatus {
  std::string name;  // pathSuffix: empty for GETFILESTATUS
  FileKind kind = FileKind::other;
  uint64_t length = 0;
  int64_t modification_ms = 0;
  int64_t file_id = 0;  // the inode id: the same across renames
  std::string owner;
};

class WebHdfsClient {
 public:
  WebHdfsClient(WebHdfsUri namenode, WebHdfsOptions options);
  ~WebHdfsClient();
  WebHdfsClient(const WebHdfsClient&) = delete;
  WebHdfsClient& operator=(const WebHdfsClient&) = delete;

  const WebHdfsUri& namenode() const { return namenode_; }
  const WebHdfsOptions& options() const { return options_; }
  // "webhdfs://nn:9870/abs/path": an absolute HDFS path as messages name it.
  std::string describe(const std::string& path) const;

  // Paths are absolute HDFS paths ("/tmp/x").
  Result<std::optional<HdfsFileStatus>> get_file_status(const std::string& path);
  // The entries of a directory, in the namenode's order (by name).
  Result<std::vector<HdfsFileStatus>> list_status(const std::string& path);
  Status mkdirs(const std::string& path);
  // RENAME with renameoptions (Hadoop's rename2): fails when `from` is missing
  // (not_found) or, without `overwrite`, when `to` exists (already_exists);
  // with `overwrite`, replaces a file or an empty directory at `to`.
  Status rename(const std::string& from, const std::string& to, bool overwrite);
  // DELETE; false when nothing was there.
  Result<bool> remove(const std::string& path, bool recursive);
  // SETTIMES modificationtime (ms since the epoch, this machine's clock).
  Status set_modification_time(const std::string& path, int64_t ms);

  // Reads `n` bytes at `offset` of the body into `out`; fewer only at its end.
  using BodyReader = std::function<Result<size_t>(uint64_t offset, char* out, size_t n)>;
  // CREATE of `size` bytes read from `body`, both steps, retried as above.
  // Without `overwrite` an existing file is Errc::already_exists.
  Status create(const std::string& path, uint64_t size, const BodyReader& body, bool overwrite);
  Status create(const std::string& path, std::string_view data, bool overwrite);
  // OPEN: up to `length` bytes at `offset` (fewer at the end of the file).
  Result<std::string> open(const std::string& path, uint64_t offset, uint64_t length);

  struct Impl;

 private:
  WebHdfsUri namenode_;
  WebHdfsOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace questlog::io
