// Names compared as Spark compares column names: without case.
#pragma once

#include <string>
#include <string_view>

namespace questlog {

// `name` (UTF-8) with each code point replaced by the one Spark's comparisons
// take it for ("Description" -> "description", KELVIN SIGN -> "k", LONG S ->
// "s"); an "i" followed by COMBINING DOT ABOVE folds to "i", as Java lower-cases
// DOTTED CAPITAL I to those two. Whenever Spark takes two names for one column,
// their folds are equal (rarely, folds are equal where Spark 4 sees two
// columns: names are then renamed that need not be). Bytes that are not UTF-8
// are kept as they are. The table is Java's (scripts/CaseFoldTable.java).
std::string fold_case(std::string_view name);
// The same, appended to `out` (which keeps its memory when reused).
void append_fold_case(std::string_view name, std::string& out);

}  // namespace questlog
