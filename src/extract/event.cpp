#include "extract/event.h"

#include <algorithm>

namespace questlog::extract {

FieldNames::FieldNames() {
  FieldId ts = intern("timestamp");
  (void)ts;  // always kTimestamp: the first name interned
}

FieldId FieldNames::intern(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = ids_.find(name);
  if (it != ids_.end()) return it->second;
  names_.push_back(std::make_unique<std::string>(name));
  FieldId id = static_cast<FieldId>(names_.size() - 1);
  ids_.emplace(*names_.back(), id);
  return id;
}

FieldId FieldNames::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = ids_.find(name);
  return it == ids_.end() ? kNone : it->second;
}

void Event::clear() {
  fields_.clear();
  if (++current_ == 0) {  // wrapped: forget every stale generation
    std::fill(generation_.begin(), generation_.end(), 0);
    current_ = 1;
  }
}

void Event::set(FieldId id, const Value& v) {
  if (id >= generation_.size()) {
    generation_.resize(id + 1, 0);
    slot_.resize(id + 1, 0);
  }
  if (generation_[id] == current_) {
    Field& f = fields_[slot_[id]];
    f.value = v;
    f.present = true;
    return;
  }
  generation_[id] = current_;
  slot_[id] = static_cast<uint32_t>(fields_.size());
  fields_.push_back({id, v, true});
}

void Event::drop(FieldId id) {
  if (id >= generation_.size() || generation_[id] != current_) return;
  fields_[slot_[id]].present = false;
}

}  // namespace questlog::extract
