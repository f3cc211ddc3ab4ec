// One event as the extract pipeline sees it: a flat list of named, typed
// values, decoded once from the record's JSON and then transformed, filtered
// and turned into table rows without copying its strings.
//
// Field names are interned into small dense ids (FieldNames) once per distinct
// name, so transforms, filters and schemas work on integers, not strings.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace questlog::extract {

// What a JSON value is. `json` is a nested object or array, kept as its JSON
// text and typed as a string column.
enum class Kind : uint8_t { null, boolean, int64, float64, string, json };

// A value that does not own its text: `text` points into the parser's buffers,
// the record, or a job's constants, and lives as long as they do.
struct Value {
  Kind kind = Kind::null;
  bool boolean = false;
  int64_t int64 = 0;
  double float64 = 0;
  std::string_view text;  // string and json values

  static Value null() { return {}; }
  static Value of_bool(bool b) { return {Kind::boolean, b, 0, 0, {}}; }
  static Value of_int(int64_t i) { return {Kind::int64, false, i, 0, {}}; }
  static Value of_double(double d) { return {Kind::float64, false, 0, d, {}}; }
  static Value of_string(std::string_view s) { return {Kind::string, false, 0, 0, s}; }
  static Value of_json(std::string_view s) { return {Kind::json, false, 0, 0, s}; }
};

using FieldId = uint32_t;

// Interns field names: the same name always gets the same id, ids are dense
// from 0. Names stay valid (stable addresses) for the dictionary's lifetime.
// Thread-safe (one mutex: callers on hot paths cache what they look up).
class FieldNames {
 public:
  FieldNames();
  FieldId intern(std::string_view name);
  // The id of `name`, or kNone when it was never interned.
  FieldId find(std::string_view name) const;
  const std::string& name(FieldId id) const {
    std::lock_guard lock(mu_);
    return *names_[id];
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return names_.size();
  }

  static constexpr FieldId kNone = UINT32_MAX;
  // "timestamp": reserved for the record's ingest time (always id 0).
  static constexpr FieldId kTimestamp = 0;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<std::string>> names_;
  std::unordered_map<std::string_view, FieldId, Hash, std::equal_to<>> ids_;
};

// The fields of one event, at most one per name, in the order first seen.
// Lookup by id is O(1). Reused from event to event without allocating once it
// has seen the widest event.
class Event {
 public:
  struct Field {
    FieldId id;
    Value value;
    bool present;  // false once dropped or renamed away
  };

  int64_t offset = 0;
  int64_t timestamp_ms = 0;

  // Forgets every field (O(1)).
  void clear();
  // Sets `id` to `v`: replaces the value in place if present, appends otherwise.
  void set(FieldId id, const Value& v);
  // Removes `id` if present.
  void drop(FieldId id);
  // The value of `id`, or nullptr.
  const Value* find(FieldId id) const {
    if (id >= generation_.size() || generation_[id] != current_) return nullptr;
    const Field& f = fields_[slot_[id]];
    return f.present ? &f.value : nullptr;
  }

  // Every field, dropped ones included (check `present`).
  const std::vector<Field>& fields() const { return fields_; }

 private:
  std::vector<Field> fields_;
  std::vector<uint32_t> generation_;  // by id: == current_ when slot_ is valid
  std::vector<uint32_t> slot_;        // by id: index into fields_
  uint32_t current_ = 1;
};

}  // namespace questlog::extract
