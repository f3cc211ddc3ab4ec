// JSON text for events. Encoding only: events are flat objects of strings,
// numbers and booleans, and parsing is simdjson's job elsewhere.
#pragma once

#include <string>
#include <string_view>

namespace questlog::event {

// Appends `s` as a JSON string literal, quotes included. The output is always
// valid UTF-8: well-formed UTF-8 sequences are copied as they are, and any other
// byte is taken as Latin-1 (as Werkzeug decodes every header byte) and written as
// the UTF-8 of that code point. Control characters are escaped.
void append_json_string(std::string& out, std::string_view s);

}  // namespace questlog::event
