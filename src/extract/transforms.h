// Transforms applied in order to every event before any table sees it, in the
// manner of Kafka Connect's single message transforms:
//   type = "set"     fields = { Host = "moe", "Cache-Control" = "no-cache" }
//                    sets each field, replacing a value already there
//   type = "drop"    fields = ["User-Agent"]            removes them if present
//   type = "rename"  renames = { Host = "host" }       old = "new"; all renames
//                    of one transform happen at once (a = "b", b = "a" swaps);
//                    a new name already present is replaced, as Python's
//                    event[new] = event.pop(old) does
//   type = "filter"  where = { ... }                    keeps matching events only
#pragma once

#include <utility>
#include <vector>

#include "extract/event.h"
#include "extract/filter.h"

namespace questlog::extract {

struct Transform {
  enum class Type { set, drop, rename, filter };
  Type type = Type::set;
  std::vector<std::pair<FieldId, Literal>> set;      // set
  std::vector<FieldId> drop;                         // drop
  std::vector<std::pair<FieldId, FieldId>> renames;  // rename: old, new
  Filter where;                                      // filter
};

// Applies `transforms` to `e` in order. Returns false as soon as a filter
// rejects the event (`e` is then partly transformed and should be discarded).
// Set values point into the transforms, which must outlive `e`'s use.
class Transformer {
 public:
  explicit Transformer(const std::vector<Transform>& transforms) : transforms_(transforms) {}
  bool apply(Event& e);

 private:
  const std::vector<Transform>& transforms_;
  std::vector<std::pair<FieldId, Value>> moved_;  // scratch for renames
};

}  // namespace questlog::extract
