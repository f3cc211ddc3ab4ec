#include "io/webhdfs_uri.h"

#include <fmt/format.h>

#include <cctype>
#include <vector>

namespace questlog::io {
namespace {

Status bad(std::string_view uri, std::string_view why) {
  return Status::error(Errc::invalid_argument, fmt::format("{}: {}", uri, why));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// The host and port of "host", "host:port", "[v6]", "[v6]:port".
Status parse_authority(std::string_view uri, std::string_view auth, WebHdfsUri& out) {
  if (auth.empty()) return bad(uri, "no namenode host (webhdfs://NAMENODE:9870/PATH)");
  if (auth.find('@') != std::string_view::npos)
    return bad(uri, "a user in the URI is not supported (use -X user.name=NAME)");
  std::string_view host = auth, port;
  if (auth.front() == '[') {
    size_t close = auth.find(']');
    if (close == std::string_view::npos) return bad(uri, "an IPv6 address without its ']'");
    host = auth.substr(1, close - 1);
    std::string_view rest = auth.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad(uri, "unexpected text after the IPv6 address");
      port = rest.substr(1);
      if (port.empty()) return bad(uri, "an empty port");
    }
    if (host.empty()) return bad(uri, "an empty IPv6 address");
    for (char c : host)
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
        return bad(uri, "not an IPv6 address between '[' and ']'");
  } else {
    size_t colon = auth.rfind(':');
    if (colon != std::string_view::npos) {
      host = auth.substr(0, colon);
      port = auth.substr(colon + 1);
      if (port.empty()) return bad(uri, "an empty port");
    }
    if (host.empty()) return bad(uri, "no namenode host (webhdfs://NAMENODE:9870/PATH)");
    for (char c : host)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_')
        return bad(uri, fmt::format("'{}' is not a host name", host));
  }
  out.host = std::string(host);
  if (!port.empty()) {
    unsigned long v = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || v > 65535)
        return bad(uri, fmt::format("'{}' is not a port", port));
      v = v * 10 + static_cast<unsigned long>(c - '0');
    }
    if (v == 0 || v > 65535) return bad(uri, fmt::format("'{}' is not a port", port));
    out.port = static_cast<uint16_t>(v);
  }
  return {};
}

}  // namespace

std::string WebHdfsUri::authority() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::string WebHdfsUri::str() const {
  return "webhdfs://" + authority() + percent_encode_path(path);
}

bool is_uri(std::string_view lake) {
  size_t sep = lake.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(lake[0]))) return false;
  for (char c : lake.substr(0, sep))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
      return false;
  return true;
}

Result<WebHdfsUri> parse_webhdfs_uri(std::string_view uri) {
  size_t sep = uri.find("://");
  if (sep == std::string_view::npos || !is_uri(uri))
    return bad(uri, "not a URI (webhdfs://NAMENODE:9870/PATH)");
  std::string scheme;
  for (char c : uri.substr(0, sep))
    scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view rest = uri.substr(sep + 3);
  std::string_view auth = rest.substr(0, rest.find('/'));
  std::string_view path = auth.size() < rest.size() ? rest.substr(auth.size()) : "/";

  if (scheme == "hdfs") {
    std::string host(auth.substr(0, auth.rfind(':')));
    if (auth.rfind(']') != std::string_view::npos && auth.rfind(']') > auth.rfind(':'))
      host = std::string(auth);
    if (host.empty()) host = "NAMENODE";
    return bad(uri, fmt::format("questlog reaches HDFS over WebHDFS, on the namenode's HTTP port, "
                                "not its RPC port: use webhdfs://{}:{}{} (the port of "
                                "dfs.namenode.http-address, 9870 by default)",
                                host, kWebHdfsDefaultPort, path));
  }
  if (scheme == "swebhdfs") return bad(uri, "WebHDFS over TLS (swebhdfs://) is not supported yet");
  if (scheme != "webhdfs")
    return bad(uri, fmt::format("unknown scheme {}:// (a lake is a directory or "
                                "webhdfs://NAMENODE:9870/PATH)",
                                scheme));

  WebHdfsUri out;
  if (Status s = parse_authority(uri, auth, out); !s.ok()) return s;
  if (path.find_first_of("?#") != std::string_view::npos)
    return bad(uri, "a query or fragment is not supported");

  // Decode, then split into components.
  std::string decoded;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      decoded += path[i];
      continue;
    }
    int hi = i + 2 < path.size() ? hex_value(path[i + 1]) : -1;
    int lo = i + 2 < path.size() ? hex_value(path[i + 2]) : -1;
    if (hi < 0 || lo < 0) return bad(uri, "a '%' not followed by two hex digits");
    decoded += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  std::string normal;
  size_t start = 0;
  while (start <= decoded.size()) {
    size_t end = decoded.find('/', start);
    if (end == std::string::npos) end = decoded.size();
    std::string_view part(decoded.data() + start, end - start);
    if (part == "..") return bad(uri, "'..' in the path");
    if (part.find('\0') != std::string_view::npos) return bad(uri, "a NUL byte in the path");
    if (!part.empty() && part != ".") {
      normal += '/';
      normal += part;
    }
    start = end + 1;
  }
  out.path = normal.empty() ? "/" : normal;
  return out;
}

std::string percent_encode_path(std::string_view path, std::string_view also_kept) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    if (unreserved(u) || c == '/' || also_kept.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

}  // namespace questlog::io
