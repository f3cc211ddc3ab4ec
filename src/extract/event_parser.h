// Decodes one log record (a JSON object) into an Event, with simdjson.
//
// Types: strings stay strings, integers that fit int64 are int64, every other
// number (fractions, exponents, integers past INT64_MAX up to UINT64_MAX) is
// float64, booleans and null stay what they are, and nested objects and arrays
// become their minified JSON text (Kind::json). A repeated key keeps its last
// value, as Python's json.loads does. A key named "timestamp" is left out: the
// row's `timestamp` is the record's ingest time (it shadows the event's own).
// An object with an empty key is refused like a record that is not an object:
// its key would be a column without a name (nested objects are values, and
// may have any keys).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "extract/event.h"

namespace questlog::extract {

class EventParser {
 public:
  // `names` must outlive the parser; new keys are interned into it.
  explicit EventParser(FieldNames& names);
  ~EventParser();
  EventParser(const EventParser&) = delete;
  EventParser& operator=(const EventParser&) = delete;

  // Decodes `json` into `out` (cleared first; offset and timestamp untouched).
  // Returns false when `json` is not one valid JSON object or has an empty
  // key, and error() says why in a few words ("not a JSON object: array",
  // "invalid JSON: ...", "empty key: ...").
  // The event's strings stay valid until the next call.
  bool parse(std::string_view json, Event& out);
  const std::string& error() const { return error_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::string error_;
};

}  // namespace questlog::extract
