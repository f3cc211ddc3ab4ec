#include "extract/column_names.h"

#include <fmt/format.h>

#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include "util/case_fold.h"

namespace questlog::extract {

ColumnNaming name_columns(const std::vector<std::string_view>& keys) {
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

}  // namespace questlog::extract
