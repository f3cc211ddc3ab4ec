// One HTTP/1.x request, parsed by Beast's parser straight into what serve needs:
// method, target, version, the event's headers, the route the target matches
// and, for a route that takes one (request_body = "json"), the body. Other
// bodies are read and dropped.
#pragma once

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <string>

#include "event/event_builder.h"
#include "http/routes.h"
#include "http/url_decode.h"

namespace questlog::http {

// What a request leaves behind once parsed. Owned by the connection and reused
// across its requests, so steady-state parsing allocates nothing.
struct RequestHead {
  std::string method;
  std::string target;
  int version = 11;
  bool expects_continue = false;   // "Expect: 100-continue" on an HTTP/1.1 request
  int host_fields = 0;             // Host header lines: RFC 9112 wants exactly one in 1.1
  int idempotency_key_fields = 0;  // Idempotency-Key header lines
  std::string idempotency_key;     // the value of the first one
  event::EventBuilder headers;
  const Route* route = nullptr;  // the route the target matches, once the headers are in
  RouteMatch match;              // its path parameters
  bool keep_body = false;        // the route takes this request's body
  std::string body;              // kept only then

  void reset() {
    method.clear();
    target.clear();
    expects_continue = false;
    host_fields = 0;
    idempotency_key_fields = 0;
    idempotency_key.clear();
    headers.reset();
    route = nullptr;
    keep_body = false;
    // A large body's memory goes back; a small one's is kept for the next request.
    if (body.capacity() > kKeptBodyCapacity)
      std::string().swap(body);
    else
      body.clear();
  }
  static constexpr size_t kKeptBodyCapacity = 64 * 1024;
};

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  RequestParser(RequestHead& head, const RouteTable& routes, uint32_t max_header, uint64_t max_body)
      : head_(head), routes_(routes) {
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
    if (boost::beast::iequals(name, "idempotency-key") && head_.idempotency_key_fields++ == 0)
      head_.idempotency_key.assign(value.data(), value.size());
    head_.headers.add_header(sv(name), sv(value));
  }
  // Routing here, before the body, says whether the body is kept.
  void on_header_impl(error_code&) override {
    head_.route = routes_.match(origin_form(head_.target), head_.match);
    head_.keep_body = head_.route && head_.route->takes_body(head_.method);
  }
  // Memory for what a Content-Length announces, up to what a connection keeps;
  // a larger body grows as it arrives, not as a client announces it.
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    if (head_.keep_body && length)
      head_.body.reserve(static_cast<size_t>(std::min<std::uint64_t>(*length, kKeptBodyCapacity)));
  }
  std::size_t on_body_impl(string_view body, error_code&) override {
    if (head_.keep_body) head_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
    if (head_.keep_body) head_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  static constexpr size_t kKeptBodyCapacity = RequestHead::kKeptBodyCapacity;
  RequestHead& head_;
  const RouteTable& routes_;
};

}  // namespace questlog::http
