#include "io/webhdfs_error.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <array>

namespace questlog::io {

std::optional<RemoteException> parse_remote_exception(std::string_view body) {
  if (body.empty()) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::object re;
  if (root["RemoteException"].get(re) != simdjson::SUCCESS) return std::nullopt;
  RemoteException out;
  std::string_view s;
  if (re["exception"].get(s) == simdjson::SUCCESS) out.exception = std::string(s);
  if (re["javaClassName"].get(s) == simdjson::SUCCESS) out.java_class = std::string(s);
  if (re["message"].get(s) == simdjson::SUCCESS) out.message = std::string(s);
  if (out.exception.empty() && !out.java_class.empty()) {
    size_t dot = out.java_class.rfind('.');
    out.exception = dot == std::string::npos ? out.java_class : out.java_class.substr(dot + 1);
  }
  if (out.exception.empty() && out.message.empty()) return std::nullopt;
  return out;
}

std::string one_line(std::string_view message) {
  size_t trace = message.find("\n\tat ");
  if (trace != std::string_view::npos) message = message.substr(0, trace);
  std::string out;
  bool space = false;
  for (char c : message) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    // Other control characters would break the line too.
    out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  }
  return out;
}

Errc errc_for(const RemoteException& e) {
  const std::string& x = e.exception;
  if (x == "FileNotFoundException") return Errc::not_found;
  if (x == "FileAlreadyExistsException") return Errc::already_exists;
  if (x == "AlreadyBeingCreatedException" || x == "RecoveryInProgressException") return Errc::busy;
  if (x == "IllegalArgumentException" || x == "UnsupportedOperationException")
    return Errc::invalid_argument;
  return Errc::io_error;
}

std::string describe_failure(long http_status, const std::optional<RemoteException>& e,
                             std::string_view body) {
  if (e) {
    std::string msg = one_line(e->message);
    if (e->exception.empty()) return msg;
    if (msg.empty()) return e->exception;
    return fmt::format("{}: {}", e->exception, msg);
  }
  std::string text = one_line(body.substr(0, 200));
  if (text.empty()) return fmt::format("HTTP {}", http_status);
  return fmt::format("HTTP {}: {}", http_status, text);
}

bool retryable(const RemoteException& e) {
  static constexpr std::array<std::string_view, 14> kFinal = {
      "AccessControlException",           "SafeModeException",           "FileNotFoundException",
      "FileAlreadyExistsException",       "ParentNotDirectoryException", "DSQuotaExceededException",
      "NSQuotaExceededException",         "QuotaExceededException",      "IllegalArgumentException",
      "UnsupportedOperationException",    "SecurityException",           "InvalidPathException",
      "PathIsNotEmptyDirectoryException", "UnresolvedPathException",
  };
  for (std::string_view f : kFinal)
    if (e.exception == f) return false;
  return true;
}

}  // namespace questlog::io
