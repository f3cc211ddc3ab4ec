#include "http/routes.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <sstream>

#include "event/json.h"
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

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The path of a request target, with %XX decoded as Werkzeug decodes it before
// matching. Returns false for a target that is not a path ("*", absolute-form).
bool decode_path(std::string_view target, std::string& out) {
  target = target.substr(0, target.find('?'));
  if (target.empty() || target[0] != '/') return false;
  out.clear();
  for (size_t i = 0; i < target.size(); ++i) {
    int hi, lo;
    if (target[i] == '%' && i + 2 < target.size() && (hi = hex_value(target[i + 1])) >= 0 &&
        (lo = hex_value(target[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(target[i]);
    }
  }
  return true;
}

template <typename Node>  // toml::node or toml::key
Status route_error(const std::string& source, const Node& node, const std::string& what) {
  const auto& where = node.source().begin;
  return Status::error(Errc::invalid_argument,
                       source + ":" + std::to_string(where.line) + ": " + what);
}

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }

// `name` with control characters as \uXXXX, for messages.
std::string printable(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (is_control(c))
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  return out;
}

// Why `name` cannot name an event field next to `fields` (it could never be a
// column: see extract/column_names.h), or "" when it can.
std::string field_name_problem(const std::string& name, const std::vector<event::Field>& fields) {
  if (name.empty()) return "event field name must not be empty";
  if (std::any_of(name.begin(), name.end(), is_control))
    return "event field name '" + printable(name) + "' must not contain control characters";
  const std::string folded = fold_case(name);
  for (const event::Field& f : fields)
    if (fold_case(f.name) == folded)
      return "event fields '" + f.name + "' and '" + name +
             "' differ only in case, which Spark does not allow";
  return {};
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

Result<Route> parse_route(const toml::table& t, const std::string& source) {
  Route r;
  for (auto&& [k, v] : t) {
    std::string_view key = k.str();
    if (key == "path") {
      auto s = v.value<std::string>();
      if (!s || s->empty() || (*s)[0] != '/')
        return route_error(source, v, "path must be a string starting with '/'");
      r.path = *s;
    } else if (key == "body") {
      auto s = v.value<std::string>();
      if (!s) return route_error(source, v, "body must be a string");
      r.body = *s;
    } else if (key == "content_type") {
      auto s = v.value<std::string>();
      if (!s) return route_error(source, v, "content_type must be a string");
      r.content_type = *s;
    } else if (key == "status") {
      auto i = v.value<int64_t>();
      if (!i || *i < 200 || *i > 299)
        return route_error(source, v, "status must be an integer from 200 to 299");
      r.status = static_cast<int>(*i);
    } else if (key == "methods") {
      auto arr = v.as_array();
      if (!arr || arr->empty()) return route_error(source, v, "methods must be a list of names");
      for (auto&& m : *arr) {
        auto s = m.value<std::string>();
        if (!s || s->empty()) return route_error(source, m, "methods must be a list of names");
        std::string up = *s;
        std::transform(up.begin(), up.end(), up.begin(), ::toupper);
        r.methods.push_back(up);
      }
    } else if (key == "event") {
      auto ev = v.as_table();
      if (!ev) return route_error(source, v, "event must be a table of fields");
      // toml++ keeps keys sorted; the event keeps the order the file gives.
      std::vector<std::pair<const toml::key*, const toml::node*>> fields;
      for (auto&& [fk, fv] : *ev) fields.emplace_back(&fk, &fv);
      std::sort(fields.begin(), fields.end(), [](auto& a, auto& b) {
        auto pa = a.first->source().begin, pb = b.first->source().begin;
        return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
      });
      const std::string route = "route " + t["path"].value_or(std::string("?")) + ": ";
      for (auto [fk, fv] : fields) {
        event::Field f{std::string(fk->str()), {}};
        if (std::string why = field_name_problem(f.name, r.fields); !why.empty())
          return route_error(source, *fk, route + why);
        if (!field_json(*fv, f.json_value))
          return route_error(source, *fv,
                             "event field '" + f.name + "' must be a string, number or boolean");
        r.fields.push_back(std::move(f));
      }
    } else {
      return route_error(source, v, "unknown route key '" + std::string(key) + "'");
    }
  }
  if (r.path.empty()) return route_error(source, t, "route has no path");
  if (r.methods.empty()) r.methods = {"GET"};
  return r;
}

}  // namespace

bool Route::allows(std::string_view method) const {
  for (const auto& m : methods)
    if (m == method || (method == "HEAD" && m == "GET")) return true;
  return false;
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
      return route_error(source, v,
                         "unknown key '" + std::string(k.str()) + "' (expected [[route]])");
  }
  auto routes = doc["route"].as_array();
  if (!routes || routes->empty())
    return Status::error(Errc::invalid_argument, source + ": no [[route]] tables");
  for (auto&& node : *routes) {
    auto t = node.as_table();
    if (!t) return route_error(source, node, "each route must be a table");
    auto r = parse_route(*t, source);
    if (!r.ok()) return r.status();
    if (table.by_path_.count(r->path))
      return route_error(source, node, "duplicate route for path '" + r->path + "'");
    table.by_path_.emplace(r->path, table.routes_.size());
    table.routes_.push_back(std::move(r).value());
  }
  return table;
}

Result<RouteTable> RouteTable::load(const std::string& path) {
  auto text = read_file(path);
  if (!text.ok()) return text.status();
  return parse(*text, path);
}

const Route* RouteTable::find(std::string_view target) const {
  thread_local std::string path;
  if (!decode_path(target, path)) return nullptr;
  auto it = by_path_.find(path);
  return it == by_path_.end() ? nullptr : &routes_[it->second];
}

}  // namespace questlog::http
