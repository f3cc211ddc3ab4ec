// Request targets decoded as Werkzeug decodes them for a Flask app: the path's
// %XX escapes before routing, query strings as `request.args` parses them, and
// text that is not UTF-8 with U+FFFD in place of each bad sequence.
#pragma once

#include <string>
#include <string_view>

namespace questlog::http {

// The path and query of a request target: an absolute-form target
// ("http://host/purchase_a_sword?x", RFC 9112 3.2.2) reduced to its origin form.
std::string_view origin_form(std::string_view target);

// The path of an origin-form target with each %XX decoded to its byte ('%2F'
// too, so it then separates segments, as in Werkzeug); a '%' not followed by two
// hex digits, and '+', stay as they are. Returns false for a target that is not
// a path ("*"). `out` is replaced.
bool decode_path(std::string_view target, std::string& out);

// What follows the first '?' of a target, or "".
std::string_view query_of(std::string_view target);

// One name or value of a query string, decoded to bytes: '+' is a space and
// %XX its byte. Appended to `out`.
void append_query_component(std::string_view raw, std::string& out);

// Appends `bytes` as UTF-8: well-formed sequences as they are, each maximal
// ill-formed subpart as U+FFFD (Python's `errors="replace"`, which Werkzeug
// uses for paths and query strings).
void append_utf8_replacing(std::string& out, std::string_view bytes);

// The name=value pairs of a query string in order, split as Werkzeug splits
// `request.args`: on '&', empty pieces skipped, a piece without '=' has the
// value "". Names and values are raw (not yet decoded).
class QueryPairs {
 public:
  explicit QueryPairs(std::string_view query) : rest_(query) {}
  bool next(std::string_view& name, std::string_view& value);

 private:
  std::string_view rest_;
};

}  // namespace questlog::http
