// Which events a table (or a "filter" transform) keeps: every condition must
// hold (AND). The job file's forms:
//   where = { event_type = "purchase_sword" }          equality
//   where = { event_type = ["default", "purchase_sword"] }   one of a list
//   where = { description = { exists = true } }        key present (false: absent)
// A null value counts as present. Equality is typed: a string matches only an
// equal string; an integer or float matches a number of equal value; a boolean
// matches only that boolean. Nested JSON values never equal a literal.
#pragma once

#include <string>
#include <vector>

#include "extract/event.h"

namespace questlog::extract {

// A constant from the job file, owning its text.
struct Literal {
  Kind kind = Kind::null;
  bool boolean = false;
  int64_t int64 = 0;
  double float64 = 0;
  std::string text;

  Value value() const { return {kind, boolean, int64, float64, text}; }
  // As the job file would spell it: "purchase_sword" (quoted), 3, true.
  std::string describe() const;
};

// True when `v` equals `lit` under the typed rules above.
bool literal_matches(const Literal& lit, const Value& v);

struct Condition {
  enum class Op { equals, one_of, exists, absent };
  FieldId field = 0;
  Op op = Op::equals;
  std::vector<Literal> values;  // one for equals, any number for one_of
};

class Filter {
 public:
  void add(Condition c) { conditions_.push_back(std::move(c)); }
  bool empty() const { return conditions_.empty(); }
  const std::vector<Condition>& conditions() const { return conditions_; }

  bool matches(const Event& e) const {
    for (const Condition& c : conditions_)
      if (!holds(c, e)) return false;
    return true;
  }

 private:
  static bool holds(const Condition& c, const Event& e);
  std::vector<Condition> conditions_;
};

}  // namespace questlog::extract
