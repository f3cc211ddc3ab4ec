// Errors as values at module boundaries (LevelDB's Status, Redpanda's result<T>).
// A Status is ok or carries a code and one human-readable line; the CLI prints
// that line as it is, so messages name the file or input they are about.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace questlog {

enum class Errc {
  ok = 0,
  invalid_argument,  // bad flag, bad config, bad input
  io_error,          // a system call on a file or socket failed
  corruption,        // bytes on disk fail their checksum or framing
  busy,              // resource held elsewhere (log locked, queue full)
  not_found,
  already_exists,  // a create that must not replace found something there
};

class Status {
 public:
  Status() = default;
  static Status error(Errc code, std::string message) { return Status(code, std::move(message)); }

  bool ok() const { return code_ == Errc::ok; }
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}
  Errc code_ = Errc::ok;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be ok

  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

// errno as a Status: "<what>: <strerror>".
Status errno_status(const std::string& what, int err);

}  // namespace questlog
