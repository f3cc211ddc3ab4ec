#include "http/routes.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <sstream>

#include "event/json.h"
#include "http/url_decode.h"
#include "io/file_system.h"
#include "util/case_fold.h"
#include "util/toml_file.h"

namespace questlog::http {
namespace {

constexpr std::string_view kDefaultRoutes = R"(# The seed's game API (game_api.py), byte for byte.
[[route]]
path = "/"
body = "This is the default response!\n"
event = { event_type = "default" }

[[route]]
path = "/purchase_a_sword"
body = "Sword Purchased!\n"
event = { event_type = "purchase_sword" }

[[route]]
path = "/purchase_a_knife"
body = "Knife Purchased!\n"
event = { event_type = "purchase_knife", description = "very sharp knife" }
)";

template <typename Node>  // toml::node or toml::key
Status route_error(const std::string& source, const Node& node, const std::string& what) {
  return toml_error(source, node.source().begin.line, what);
}

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }

std::string printable(std::string_view name) { return escape_controls(name); }

// A name a route puts in its events: an event field, a path parameter or a
// query parameter (`kind`).
struct Key {
  std::string_view kind;
  std::string name;
  std::string folded;
};

// Why `name`, a `kind`, cannot be a key of the route's events next to `taken`
// (it could never be a column: see extract/column_names.h), or "" when it can.
std::string key_problem(std::string_view kind, const std::string& name,
                        const std::vector<Key>& taken) {
  if (name.empty()) return fmt::format("{} name must not be empty", kind);
  if (std::any_of(name.begin(), name.end(), is_control))
    return fmt::format("{} name '{}' must not contain control characters", kind, printable(name));
  const std::string folded = fold_case(name);
  for (std::string_view reserved : event::kReservedKeys)
    if (folded == fold_case(reserved))
      return fmt::format("{} name '{}' is reserved: every table has a '{}' column of its own", kind,
                         name, reserved);
  for (const Key& k : taken) {
    if (k.folded != folded) continue;
    if (k.name == name && k.kind == kind) return fmt::format("{} '{}' appears twice", kind, name);
    if (k.name == name)
      return fmt::format("{} '{}' has the name of {} {}: an event has one value per name", kind,
                         name, k.kind.front() == 'e' ? "an" : "a", k.kind);
    if (k.kind == kind)
      return fmt::format("{}s '{}' and '{}' differ only in case, which Spark does not allow", kind,
                         k.name, name);
    return fmt::format("{} '{}' and {} '{}' differ only in case, which Spark does not allow",
                       k.kind, k.name, kind, name);
  }
  return {};
}

// A method name must be an HTTP token (RFC 9110 §5.6.2): it goes into the Allow header.
bool is_token(std::string_view s) {
  constexpr std::string_view kPunct = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           kPunct.find(c) != std::string_view::npos;
  });
}

// An event field's value as JSON: strings, integers, floats and booleans.
bool field_json(const toml::node& value, std::string& out) {
  if (auto s = value.as_string()) {
    event::append_json_string(out, s->get());
  } else if (auto i = value.as_integer()) {
    out = std::to_string(i->get());
  } else if (auto b = value.as_boolean()) {
    out = b->get() ? "true" : "false";
  } else if (auto f = value.as_floating_point()) {
    std::ostringstream os;
    os.precision(17);
    os << f->get();
    out = os.str();
    if (out.find_first_not_of("-0123456789.e+") != std::string::npos) return false;  // inf, nan
  } else {
    return false;
  }
  return true;
}

bool param_type(std::string_view name, ParamType& out) {
  if (name == "string") return out = ParamType::string, true;
  if (name == "int") return out = ParamType::int64, true;
  if (name == "float") return out = ParamType::float64, true;
  if (name == "bool") return out = ParamType::boolean, true;
  return false;
}

// A route being read: its keys' nodes, taken in a fixed order whatever the
// order in the file (toml++ iterates keys sorted).
class RouteReader {
 public:
  RouteReader(const toml::table& t, const std::string& source) : t_(t), source_(source) {}

  Result<Route> read() {
    for (auto&& [k, v] : t_) {
      static constexpr std::string_view kKeys[] = {"path",   "body",    "content_type",
                                                   "status", "methods", "event",
                                                   "query",  "types",   "request_body"};
      if (std::find(std::begin(kKeys), std::end(kKeys), k.str()) == std::end(kKeys))
        return route_error(source_, v, fmt::format("unknown route key '{}'", k.str()));
    }
    r_.line = static_cast<int>(t_.source().begin.line);
    Status s = read_path();
    if (s.ok()) s = read_response();
    if (s.ok()) s = read_methods_and_body();
    if (s.ok()) s = read_event();
    if (s.ok()) s = read_path_params();
    if (s.ok()) s = read_query_and_types();
    if (!s.ok()) return s;
    for (const Key& k : keys_)
      if (k.kind == "event field") r_.folded_fields.push_back(k.folded);
    auto json_key = [](const std::string& name) {
      std::string key;
      event::append_json_string(key, name);
      return key + ':';
    };
    for (const event::Field& f : r_.fields) r_.field_keys.push_back(json_key(f.name));
    for (Param& p : r_.path_params) p.json_key = json_key(p.name);
    for (Param& p : r_.query_params) p.json_key = json_key(p.name);
    return std::move(r_);
  }

 private:
  const toml::node* node(std::string_view key) const { return t_.get(key); }
  Status error(const toml::node& n, const std::string& what) const {
    return route_error(source_, n, what);
  }
  template <typename Node>
  Status key_error(const Node& n, const std::string& what) const {
    return route_error(source_, n, fmt::format("route {}: {}", r_.path, what));
  }

  // Adds a key of the route's events, or says why it cannot be one.
  template <typename Node>
  Status add_key(const Node& n, std::string_view kind, const std::string& name) {
    if (std::string why = key_problem(kind, name, keys_); !why.empty()) return key_error(n, why);
    keys_.push_back({kind, name, fold_case(name)});
    return Status();
  }

  Status read_path() {
    const toml::node* v = node("path");
    if (!v) return route_error(source_, t_, "route has no path");
    auto s = v->value<std::string>();
    if (!s || s->empty() || (*s)[0] != '/')
      return error(*v, "path must be a string starting with '/'");
    r_.path = *s;
    if (r_.path.find('?') != std::string::npos)
      return key_error(*v,
                       "path must not contain '?': a route matches the path without the query "
                       "string (name the query parameters to keep with query)");
    return Status();
  }

  Status read_response() {
    if (const toml::node* v = node("body")) {
      auto s = v->value<std::string>();
      if (!s) return error(*v, "body must be a string");
      r_.body = *s;
    }
    if (const toml::node* v = node("content_type")) {
      auto s = v->value<std::string>();
      if (!s) return error(*v, "content_type must be a string");
      if (std::any_of(s->begin(), s->end(), is_control))
        return key_error(*v, fmt::format("content_type '{}' must not contain control characters "
                                         "(it is sent as a response header)",
                                         printable(*s)));
      r_.content_type = *s;
    }
    if (const toml::node* v = node("status")) {
      auto i = v->value<int64_t>();
      if (!i || *i < 200 || *i > 299) return error(*v, "status must be an integer from 200 to 299");
      r_.status = static_cast<int>(*i);
      // RFC 9110 §15.3.5 and §15.3.6: these responses end at the header section.
      if ((r_.status == 204 || r_.status == 205) && !r_.body.empty())
        return key_error(*v,
                         fmt::format("status {} must not have a body (body = \"\")", r_.status));
    }
    return Status();
  }

  Status read_methods_and_body() {
    if (const toml::node* v = node("methods")) {
      auto arr = v->as_array();
      if (!arr || arr->empty()) return error(*v, "methods must be a list of names");
      for (auto&& m : *arr) {
        auto s = m.value<std::string>();
        if (!s || s->empty()) return error(m, "methods must be a list of names");
        if (!is_token(*s))
          return key_error(m, fmt::format("method '{}' must be a token: letters, digits and "
                                          "!#$%&'*+-.^_`|~ (it is sent in the Allow header)",
                                          printable(*s)));
        std::string up = *s;
        std::transform(up.begin(), up.end(), up.begin(), ::toupper);
        r_.methods.push_back(up);
      }
    }
    if (const toml::node* v = node("request_body")) {
      auto s = v->value<std::string>();
      if (!s || *s != "json")
        return error(
            *v, "request_body must be \"json\" (a JSON object whose fields go into the event)");
      r_.request_body = RequestBody::json;
      if (r_.methods.empty()) r_.methods = {"POST"};
      if (std::none_of(r_.methods.begin(), r_.methods.end(),
                       [&](const std::string& m) { return r_.takes_body(m); }))
        return key_error(*v,
                         "request_body = \"json\" needs a method that sends a body, such as "
                         "methods = [\"POST\"]");
    }
    if (r_.methods.empty()) r_.methods = {"GET"};
    return Status();
  }

  Status read_event() {
    const toml::node* v = node("event");
    if (!v) return Status();
    auto ev = v->as_table();
    if (!ev) return error(*v, "event must be a table of fields");
    // toml++ keeps keys sorted; the event keeps the order the file gives.
    std::vector<std::pair<const toml::key*, const toml::node*>> fields;
    for (auto&& [fk, fv] : *ev) fields.emplace_back(&fk, &fv);
    std::sort(fields.begin(), fields.end(), [](auto& a, auto& b) {
      auto pa = a.first->source().begin, pb = b.first->source().begin;
      return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
    });
    for (auto [fk, fv] : fields) {
      event::Field f{std::string(fk->str()), {}};
      if (Status s = add_key(*fk, "event field", f.name); !s.ok()) return s;
      if (!field_json(*fv, f.json_value))
        return error(*fv,
                     fmt::format("event field '{}' must be a string, number or boolean", f.name));
      r_.fields.push_back(std::move(f));
    }
    return Status();
  }

  // `{name}` segments of the path.
  Status read_path_params() {
    const toml::node& v = *node("path");
    std::string_view rest = std::string_view(r_.path).substr(1);
    std::vector<Route::Segment> segments;
    while (true) {
      size_t slash = rest.find('/');
      std::string_view seg = rest.substr(0, slash);
      Route::Segment s;
      if (seg.find_first_of("{}") == std::string_view::npos) {
        s.literal = std::string(seg);
      } else {
        if (seg.size() < 2 || seg.front() != '{' || seg.back() != '}' ||
            seg.substr(1, seg.size() - 2).find_first_of("{}") != std::string_view::npos)
          return key_error(v, fmt::format("a path parameter is a whole segment, as in "
                                          "/purchase_a_sword/{{sword_type}}; '{}' is not one",
                                          seg));
        Param p{std::string(seg.substr(1, seg.size() - 2)), {}, ParamType::string, {}};
        if (Status st = add_key(v, "path parameter", p.name); !st.ok()) return st;
        p.folded = keys_.back().folded;
        s.param = static_cast<int>(r_.path_params.size());
        r_.path_params.push_back(std::move(p));
      }
      segments.push_back(std::move(s));
      if (slash == std::string_view::npos) break;
      rest = rest.substr(slash + 1);
    }
    r_.segments = std::move(segments);
    return Status();
  }

  Status read_query_and_types() {
    if (const toml::node* v = node("query")) {
      if (auto all = v->value<std::string>(); all && *all == "*") {
        r_.all_query = true;
      } else if (auto arr = v->as_array()) {
        for (auto&& q : *arr) {
          auto name = q.value<std::string>();
          if (!name) return error(q, "query must be a list of parameter names or \"*\"");
          if (Status s = add_key(q, "query parameter", *name); !s.ok()) return s;
          r_.query_params.push_back({*name, keys_.back().folded, ParamType::string, {}});
        }
      } else {
        return error(*v, "query must be a list of parameter names or \"*\"");
      }
    }
    const toml::node* v = node("types");
    if (!v) return Status();
    auto types = v->as_table();
    if (!types) return error(*v, "types must be a table of parameter = \"type\"");
    for (auto&& [tk, tv] : *types) {
      const std::string name(tk.str());
      ParamType type = ParamType::string;
      auto tname = tv.value<std::string>();
      if (!tname || !param_type(*tname, type))
        return key_error(tv, fmt::format("the type of '{}' must be \"string\", \"int\", "
                                         "\"float\" or \"bool\"",
                                         name));
      Param* p = nullptr;
      for (auto& pp : r_.path_params)
        if (pp.name == name) p = &pp;
      for (auto& qp : r_.query_params)
        if (qp.name == name) p = &qp;
      if (!p && r_.all_query) {  // a query parameter this route keeps, as all others
        if (Status s = add_key(tk, "query parameter", name); !s.ok()) return s;
        r_.query_params.push_back({name, keys_.back().folded, ParamType::string, {}});
        p = &r_.query_params.back();
      }
      if (!p)
        return key_error(tk, fmt::format("types names '{}', which is neither a path parameter "
                                         "nor a query parameter of the route (list it in query)",
                                         name));
      p->type = type;
    }
    return Status();
  }

  const toml::table& t_;
  const std::string& source_;
  Route r_;
  std::vector<Key> keys_;  // the names the route's events hold so far
};

// Whether a literal segment and a parameter, or two segments, can match one
// segment of a path.
bool overlap(const Route::Segment& a, const Route::Segment& b) {
  if (a.param >= 0 && b.param >= 0) return true;
  if (a.param >= 0) return !b.literal.empty();
  if (b.param >= 0) return !a.literal.empty();
  return a.literal == b.literal;
}

// A path both routes match, or "" when there is none.
std::string common_path(const Route& a, const Route& b) {
  if (a.segments.size() != b.segments.size()) return {};
  std::string path;
  for (size_t i = 0; i < a.segments.size(); ++i) {
    const Route::Segment &x = a.segments[i], &y = b.segments[i];
    if (!overlap(x, y)) return {};
    path += '/';
    path += x.param < 0 ? x.literal : y.param < 0 ? y.literal : "x";
  }
  return path;
}

}  // namespace

bool Route::allows(std::string_view method) const {
  for (const auto& m : methods)
    if (m == method || (method == "HEAD" && m == "GET")) return true;
  return false;
}

bool Route::takes_body(std::string_view method) const {
  return request_body == RequestBody::json && method != "GET" && method != "HEAD";
}

std::string Route::allow_header() const {
  std::vector<std::string> all = methods;
  if (allows("GET")) all.push_back("HEAD");
  all.push_back("OPTIONS");
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  std::string out;
  for (const auto& m : all) out += (out.empty() ? "" : ", ") + m;
  return out;
}

RouteTable RouteTable::defaults() {
  auto t = parse(kDefaultRoutes, "built-in routes");
  return std::move(t).value();
}

Result<RouteTable> RouteTable::parse(std::string_view text, const std::string& source) {
  auto parsed = parse_toml(text, source);
  if (!parsed.ok()) return parsed.status();
  const toml::table& doc = *parsed;
  RouteTable table;
  for (auto&& [k, v] : doc) {
    if (k.str() != "route")
      return route_error(source, v, fmt::format("unknown key '{}' (expected [[route]])", k.str()));
  }
  auto routes = doc["route"].as_array();
  if (!routes || routes->empty())
    return Status::error(Errc::invalid_argument, fmt::format("{}: no [[route]] tables", source));
  for (auto&& node : *routes) {
    auto t = node.as_table();
    if (!t) return route_error(source, node, "each route must be a table");
    auto r = RouteReader(*t, source).read();
    if (!r.ok()) return r.status();
    if (r->path_params.empty() && table.by_path_.count(r->path))
      return route_error(source, node, fmt::format("duplicate route for path '{}'", r->path));
    // A path matches one route at most: no rule of precedence to remember.
    for (const Route& earlier : table.routes_) {
      if (earlier.path_params.empty() && r->path_params.empty()) continue;  // by_path_
      std::string both = common_path(earlier, *r);
      if (!both.empty())
        return route_error(source, node,
                           fmt::format("route {} is ambiguous with route {} (line {}): both "
                                       "match {}; a path must match one route only",
                                       r->path, earlier.path, earlier.line, both));
    }
    if (r->path_params.empty())
      table.by_path_.emplace(r->path, table.routes_.size());
    else
      table.with_params_.push_back(table.routes_.size());
    table.routes_.push_back(std::move(r).value());
  }
  return table;
}

Result<RouteTable> RouteTable::load(const std::string& path) {
  auto text = io::read_file(io::local_file_system(), path);
  if (!text.ok()) return text.status();
  return parse(*text, path);
}

const Route* RouteTable::match(std::string_view target, RouteMatch& m) const {
  m.params.clear();
  if (!decode_path(target, m.path)) return nullptr;
  auto it = by_path_.find(m.path);
  if (it != by_path_.end()) return &routes_[it->second];
  if (with_params_.empty()) return nullptr;
  const std::string_view path = m.path;
  const size_t segments = static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
  for (size_t index : with_params_) {
    const Route& r = routes_[index];
    if (r.segments.size() != segments) continue;
    m.params.resize(r.path_params.size());
    size_t at = 1;  // after the '/' before the segment
    bool ok = true;
    for (const Route::Segment& s : r.segments) {
      size_t end = path.find('/', at);
      if (end == std::string_view::npos) end = path.size();
      std::string_view seg = path.substr(at, end - at);
      if (s.param >= 0) {
        ok = !seg.empty();  // a parameter is never empty, as in Werkzeug
        m.params[static_cast<size_t>(s.param)] = {at, seg.size()};
      } else {
        ok = seg == s.literal;
      }
      if (!ok) break;
      at = end + 1;
    }
    if (ok) return &r;  // the only one: the table has no two routes for a path
  }
  m.params.clear();
  return nullptr;
}

const Route* RouteTable::find(std::string_view target) const {
  thread_local RouteMatch m;
  return match(target, m);
}

}  // namespace questlog::http
