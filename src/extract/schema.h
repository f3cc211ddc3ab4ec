// A table's schema, learnt from its rows: the union of their keys plus
// `timestamp`, each column typed by the widest value seen.
//
// Widening: a column starts with the type of its first non-null value and
// widens int64 -> float64 -> string; a boolean with any other type widens to
// string; nested JSON is a string. A column only ever null is a string (as
// Spark infers it). Columns are sorted byte-wise by name ('Z' < 'a'), as the
// seed's tables show them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "extract/event.h"
#include "parquet/file_writer.h"

namespace questlog::extract {

enum class ColumnType : uint8_t { none, boolean, int64, float64, string };

// The narrowest type holding both `t` and a value of kind `k`.
ColumnType widen(ColumnType t, Kind k);
// "int64", "float64", "string", "boolean", "null".
const char* type_name(ColumnType t);
parquet::ColumnType parquet_type(ColumnType t);  // none -> string

// A value's text in a column widened to string: strings and nested JSON as
// they are, integers in decimal, floats in their shortest round-trip form
// ("0.5", "1.0", "1e+20"), booleans "true"/"false". Appends to `out`.
void append_as_string(const Value& v, std::string& out);

// One change of a column's type, for the operator.
struct Widening {
  ColumnType from;
  ColumnType to;
  int64_t offset;  // the record whose value forced it
};

struct SchemaColumn {
  FieldId field;  // FieldNames::kTimestamp for the ingest time
  std::string name;
  parquet::ColumnType type;
};

class TableSchema {
 public:
  // Notes that a row has `k` in `field` (hot path: O(1), no allocation once the
  // field has been seen).
  void observe(FieldId field, Kind k, int64_t offset) {
    if (field >= types_.size()) grow(field);
    ColumnType& t = types_[field];
    present_[field] = 1;
    if (k == Kind::null) return;
    ColumnType w = widen(t, k);
    if (w != t) changed(field, t, w, offset);
  }

  // The final columns, `timestamp` (TIMESTAMP micros) included, sorted by name,
  // leaving out `exclude` (partition columns).
  std::vector<SchemaColumn> columns(const FieldNames& names,
                                    const std::vector<FieldId>& exclude = {}) const;

  // The type of `field` now (none when never seen or only null).
  ColumnType type(FieldId field) const {
    return field < types_.size() ? types_[field] : ColumnType::none;
  }
  bool has(FieldId field) const { return field < present_.size() && present_[field]; }

  // Each widened column with its changes, for one stderr line each.
  struct ColumnHistory {
    FieldId field;
    std::vector<Widening> steps;
  };
  const std::vector<ColumnHistory>& widenings() const { return history_; }
  // "column level widened from int64 to float64 at offset 10, to string at offset 12"
  static std::string describe(const std::string& column, const std::vector<Widening>& steps);

 private:
  void grow(FieldId field);
  void changed(FieldId field, ColumnType from, ColumnType to, int64_t offset);

  std::vector<ColumnType> types_;  // by field id
  std::vector<uint8_t> present_;   // by field id
  std::vector<ColumnHistory> history_;
};

}  // namespace questlog::extract
