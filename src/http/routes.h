// The game API's routes: path -> the event's fields and the response.
// Loaded from a TOML file (config/routes.toml shows the format); the built-in
// default reproduces the seed's Flask app byte for byte.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "event/event_builder.h"
#include "util/status.h"

namespace questlog::http {

struct Route {
  std::string path;                  // exact match on the decoded path, as Flask matches
  std::vector<std::string> methods;  // upper-case; GET implies HEAD, as in Flask
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::vector<event::Field> fields;  // the event's own fields, in file order

  bool allows(std::string_view method) const;
  std::string allow_header() const;  // e.g. "GET, HEAD, OPTIONS"
};

class RouteTable {
 public:
  // The seed's game API: /, /purchase_a_sword and /purchase_a_knife.
  static RouteTable defaults();
  // Parses routes from TOML text; `source` names it in error messages.
  static Result<RouteTable> parse(std::string_view toml, const std::string& source);
  static Result<RouteTable> load(const std::string& path);

  // The route for a request target (query string ignored, %XX decoded), or null.
  const Route* find(std::string_view target) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::unordered_map<std::string, size_t> by_path_;
};

}  // namespace questlog::http
