// HTTP request bytes -> event, as serve turns them into one: Beast's parser
// with the server's callbacks (http/request_parser.h), the route table, then
// the event builder or assembler, with no socket. Pipelined requests in one
// input are parsed in turn, as a connection does.
//
// What must hold: whatever the bytes, every event logged is one JSON object
// whose names differ from each other even without case (http/event_assembler.h),
// none of them a reserved key's (event::kReservedKeys: a client's is renamed).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "http/event_assembler.h"
#include "http/request_parser.h"
#include "http/routes.h"
#include "util/case_fold.h"

namespace {

using namespace questlog;

// config/guild_game.toml's kinds of route, and a route that keeps every query parameter.
constexpr std::string_view kRoutes = R"(
[[route]]
path = "/"
event = { event_type = "default" }
[[route]]
path = "/purchase_a_knife"
event = { event_type = "purchase_knife", description = "very sharp knife" }
[[route]]
path = "/purchase_a_sword/{sword_type}"
query = ["color", "quantity", "price"]
types = { quantity = "int", price = "float" }
event = { event_type = "purchase_sword" }
[[route]]
path = "/join_guild/{guild_name}"
query = ["officer", "level"]
types = { officer = "bool", level = "int" }
event = { event_type = "join_guild" }
[[route]]
path = "/inventory/{player}"
request_body = "json"
methods = ["POST", "PUT", "GET"]
event = { event_type = "inventory_snapshot" }
[[route]]
path = "/quest/{quest}/{step}"
query = "*"
types = { step = "int", xp = "int" }
event = { event_type = "quest", "Host" = "route's own" }
)";

const http::RouteTable& routes() {
  static const http::RouteTable table = [] {
    auto t = http::RouteTable::parse(kRoutes, "fuzz routes");
    if (!t.ok()) std::abort();
    return std::move(t).value();
  }();
  return table;
}

// One JSON object, no two names equal without case, no reserved name.
void check_event(const std::string& event) {
  static simdjson::dom::parser parser;
  simdjson::padded_string padded(event);
  simdjson::dom::object object;
  if (parser.parse(padded).get_object().get(object) != simdjson::SUCCESS) std::abort();
  std::set<std::string> folded;
  for (auto field : object) {
    const std::string name = fold_case(field.key);
    if (event::is_reserved_key(name)) std::abort();
    if (!folded.insert(name).second) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static http::EventAssembler assembler;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  http::RequestHead head;
  std::string event;
  while (!in.empty()) {
    head.reset();
    http::RequestParser parser(head, routes(), 8192, 1 << 20);
    bool done = false;
    while (!in.empty()) {
      boost::beast::error_code ec;
      size_t used = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
      in.remove_prefix(used);
      if (ec || parser.is_done()) {
        done = !ec;
        break;
      }
      if (used == 0) break;  // needs more than the input holds
    }
    if (!done) {
      if (in.empty() && !parser.is_done()) {
        boost::beast::error_code ec;
        parser.put_eof(ec);  // the client closed: a body up to the close ends here
        done = !ec && parser.is_done();
      }
      if (!done) return 0;
    }
    const http::Route* route = head.route;
    if (!route || !route->allows(head.method) || head.method == "OPTIONS") continue;
    if (route->plain()) {
      head.headers.build(route->fields, event);
    } else {
      std::string* body = route->takes_body(head.method) ? &head.body : nullptr;
      if (!assembler.build(*route, head.match, http::query_of(http::origin_form(head.target)), body,
                           head.headers, event)) {
        if (assembler.error().empty() || assembler.error().find('\n') != std::string::npos)
          std::abort();  // a 400 says why, in one line
        continue;
      }
    }
    check_event(event);
    if (!parser.keep_alive()) return 0;
  }
  return 0;
}
