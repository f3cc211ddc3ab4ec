#include "extract/event_parser.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <vector>

namespace questlog::extract {

// The DOM parser, not On Demand: Debian's libsimdjson picks the CPU's best
// kernel at run time for the DOM parser, while On Demand code is compiled into
// the caller for the baseline x86-64 target (its scalar fallback, slower here).
struct EventParser::Impl {
  explicit Impl(FieldNames& n) : names(n) {}

  FieldNames& names;
  simdjson::dom::parser parser;
  std::unique_ptr<char[]> buffer;  // the record, copied, plus SIMDJSON_PADDING
  size_t capacity = 0;
  // Keys seen lately, direct-mapped by a hash of their first bytes and length:
  // events repeat a few keys, so a key is found here with one comparison
  // instead of a locked lookup in the shared dictionary.
  struct CachedKey {
    std::string name;
    FieldId id = FieldNames::kNone;
  };
  static constexpr size_t kCacheBits = 7;
  CachedKey key_cache[size_t{1} << kCacheBits];

  FieldId id_of(std::string_view key) {
    uint64_t head = 0;
    std::memcpy(&head, key.data(), std::min<size_t>(key.size(), 8));
    uint64_t tail = key.empty() ? 0 : static_cast<unsigned char>(key.back());
    uint64_t h = (head ^ (tail << 56) ^ key.size()) * 0x9E3779B97F4A7C15ull;
    CachedKey& c = key_cache[h >> (64 - kCacheBits)];
    if (c.id != FieldNames::kNone && c.name == key) return c.id;
    c.name.assign(key);
    c.id = names.intern(key);
    return c.id;
  }

  std::deque<std::string> nested;  // JSON text of nested values (stable addresses)
  size_t nested_used = 0;

  std::string_view keep_json(simdjson::dom::element e) {
    if (nested_used == nested.size()) nested.emplace_back();
    std::string& s = nested[nested_used++];
    s = simdjson::minify(e);
    return s;
  }
};

EventParser::EventParser(FieldNames& names) : impl_(std::make_unique<Impl>(names)) {}
EventParser::~EventParser() = default;

namespace {

const char* type_name(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY:
      return "array";
    case T::OBJECT:
      return "object";
    case T::STRING:
      return "string";
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE:
      return "number";
    case T::BOOL:
      return "boolean";
    case T::NULL_VALUE:
      return "null";
  }
  return "value";
}

}  // namespace

bool EventParser::parse(std::string_view json, Event& out) {
  Impl& p = *impl_;
  out.clear();
  p.nested_used = 0;
  size_t need = json.size() + simdjson::SIMDJSON_PADDING;
  if (need > p.capacity) {
    p.capacity = std::max(need, p.capacity * 2);
    p.buffer = std::make_unique<char[]>(p.capacity);
  }
  if (!json.empty()) std::memcpy(p.buffer.get(), json.data(), json.size());
  std::memset(p.buffer.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);

  simdjson::dom::element root;
  if (auto err = p.parser.parse(p.buffer.get(), json.size(), false).get(root); err) {
    error_ = std::string("invalid JSON: ") + simdjson::error_message(err);
    return false;
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) {
    error_ = std::string("not a JSON object: ") + type_name(root.type());
    return false;
  }
  using T = simdjson::dom::element_type;
  for (auto [key, element] : object) {
    if (key.empty()) {  // the key of a column, which no reader can name
      error_ = "empty key: a column cannot have an empty name";
      return false;
    }
    FieldId id = p.id_of(key);
    if (id == FieldNames::kTimestamp) continue;
    switch (element.type()) {
      case T::STRING:
        out.set(id, Value::of_string(element.get_string().value_unsafe()));
        break;
      case T::INT64:
        out.set(id, Value::of_int(element.get_int64().value_unsafe()));
        break;
      case T::UINT64:
        out.set(id, Value::of_double(static_cast<double>(element.get_uint64().value_unsafe())));
        break;
      case T::DOUBLE:
        out.set(id, Value::of_double(element.get_double().value_unsafe()));
        break;
      case T::BOOL:
        out.set(id, Value::of_bool(element.get_bool().value_unsafe()));
        break;
      case T::NULL_VALUE:
        out.set(id, Value::null());
        break;
      case T::ARRAY:
      case T::OBJECT:
        out.set(id, Value::of_json(p.keep_json(element)));
        break;
    }
  }
  return true;
}

}  // namespace questlog::extract
