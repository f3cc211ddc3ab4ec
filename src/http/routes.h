// The game API's routes: path -> the event's fields and the response.
// Loaded from a TOML file (config/routes.toml shows the format); the built-in
// default reproduces the seed's Flask app byte for byte.
//
// A path may hold parameters, each a whole segment (`/purchase_a_sword/{sword_type}`).
// Matching is on the decoded path, segment by segment, with no regular
// expressions: a literal segment matches itself, a parameter any non-empty
// segment (never a '/', also not a decoded %2F). The table refuses at load two
// routes that could match one path, so a path matches at most one route.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "event/event_builder.h"
#include "util/status.h"

namespace questlog::http {

// The type a path or query parameter's value is checked against and logged as.
enum class ParamType { string, int64, float64, boolean };

// A path or query parameter a route declares.
struct Param {
  std::string name;    // as the routes file spells it: the event's key
  std::string folded;  // fold_case(name): parameter names compare without case
  ParamType type = ParamType::string;
  std::string json_key;  // `"name":`, as the event writes it
};

// What a route does with a request body.
enum class RequestBody { none, json };

struct Route {
  std::string path;                  // as written, e.g. "/purchase_a_sword/{sword_type}"
  int line = 0;                      // of its [[route]] in the routes file
  std::vector<std::string> methods;  // upper-case; GET implies HEAD, as in Flask
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::vector<event::Field> fields;        // the event's own fields, in file order
  std::vector<std::string> folded_fields;  // fold_case of each field name
  std::vector<std::string> field_keys;     // `"name":` of each field, as the event writes it

  // Path segments after the leading '/': a literal, or the index of a path
  // parameter (`param >= 0`).
  struct Segment {
    std::string literal;
    int param = -1;
  };
  std::vector<Segment> segments;
  std::vector<Param> path_params;   // in path order
  std::vector<Param> query_params;  // the query parameters it names (`query`, `types`)
  bool all_query = false;           // query = "*": every query parameter
  RequestBody request_body = RequestBody::none;

  bool allows(std::string_view method) const;
  std::string allow_header() const;  // e.g. "GET, HEAD, OPTIONS"
  // Whether a request with `method` must carry the route's JSON body (all
  // methods but GET and HEAD, on a route with request_body = "json").
  bool takes_body(std::string_view method) const;
  // A route whose event is only its fields and the headers: no parameters, no body.
  bool plain() const {
    return path_params.empty() && query_params.empty() && !all_query &&
           request_body == RequestBody::none;
  }
};

// Where a request's path parameters are. Reused across requests.
struct RouteMatch {
  std::string path;                               // the decoded path
  std::vector<std::pair<size_t, size_t>> params;  // offset and length in `path`, per path param
  std::string_view param(size_t i) const {
    return {path.data() + params[i].first, params[i].second};
  }
};

class RouteTable {
 public:
  // The seed's game API: /, /purchase_a_sword and /purchase_a_knife.
  static RouteTable defaults();
  // Parses routes from TOML text; `source` names it in error messages.
  static Result<RouteTable> parse(std::string_view toml, const std::string& source);
  static Result<RouteTable> load(const std::string& path);

  // The route for an origin-form request target (query string ignored, %XX
  // decoded), or null; `m` gets the decoded path and the parameters' places.
  const Route* match(std::string_view target, RouteMatch& m) const;
  // The same, for callers that do not need the parameters.
  const Route* find(std::string_view target) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::unordered_map<std::string, size_t> by_path_;  // routes without path parameters
  std::vector<size_t> with_params_;                  // the others
};

}  // namespace questlog::http
