#include "extract/column_names.h"

#include <fmt/format.h>

#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include "util/case_fold.h"

namespace questlog::extract {
namespace {

// `key` with each character Delta does not allow as `_`.
std::string delta_safe(std::string_view key) {
  std::string out(key);
  for (char& c : out)
    if (kDeltaForbidden.find(c) != std::string_view::npos) c = '_';
  return out;
}

// A name in double quotes, its line breaks, tabs, quotes and backslashes escaped.
std::string quoted(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '"':
      case '\\':
        out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out + '"';
}

}  // namespace

ColumnNaming name_columns(const std::vector<std::string_view>& keys, NameRules rules) {
  ColumnNaming out;
  out.names.reserve(keys.size());
  std::vector<std::string> folds;
  folds.reserve(keys.size());
  std::unordered_set<std::string> taken;  // the folds of every key and every column
  for (std::string_view k : keys) {
    folds.push_back(fold_case(k));
    taken.insert(folds.back());
  }
  struct Group {
    size_t first;     // the key that keeps the name
    uint64_t next_n;  // the next suffix to try
  };
  std::unordered_map<std::string, Group> groups;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (rules == NameRules::delta) {
      std::string safe = delta_safe(keys[i]);
      if (safe != keys[i]) {
        // Not the name of any key or other column, in any case.
        std::string name = safe;
        for (uint64_t n = 2; !taken.insert(fold_case(name)).second; ++n)
          name = fmt::format("{}__{}", safe, n);
        out.names.push_back(std::move(name));
        out.renames.push_back({i, i});
        continue;
      }
    }
    auto [g, first] = groups.try_emplace(folds[i], Group{i, 2});
    if (first) {
      out.names.emplace_back(keys[i]);
      continue;
    }
    std::string name;
    for (uint64_t n = g->second.next_n;; ++n) {
      name = fmt::format("{}__{}", keys[i], n);
      if (taken.insert(fmt::format("{}__{}", folds[i], n)).second) {
        g->second.next_n = n + 1;
        break;
      }
    }
    out.names.push_back(std::move(name));
    out.renames.push_back({i, g->second.first});
  }
  return out;
}

std::string describe_rename(std::string_view from, std::string_view to, std::string_view kept) {
  return fmt::format(
      "column {} renamed to {}: it differs from {} only in case, which Spark does not allow", from,
      to, kept);
}

std::string describe_delta_rename(std::string_view from, std::string_view to) {
  return fmt::format(
      "column {} renamed to {}: Delta tables do not allow a space or any of ,;{{}}()=, a line "
      "break or a tab in a column name (Spark refuses them without column mapping)",
      quoted(from), to);
}

}  // namespace questlog::extract
