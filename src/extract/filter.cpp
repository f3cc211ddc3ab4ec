#include "extract/filter.h"

#include <fmt/format.h>

namespace questlog::extract {

std::string Literal::describe() const {
  switch (kind) {
    case Kind::null:
      return "null";
    case Kind::boolean:
      return boolean ? "true" : "false";
    case Kind::int64:
      return fmt::to_string(int64);
    case Kind::float64:
      return fmt::format("{}", float64);
    case Kind::string:
    case Kind::json:
      return fmt::format("\"{}\"", text);
  }
  return "?";
}

bool literal_matches(const Literal& lit, const Value& v) {
  switch (lit.kind) {
    case Kind::string:
      return v.kind == Kind::string && v.text == lit.text;
    case Kind::boolean:
      return v.kind == Kind::boolean && v.boolean == lit.boolean;
    case Kind::int64:
      if (v.kind == Kind::int64) return v.int64 == lit.int64;
      return v.kind == Kind::float64 && v.float64 == static_cast<double>(lit.int64);
    case Kind::float64:
      if (v.kind == Kind::float64) return v.float64 == lit.float64;
      return v.kind == Kind::int64 && static_cast<double>(v.int64) == lit.float64;
    case Kind::null:
      return v.kind == Kind::null;
    case Kind::json:
      return false;
  }
  return false;
}

bool Filter::holds(const Condition& c, const Event& e) {
  const Value* v = e.find(c.field);
  switch (c.op) {
    case Condition::Op::exists:
      return v != nullptr;
    case Condition::Op::absent:
      return v == nullptr;
    case Condition::Op::equals:
      return v != nullptr && literal_matches(c.values[0], *v);
    case Condition::Op::one_of:
      if (v == nullptr) return false;
      for (const Literal& lit : c.values)
        if (literal_matches(lit, *v)) return true;
      return false;
  }
  return false;
}

}  // namespace questlog::extract
