// A table's schema, learnt from its rows: the union of their keys plus
// `timestamp`, each column typed by the widest value seen.
//
// Widening: a column starts with the type of its first non-null value and
// widens int64 -> float64 -> string; a boolean with any other type widens to
// string; nested JSON is a string. A column only ever null is a string (as
// Spark infers it). Columns are sorted byte-wise by name ('Z' < 'a'), as the
// seed's tables show them. Keys that differ only in case become columns of
// their own, the later spellings renamed (column_names.h); `timestamp`, the
// ingest time, comes before every key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "extract/column_names.h"
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
  // field has been seen). Calls come in log order (a record's keys in their
  // order), which decides the spelling a column name keeps.
  void observe(FieldId field, Kind k, int64_t offset) {
    if (field >= types_.size()) grow(field);
    ColumnType& t = types_[field];
    if (!present_[field]) first_seen(field);
    if (k == Kind::null) return;
    ColumnType w = widen(t, k);
    if (w != t) changed(field, t, w, offset);
  }

  // The final columns, `timestamp` (TIMESTAMP micros) included, named by the
  // rule of column_names.h and sorted by name, leaving out `exclude` (partition
  // columns, which are named as if they were in).
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

  // One line for the operator per renamed column, then per widened column
  // (named as in the table), in the words of describe_rename() and describe().
  std::vector<std::string> notes(const FieldNames& names) const;

  // How columns are named (column_names.h): NameRules::delta for a Delta table.
  void set_name_rules(NameRules rules) { rules_ = rules; }

 private:
  void grow(FieldId field);
  void first_seen(FieldId field);
  void changed(FieldId field, ColumnType from, ColumnType to, int64_t offset);
  // The keys in the order first seen, `timestamp` first, and their column names.
  std::vector<FieldId> keys() const;
  ColumnNaming naming(const FieldNames& names, const std::vector<FieldId>& keys) const;

  std::vector<ColumnType> types_;  // by field id
  std::vector<uint8_t> present_;   // by field id
  std::vector<FieldId> order_;     // present fields, in the order first seen
  std::vector<ColumnHistory> history_;
  NameRules rules_ = NameRules::spark;
};

}  // namespace questlog::extract
