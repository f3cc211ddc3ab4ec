// Helpers the routes and event tests share: a routes file parsed for a test,
// and one request run as the server runs it, from routing to its event.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "event/event_builder.h"
#include "http/event_assembler.h"
#include "http/routes.h"
#include "http/url_decode.h"

namespace questlog::http::test_util {

// The routes file `toml`; a test that gives one that does not load fails (and
// gets the defaults).
inline RouteTable routes_from(const std::string& toml, const std::string& name = "t.toml") {
  auto t = RouteTable::parse(toml, name);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t).value() : RouteTable::defaults();
}

struct Request {
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> body;  // sent when the route takes a body
  std::string method = "GET";
};

// Runs requests against one routes file: routing, headers, then the event as
// EventAssembler writes it (for any route), or "400: reason" / "404".
class EventHarness {
 public:
  explicit EventHarness(const std::string& toml) : table_(routes_from(toml)) {}

  std::string get(const std::string& target) { return run({target, {}, std::nullopt, "GET"}); }

  std::string run(const Request& r) {
    const Route* route = table_.match(r.target, match_);
    if (!route) return "404";
    headers_.reset();
    for (const auto& [name, value] : r.headers) headers_.add_header(name, value);
    body_ = r.body.value_or("");
    std::string* body = route->takes_body(r.method) ? &body_ : nullptr;
    if (!assembler_.build(*route, match_, query_of(r.target), body, headers_, event_))
      return "400: " + assembler_.error();
    return event_;
  }

 private:
  RouteTable table_;
  RouteMatch match_;
  event::EventBuilder headers_;
  EventAssembler assembler_;
  std::string body_, event_;
};

}  // namespace questlog::http::test_util
