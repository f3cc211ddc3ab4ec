// Column names every reader of a table accepts.
//
// Spark compares column names without case (Java's String.toLowerCase; older
// versions String.equalsIgnoreCase) and refuses to open a table with two names
// that compare equal (COLUMN_ALREADY_EXISTS); DuckDB renames one of them
// silently. Events from any producer may hold such keys (`description` next
// to `Description`, in one record or in two), so a table names its columns by
// one rule, the same whatever the number of threads:
//
//   The first spelling of a name in log order (within a record, key order)
//   keeps it. Every later spelling that folds to the same becomes its own
//   column, `<spelling>__<n>`, n = 2, 3, ... in order of first appearance,
//   skipping any n whose name would fold like a key or another column. No
//   value is merged into another column or lost.
//
// Delta tables add a rule (NameRules::delta): Delta refuses names holding any
// of ` ,;{}()`, newline, tab or `=` in a table without column mapping (Spark
// fails to read or append to such a table), so each of those characters
// becomes `_` there. A name made so never takes a name that a key spells (in
// any case) or another column: it gets the next free `__<n>` as above.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace questlog::extract {

enum class NameRules {
  spark,  // names differ in more than case
  delta,  // and hold none of kDeltaForbidden
};

// The characters a Delta column name may not hold without column mapping.
inline constexpr std::string_view kDeltaForbidden = " ,;{}()\n\t=";

// The names of a table's columns, from its keys in the order first seen (each
// key once, byte-wise distinct), by the rules above.
struct ColumnNaming {
  std::vector<std::string> names;  // by key index
  struct Rename {
    size_t key;   // renamed to names[key] ...
    size_t kept;  // ... because this key, seen first, folds the same; or
                  // `key` itself: it holds a character Delta does not allow
  };
  std::vector<Rename> renames;  // in key order
};
ColumnNaming name_columns(const std::vector<std::string_view>& keys,
                          NameRules rules = NameRules::spark);

// "column Description renamed to Description__2: it differs from description
// only in case, which Spark does not allow"
std::string describe_rename(std::string_view from, std::string_view to, std::string_view kept);
// "column "player name" renamed to player_name: Delta tables do not allow ..."
// (a line break or tab in the name written as \n or \t: one line).
std::string describe_delta_rename(std::string_view from, std::string_view to);

}  // namespace questlog::extract
