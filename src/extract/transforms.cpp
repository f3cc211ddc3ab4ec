#include "extract/transforms.h"

namespace questlog::extract {

bool Transformer::apply(Event& e) {
  for (const Transform& t : transforms_) {
    switch (t.type) {
      case Transform::Type::set:
        for (const auto& [id, lit] : t.set) e.set(id, lit.value());
        break;
      case Transform::Type::drop:
        for (FieldId id : t.drop) e.drop(id);
        break;
      case Transform::Type::rename:
        moved_.clear();
        for (const auto& [from, to] : t.renames) {
          if (const Value* v = e.find(from)) {
            moved_.emplace_back(to, *v);
            e.drop(from);
          }
        }
        for (const auto& [to, v] : moved_) e.set(to, v);
        break;
      case Transform::Type::filter:
        if (!t.where.matches(e)) return false;
        break;
    }
  }
  return true;
}

}  // namespace questlog::extract
