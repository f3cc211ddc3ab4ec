// Builds one event the way the seed's log_to_kafka does: the route's fields,
// then every request header (`event.update(request.headers)` under Flask), as
// one flat JSON object. See DESIGN.md, "The event".
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace questlog::event {

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

  // Writes {route fields..., headers...} to `out` (replacing its contents).
  // A header whose canonical name equals a route field's without regard to
  // case is dropped: the route always wins (no `Description` next to
  // `description`, which Spark would refuse as one column). Repeated headers
  // (equal canonical names, so also names that differ only in case) are
  // joined with ", " in arrival order, at the place of the first. Empty
  // Content-Type and Content-Length are left out, as Werkzeug leaves them out.
  void build(std::span<const Field> route_fields, std::string& out) const;

 private:
  struct Header {
    size_t name_at, name_len, value_at, value_len;
  };
  std::string_view name(const Header& h) const { return {arena_.data() + h.name_at, h.name_len}; }
  std::string_view value(const Header& h) const {
    return {arena_.data() + h.value_at, h.value_len};
  }

  std::string arena_;  // canonical names and raw values of this request
  std::vector<Header> headers_;
  mutable std::vector<bool> emitted_;
};

}  // namespace questlog::event
