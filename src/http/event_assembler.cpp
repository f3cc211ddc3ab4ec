#include "http/event_assembler.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "event/json.h"
#include "http/url_decode.h"
#include "util/case_fold.h"

namespace questlog::http {
namespace {

// The sources of an event's keys, in order of precedence.
enum Source : uint8_t { kField, kPath, kQuery, kBody, kHeader };

const char* json_type_name(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY:
      return "an array";
    case T::OBJECT:
      return "an object";
    case T::STRING:
      return "a string";
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE:
      return "a number";
    case T::BOOL:
      return "a boolean";
    case T::NULL_VALUE:
      return "null";
  }
  return "a value";
}

bool lower_equals(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

void append_double(std::string& out, double d) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view text(buf, static_cast<size_t>(end - buf));
  out.append(text);
  // "2" would be read back as an integer: keep it a double, as Python writes it.
  if (text.find_first_of(".e") == std::string_view::npos) out.append(".0");
}

template <typename Int>
void append_int(std::string& out, Int i) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, static_cast<size_t>(end - buf));
}

// A JSON value as compact JSON text. simdjson has checked that the document is
// UTF-8 and at most 1024 levels deep.
void append_element(std::string& out, simdjson::dom::element e) {
  using T = simdjson::dom::element_type;
  switch (e.type()) {
    case T::OBJECT: {
      simdjson::dom::object object;
      if (e.get_object().get(object)) break;  // cannot fail: the type is object
      out.push_back('{');
      bool first = true;
      for (auto [k, v] : object) {
        if (!first) out.push_back(',');
        first = false;
        event::append_json_string(out, k);
        out.push_back(':');
        append_element(out, v);
      }
      out.push_back('}');
      break;
    }
    case T::ARRAY: {
      simdjson::dom::array array;
      if (e.get_array().get(array)) break;  // cannot fail: the type is array
      out.push_back('[');
      bool first = true;
      for (simdjson::dom::element v : array) {
        if (!first) out.push_back(',');
        first = false;
        append_element(out, v);
      }
      out.push_back(']');
      break;
    }
    case T::STRING:
      event::append_json_string(out, e.get_string().value_unsafe());
      break;
    case T::INT64:
      append_int(out, e.get_int64().value_unsafe());
      break;
    case T::UINT64:
      append_int(out, e.get_uint64().value_unsafe());
      break;
    case T::DOUBLE:
      append_double(out, e.get_double().value_unsafe());
      break;
    case T::BOOL:
      out.append(e.get_bool().value_unsafe() ? "true" : "false");
      break;
    case T::NULL_VALUE:
      out.append("null");
      break;
  }
}

// `s` as a JSON string for a message: at most 64 bytes of it, then "...".
std::string excerpt(std::string_view s) {
  constexpr size_t kMax = 64;
  bool cut = s.size() > kMax;
  if (cut) {
    size_t n = kMax;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // whole characters
    s = s.substr(0, n);
  }
  std::string out;
  event::append_json_string(out, s);
  if (cut) out.append("...");
  return out;
}

}  // namespace

bool append_typed_value(std::string& out, ParamType type, std::string_view text,
                        std::string_view& why) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  switch (type) {
    case ParamType::string:
      event::append_json_string(out, text);
      return true;
    case ParamType::int64: {
      int64_t i = 0;
      auto [ptr, ec] = std::from_chars(begin, end, i);
      if (ec == std::errc::result_out_of_range) {
        why = "is out of range for an int (64 bits)";
        return false;
      }
      if (text.empty() || ec != std::errc() || ptr != end) {
        why = "is not an int";
        return false;
      }
      append_int(out, i);
      return true;
    }
    case ParamType::float64: {
      double d = 0;
      auto [ptr, ec] = std::from_chars(begin, end, d);
      if (ec == std::errc::result_out_of_range) {
        why = "is out of range for a float";
        return false;
      }
      if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(d)) {
        why = "is not a float";
        return false;
      }
      append_double(out, d);
      return true;
    }
    case ParamType::boolean:
      if (text == "1" || lower_equals(text, "true")) {
        out.append("true");
        return true;
      }
      if (text == "0" || lower_equals(text, "false")) {
        out.append("false");
        return true;
      }
      why = "is not a bool (true, false, 1 or 0)";
      return false;
  }
  return false;
}

// A hash of a folded name, to sort names by. Equal names hash alike; names
// that differ may too, which costs a comparison of their bytes, never a wrong
// answer (see build()).
uint64_t hash_name(std::string_view f) {
  constexpr uint64_t kMul = 0xFF51AFD7ED558CCDull;
  auto mix = [](uint64_t h) {
    h *= kMul;
    return h ^ (h >> 32);
  };
  const auto* p = reinterpret_cast<const unsigned char*>(f.data());
  const size_t n = f.size();
  uint64_t h = mix(0x9E3779B97F4A7C15ull ^ n);
  size_t i = 0;
  uint64_t w;
  for (; i + 8 <= n; i += 8) {
    std::memcpy(&w, p + i, 8);
    h = mix(h ^ w);
  }
  if (i < n) {
    w = 0;
    if (n >= 8) {
      std::memcpy(&w, p + n - 8, 8);  // the last 8 bytes, overlapping
    } else {
      for (size_t k = 0; k < n; ++k) w |= uint64_t{p[k]} << (8 * k);
    }
    h = mix(h ^ w);
  }
  return h;
}

struct EventAssembler::Impl {
  // A key some source offers, its folded name folds[fold_at, +fold_len).
  // Candidates are added in order of precedence: by source, then as they come.
  struct Candidate {
    uint32_t fold_at, fold_len;
    uint32_t index;  // within its source
    Source source;
  };
  struct QueryParam {
    std::string_view raw_value;
    uint32_t name_at, name_len;  // the decoded name, in names
    int declared;                // index in Route::query_params, or -1
    bool keep;
  };

  std::string folds;
  std::vector<Candidate> candidates;
  std::vector<std::pair<uint64_t, uint32_t>> order;  // (hash, candidate) to sort
  std::string names;                                 // decoded query parameter names
  std::vector<QueryParam> query;
  struct BodyMember {
    std::string_view key;
    simdjson::dom::element value;
    bool renamed;  // a reserved name: written with event::kReservedSuffix
  };
  std::vector<BodyMember> body_members;
  std::vector<char> body_keep;
  std::vector<char> header_skip;
  std::string bytes, text;  // a value being decoded
  simdjson::dom::parser parser;
  simdjson::dom::object object;

  // A body member's name as the event has it.
  std::string member_name(size_t i) const {
    std::string k(body_members[i].key);
    if (body_members[i].renamed) k.append(event::kReservedSuffix);
    return k;
  }

  // A client's key named for a reserved key (folds[at, end) is its fold):
  // both names get the suffix; returns whether it was.
  bool rename_reserved(size_t fold_at, std::string* name) {
    if (!event::is_reserved_key(std::string_view(folds).substr(fold_at))) return false;
    folds.append(event::kReservedSuffix);
    if (name) name->append(event::kReservedSuffix);
    return true;
  }

  std::string_view fold(uint32_t c) const {
    return {folds.data() + candidates[c].fold_at, candidates[c].fold_len};
  }

  // Takes folds[at, end) as the folded name of a key of `source`.
  void add_folded(size_t at, Source source, size_t index) {
    candidates.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(folds.size() - at),
                          static_cast<uint32_t>(index), source});
  }
  void add(std::string_view name, bool folded, Source source, size_t index) {
    const size_t at = folds.size();
    if (folded)
      folds.append(name);
    else
      append_fold_case(name, folds);
    add_folded(at, source, index);
  }

  // Candidates order[begin, end) have one name, the first the winner. Marks
  // the others left out; returns false, with `error`, for a repeated body key.
  bool settle(size_t begin, size_t end, std::string& error);
};

bool EventAssembler::Impl::settle(size_t begin, size_t end, std::string& error) {
  const Candidate& winner = candidates[order[begin].second];
  const Candidate* body_key = winner.source == kBody ? &winner : nullptr;
  for (size_t k = begin + 1; k < end; ++k) {
    const Candidate& c = candidates[order[k].second];
    switch (c.source) {
      case kQuery:  // a repeated parameter, or one an earlier source has
        query[c.index].keep = false;
        break;
      case kBody:
        if (body_key) {
          // As sent, unless only one was renamed, which is then why they meet.
          const bool as_renamed =
              body_members[body_key->index].renamed != body_members[c.index].renamed;
          const std::string a = as_renamed ? member_name(body_key->index)
                                           : std::string(body_members[body_key->index].key);
          const std::string b =
              as_renamed ? member_name(c.index) : std::string(body_members[c.index].key);
          error = a == b ? fmt::format("the JSON body has the key {} twice", excerpt(a))
                         : fmt::format(
                               "the JSON body has the keys {} and {}, which differ only in case "
                               "(Spark does not allow both)",
                               excerpt(a), excerpt(b));
          return false;
        }
        body_key = &c;
        body_keep[c.index] = 0;
        break;
      case kHeader:  // repeated headers are joined; others give way
        if (winner.source != kHeader) header_skip[c.index] = 1;
        break;
      default:  // kField, kPath: never second (checked at load)
        break;
    }
  }
  return true;
}

EventAssembler::EventAssembler() : impl_(std::make_unique<Impl>()) {}
EventAssembler::~EventAssembler() = default;

bool EventAssembler::build(const Route& route, const RouteMatch& m, std::string_view query,
                           std::string* body, const event::EventBuilder& headers,
                           std::string& out) {
  Impl& p = *impl_;
  error_.clear();
  out.clear();
  p.folds.clear();
  p.candidates.clear();
  p.names.clear();
  p.query.clear();
  p.body_members.clear();

  // Every source's keys. The route's own (fields, path parameters, the query
  // parameters it names) were checked at load: none differ only in case.
  for (size_t i = 0; i < route.fields.size(); ++i) p.add(route.folded_fields[i], true, kField, i);
  for (size_t i = 0; i < route.path_params.size(); ++i)
    p.add(route.path_params[i].folded, true, kPath, i);

  if (route.all_query || !route.query_params.empty()) {
    QueryPairs pairs(query);
    std::string_view raw_name, raw_value;
    while (pairs.next(raw_name, raw_value)) {
      p.bytes.clear();
      append_query_component(raw_name, p.bytes);
      const size_t name_at = p.names.size();
      append_utf8_replacing(p.names, p.bytes);
      std::string_view name(p.names.data() + name_at, p.names.size() - name_at);
      const size_t fold_at = p.folds.size();
      append_fold_case(name, p.folds);
      std::string_view folded(p.folds.data() + fold_at, p.folds.size() - fold_at);
      int declared = -1;
      for (size_t d = 0; d < route.query_params.size(); ++d)
        if (route.query_params[d].folded == folded) declared = static_cast<int>(d);
      if (declared < 0 && !route.all_query) {  // a parameter the route does not keep
        p.folds.resize(fold_at);
        p.names.resize(name_at);
        continue;
      }
      if (name.empty()) {
        error_ = "a query parameter has an empty name, which no column can have";
        return false;
      }
      if (declared < 0) p.rename_reserved(fold_at, &p.names);  // declared ones never are
      p.add_folded(fold_at, kQuery, p.query.size());
      p.query.push_back({raw_value, static_cast<uint32_t>(name_at),
                         static_cast<uint32_t>(p.names.size() - name_at), declared, true});
    }
  }

  if (body) {
    const size_t size = body->size();
    if (size == 0) {
      error_ = "the body is empty; this route takes a JSON object";
      return false;
    }
    body->append(simdjson::SIMDJSON_PADDING, '\0');
    simdjson::dom::element root;
    auto err = p.parser.parse(body->data(), size, false).get(root);
    body->resize(size);
    if (err == simdjson::UTF8_ERROR) {
      error_ = "the body is not valid UTF-8";
      return false;
    }
    if (err) {
      error_ = fmt::format("the body is not valid JSON: {}", simdjson::error_message(err));
      return false;
    }
    if (root.get_object().get(p.object)) {
      error_ = fmt::format("the body is {}, not a JSON object", json_type_name(root.type()));
      return false;
    }
    for (auto [key, value] : p.object) {
      if (key.empty()) {
        error_ = "the JSON body has an empty key, which no column can have";
        return false;
      }
      const size_t fold_at = p.folds.size();
      append_fold_case(key, p.folds);
      const bool renamed = p.rename_reserved(fold_at, nullptr);
      p.add_folded(fold_at, kBody, p.body_members.size());
      p.body_members.push_back({key, value, renamed});
    }
    p.body_keep.assign(p.body_members.size(), 1);
  }

  for (size_t i = 0; i < headers.header_count(); ++i)
    p.add(headers.header_name(i), false, kHeader, i);
  p.header_skip.assign(headers.header_count(), 0);

  // Equal names next to each other, the winner first: sorted by hash, name
  // (compared only when hashes are equal) and precedence. O(n log n) whatever
  // the client sends (1,000 query parameters, a body of many keys).
  p.order.clear();
  for (uint32_t i = 0; i < p.candidates.size(); ++i) p.order.emplace_back(hash_name(p.fold(i)), i);
  std::sort(p.order.begin(), p.order.end(), [&p](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    if (int c = p.fold(a.second).compare(p.fold(b.second)); c != 0) return c < 0;
    return a.second < b.second;
  });
  for (size_t g = 0; g < p.order.size();) {
    size_t end = g + 1;
    while (end < p.order.size() && p.order[end].first == p.order[g].first &&
           p.fold(p.order[end].second) == p.fold(p.order[g].second))
      ++end;
    if (end - g > 1 && !p.settle(g, end, error_)) return false;
    g = end;
  }

  // The event, source by source.
  out.push_back('{');
  bool first = true;
  auto key = [&](std::string_view k) {
    if (!first) out.push_back(',');
    first = false;
    event::append_json_string(out, k);
    out.push_back(':');
  };
  auto json_key = [&](std::string_view k) {  // `"name":`, encoded at load
    if (!first) out.push_back(',');
    first = false;
    out.append(k);
  };
  std::string_view why;
  for (size_t i = 0; i < route.fields.size(); ++i) {
    json_key(route.field_keys[i]);
    out.append(route.fields[i].json_value);
  }
  for (size_t i = 0; i < route.path_params.size(); ++i) {
    const Param& param = route.path_params[i];
    json_key(param.json_key);
    p.text.clear();
    append_utf8_replacing(p.text, m.param(i));
    if (!append_typed_value(out, param.type, p.text, why)) {
      error_ = fmt::format("path parameter {}: {} {}", param.name, excerpt(p.text), why);
      return false;
    }
  }
  for (const Impl::QueryParam& q : p.query) {
    if (!q.keep) continue;
    const Param* declared = q.declared >= 0 ? &route.query_params[q.declared] : nullptr;
    if (declared)
      json_key(declared->json_key);
    else
      key(std::string_view(p.names.data() + q.name_at, q.name_len));
    p.bytes.clear();
    append_query_component(q.raw_value, p.bytes);
    p.text.clear();
    append_utf8_replacing(p.text, p.bytes);
    if (!append_typed_value(out, declared ? declared->type : ParamType::string, p.text, why)) {
      error_ = fmt::format("query parameter {}: {} {}", declared->name, excerpt(p.text), why);
      return false;
    }
  }
  for (size_t i = 0; i < p.body_members.size(); ++i) {
    if (!p.body_keep[i]) continue;
    const Impl::BodyMember& member = p.body_members[i];
    if (member.renamed) {
      p.text.assign(member.key).append(event::kReservedSuffix);
      key(p.text);
    } else {
      key(member.key);
    }
    append_element(out, member.value);
  }
  headers.append_headers(out, first, p.header_skip);
  out.push_back('}');
  return true;
}

}  // namespace questlog::http
