// Nested schemas and values for FileWriter::create_nested (file_writer.h):
// optional structs, lists and maps, as parquet-format's LogicalTypes.md lays
// them out (the three-level forms every reader takes):
//
//   struct  <optional> group NAME { fields... }
//   list    <optional> group NAME (LIST) {
//             repeated group list { <optional> ELEMENT element; } }
//   map     <optional> group NAME (MAP) {
//             repeated group key_value { required KEY key; <optional> VALUE value; } }
//
// A row is one Value per top-level field. The writer turns values into the
// definition and repetition levels of each leaf column (docs/formats.md,
// "Nested columns"): a null at any level, an empty list or map, and a null
// element or map value are all distinct, and readers get back what was written.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace questlog::parquet {

// A node of a nested schema.
struct Field {
  enum class Kind { string, int32, int64, float64, boolean, group, list, map };

  std::string name;
  Kind kind = Kind::string;
  bool required = false;        // REQUIRED rather than OPTIONAL (a map key always is)
  std::vector<Field> children;  // group: its fields; list: {element}; map: {key, value}

  static Field leaf(std::string name, Kind kind) { return {std::move(name), kind, false, {}}; }
  static Field group(std::string name, std::vector<Field> fields) {
    return {std::move(name), Kind::group, false, std::move(fields)};
  }
  // A list named `name` of `element` (whose name becomes "element").
  static Field list(std::string name, Field element);
  // A map named `name` of `key` (made required, named "key") to `value`
  // (named "value").
  static Field map(std::string name, Field key, Field value);
};

// A value of a nested field: null, a scalar, or the parts of a group (its
// fields in schema order), a list (its elements) or a map (its entries, each
// a Value::entry). Which one it must be is the schema's: int32 and int64
// fields both take an integer, which must fit the field.
class Value {
 public:
  Value() = default;  // null
  Value(std::string s) : v_(std::move(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(int64_t i) : v_(i) {}
  Value(int i) : v_(int64_t{i}) {}
  Value(double d) : v_(d) {}
  Value(bool b) : v_(b) {}
  static Value parts(std::vector<Value> parts) {
    Value v;
    v.v_ = std::move(parts);
    return v;
  }
  static Value entry(Value key, Value value) { return parts({std::move(key), std::move(value)}); }

  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  const std::string* string() const { return std::get_if<std::string>(&v_); }
  const int64_t* integer() const { return std::get_if<int64_t>(&v_); }
  const double* float64() const { return std::get_if<double>(&v_); }
  const bool* boolean() const { return std::get_if<bool>(&v_); }
  const std::vector<Value>* parts() const { return std::get_if<std::vector<Value>>(&v_); }

 private:
  std::variant<std::monostate, std::string, int64_t, double, bool, std::vector<Value>> v_;
};

inline Field Field::list(std::string name, Field element) {
  element.name = "element";
  return {std::move(name), Kind::list, false, {std::move(element)}};
}

inline Field Field::map(std::string name, Field key, Field value) {
  key.name = "key";
  key.required = true;
  value.name = "value";
  return {std::move(name), Kind::map, false, {std::move(key), std::move(value)}};
}

}  // namespace questlog::parquet
