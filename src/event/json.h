// JSON text for events and for Delta Lake's log. Encoding only: parsing is
// simdjson's job elsewhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace questlog::event {

// Appends `s` as a JSON string literal, quotes included. The output is always
// valid UTF-8: well-formed UTF-8 sequences are copied as they are, and any other
// byte is taken as Latin-1 (as Werkzeug decodes every header byte) and written as
// the UTF-8 of that code point. Control characters are escaped.
void append_json_string(std::string& out, std::string_view s);

// Builds one JSON value: objects, arrays and scalars, with the commas and
// quoting done here (strings by append_json_string). Misuse (a value where a
// key is due, an unclosed object) is a programming error, asserted.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t n);
  JsonWriter& value(uint64_t n);
  JsonWriter& value(int n) { return value(static_cast<int64_t>(n)); }
  // Finite doubles only (JSON has no NaN or infinity): asserted.
  JsonWriter& value(double d);
  JsonWriter& value(bool b);
  JsonWriter& null();
  // A complete JSON value given as text, inserted as it is.
  JsonWriter& raw(std::string_view json);
  // key(name).value(v)
  template <typename T>
  JsonWriter& field(std::string_view name, const T& v) {
    return key(name).value(v);
  }

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open object or array: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace questlog::event
