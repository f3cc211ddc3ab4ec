// The event of a request to a route with parameters or a JSON body.
//
// Its keys come from five sources, in this order of precedence: the route's
// event fields, the path parameters, the query parameters, the members of the
// JSON body, the request headers. Names are compared as Spark compares column
// names (util/case_fold.h), and a name is written once, by the first source
// that has it: no client can set `event_type`, nor add a key that differs from
// another only in case. Within the query, the first of repeated parameters
// wins (Werkzeug's `request.args.get`); within the body, a repeated key is an
// error. The event stays one flat JSON object; a nested object or array in the
// body stays nested JSON.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "event/event_builder.h"
#include "http/routes.h"

namespace questlog::http {

class EventAssembler {
 public:
  EventAssembler();
  ~EventAssembler();
  EventAssembler(const EventAssembler&) = delete;
  EventAssembler& operator=(const EventAssembler&) = delete;

  // Writes the event of a request to `route` into `out` (replacing it). `m`
  // holds the path parameters, `query` is the target's raw query string, and
  // `body` the request body when the route takes one for the request's method
  // (Route::takes_body), else null; `body` may be padded in place for the JSON
  // parser and comes back as it was. Returns false when the request is a 400:
  // a parameter that does not parse as its type, a body that is not a JSON
  // object in UTF-8, a repeated or empty key in the body, an empty query
  // parameter name on a `query = "*"` route; error() then says why, in one
  // line, and `out` holds nothing to log.
  //
  // Not thread-safe: one per event loop. Its memory is kept from request to
  // request, so a steady load allocates nothing.
  bool build(const Route& route, const RouteMatch& m, std::string_view query, std::string* body,
             const event::EventBuilder& headers, std::string& out);
  const std::string& error() const { return error_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_;
};

// Writes `text`, a parameter's value (UTF-8), as the JSON value of `type`:
// "string" as a string; "int" as a 64-bit integer (optional '-', digits);
// "float" as a finite double (written with a '.', or an exponent, so readers
// take it for one); "bool" from true/false/1/0 (true and false in any case).
// Returns false, with `why` ("is not an int", ...), when it does not parse.
bool append_typed_value(std::string& out, ParamType type, std::string_view text,
                        std::string_view& why);

}  // namespace questlog::http
