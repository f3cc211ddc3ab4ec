// Where a lake lives: a local directory, or a directory on HDFS named as
// Hadoop names it for the WebHDFS REST protocol,
//
//   webhdfs://NAMENODE[:HTTP_PORT]/PATH
//
// NAMENODE is the namenode's host (a name, an IPv4 address, or an IPv6 one in
// brackets), HTTP_PORT its HTTP port (dfs.namenode.http-address; 9870 when left
// out, Hadoop's default), PATH an absolute HDFS path, percent-encoded as in any
// URI ("/tmp/my%20lake" is "/tmp/my lake"). No user, query or fragment.
//
// hdfs:// (the namenode's RPC port) is refused with a message saying to use
// the HTTP address instead: questlog speaks only WebHDFS (no JVM, no libhdfs).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace questlog::io {

inline constexpr uint16_t kWebHdfsDefaultPort = 9870;

struct WebHdfsUri {
  std::string host;  // IPv6 without its brackets
  uint16_t port = kWebHdfsDefaultPort;
  std::string path = "/";  // absolute, no "." or ".." or empty components, no trailing "/"

  // "host:port", "[::1]:port": the namenode as messages name it.
  std::string authority() const;
  // "webhdfs://host:port/path" (the path percent-encoded where it must be).
  std::string str() const;
  bool operator==(const WebHdfsUri&) const = default;
};

// True when `lake` is a URI ("scheme://..."), false for a local path.
bool is_uri(std::string_view lake);

// Parses a webhdfs:// URI. Errors (Errc::invalid_argument) are one line naming
// the URI: another scheme (hdfs:// with the advice to use webhdfs://HOST:9870),
// a missing host, a bad port, a relative path or one with "..", a user, query
// or fragment, a bad percent escape.
Result<WebHdfsUri> parse_webhdfs_uri(std::string_view uri);

// `path` with every byte outside RFC 3986's unreserved set, "/" and `also_kept`
// as %XX: the path of a WebHDFS URL (and, keeping "=", a Delta log's file path).
std::string percent_encode_path(std::string_view path, std::string_view also_kept = {});

}  // namespace questlog::io
