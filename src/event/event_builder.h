// Builds one event the way the seed's log_to_kafka does: the route's fields,
// then every request header (`event.update(request.headers)` under Flask), as
// one flat JSON object. See docs/design.md, "The event". A route with parameters or
// a JSON body adds its sources between the two (http/event_assembler.h).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace questlog::event {

// Keys no route may give an event (compared without case): every table has a
// column of that name of its own. `timestamp` is the record's ingest time
// (extract/event.h, FieldNames::kTimestamp), which replaces any event key of
// that name.
inline constexpr std::string_view kReservedKeys[] = {"timestamp"};

// A key a client sends with a reserved name in any case (a header, a query
// parameter of a `query = "*"` route, a member of a JSON body) is kept under
// its own spelling with this suffix: `Timestamp` becomes `Timestamp__2`, the
// name extract gives such a column when it meets it after the ingest time.
inline constexpr std::string_view kReservedSuffix = "__2";

// Whether `folded`, a name as util/case_fold.h folds it, is a reserved key's.
bool is_reserved_key(std::string_view folded);

// A route field: its name and its value already encoded as JSON.
struct Field {
  std::string name;
  std::string json_value;
};

// The header name as Werkzeug presents it: '_' becomes '-', then Python's
// str.title(): a letter is upper-case when the character before it is not a
// letter, lower-case otherwise ("user-agent" -> "User-Agent", "x-b3-id" ->
// "X-B3-Id", "DNT" -> "Dnt").
void canonical_header_name(std::string_view raw, std::string& out);

// Collects the headers of one request and writes its event. Reusable: reset()
// keeps the buffers, so a connection builds events without allocating.
class EventBuilder {
 public:
  void reset();
  void add_header(std::string_view name, std::string_view value);

  // A header named for a reserved key (in any case) is added as
  // `<Canonical-Name>__2` (kReservedSuffix).
  // Writes {route fields..., headers...} to `out` (replacing its contents).
  // A header whose canonical name equals a route field's without regard to
  // case is dropped: the route always wins (no `Description` next to
  // `description`, which Spark would refuse as one column). Repeated headers
  // (equal canonical names, so also names that differ only in case) are
  // joined with ", " in arrival order, at the place of the first. Empty
  // Content-Type and Content-Length are left out, as Werkzeug leaves them out.
  void build(std::span<const Field> route_fields, std::string& out) const;

  // For an event with more sources than route fields (http/event_assembler.h):
  // the headers as added, by canonical name, and the step that writes them.
  size_t header_count() const { return headers_.size(); }
  std::string_view header_name(size_t i) const { return name(headers_[i]); }
  // Appends the headers as build() writes them, as members of the JSON object
  // `out` holds so far (`first`: it has none yet), leaving out header i when
  // skip[i] is set. Returns whether the object still has no member.
  bool append_headers(std::string& out, bool first, std::span<const char> skip) const;

 private:
  struct Header {
    size_t name_at, name_len, value_at, value_len;
    bool plain_name;  // the name needs no JSON escaping (a token, as every parsed name is)
  };
  std::string_view name(const Header& h) const { return {arena_.data() + h.name_at, h.name_len}; }
  std::string_view value(const Header& h) const {
    return {arena_.data() + h.value_at, h.value_len};
  }

  std::string arena_;  // canonical names and raw values of this request
  std::vector<Header> headers_;
  mutable std::vector<char> skip_;     // build()'s: the headers a route field shadows
  mutable std::vector<char> emitted_;  // append_headers': joined into an earlier one
  mutable std::string joined_;         // a repeated header's values
};

}  // namespace questlog::event
