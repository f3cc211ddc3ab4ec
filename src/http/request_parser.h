// One HTTP/1.x request, parsed by Beast's parser straight into what serve needs:
// method, target, version and the event's headers. Nothing of the request is
// kept beyond that; bodies are read and dropped (the game API takes none).
#pragma once

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <string>

#include "event/event_builder.h"

namespace questlog::http {

// What a request leaves behind once parsed. Owned by the connection and reused
// across its requests, so steady-state parsing allocates nothing.
struct RequestHead {
  std::string method;
  std::string target;
  int version = 11;
  bool expects_continue = false;  // "Expect: 100-continue" on an HTTP/1.1 request
  int host_fields = 0;            // Host header lines: RFC 9112 wants exactly one in 1.1
  event::EventBuilder headers;

  void reset() {
    method.clear();
    target.clear();
    expects_continue = false;
    host_fields = 0;
    headers.reset();
  }
};

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  RequestParser(RequestHead& head, uint32_t max_header, uint64_t max_body) : head_(head) {
    header_limit(max_header);
    body_limit(max_body);
    eager(true);
  }

 private:
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;
  static std::string_view sv(string_view s) { return {s.data(), s.size()}; }

  void on_request_impl(boost::beast::http::verb, string_view method, string_view target,
                       int version, error_code&) override {
    head_.method.assign(method.data(), method.size());
    head_.target.assign(target.data(), target.size());
    head_.version = version;
  }
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field field, string_view name, string_view value,
                     error_code&) override {
    if (field == boost::beast::http::field::expect && head_.version >= 11 &&
        boost::beast::iequals(value, "100-continue"))
      head_.expects_continue = true;
    if (field == boost::beast::http::field::host) ++head_.host_fields;
    head_.headers.add_header(sv(name), sv(value));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code&) override { return body.size(); }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  RequestHead& head_;
};

}  // namespace questlog::http
