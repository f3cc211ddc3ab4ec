#include "event/event_builder.h"

#include "event/json.h"

namespace questlog::event {
namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Header names are tokens (ASCII), so ASCII case is all there is to compare.
bool equal_without_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

}  // namespace

namespace {

// canonical_header_name, returning whether the name needs no JSON escaping.
bool canonicalize(std::string_view raw, std::string& out) {
  const size_t at = out.size();
  out.resize(at + raw.size());
  char* dst = out.data() + at;
  bool prev_letter = false, plain = true;
  for (char c : raw) {
    if (c == '_') c = '-';
    bool letter = is_letter(c);
    if (letter) {
      bool upper = c <= 'Z';
      if (!prev_letter && !upper) c = static_cast<char>(c - 'a' + 'A');
      if (prev_letter && upper) c = static_cast<char>(c - 'A' + 'a');
    }
    plain = plain && c > 0x20 && c < 0x7F && c != '"' && c != '\\';
    *dst++ = c;
    prev_letter = letter;
  }
  return plain;
}

}  // namespace

void canonical_header_name(std::string_view raw, std::string& out) { canonicalize(raw, out); }

bool is_reserved_key(std::string_view folded) {
  for (std::string_view reserved : kReservedKeys)
    if (folded == reserved) return true;  // each is its own fold (lower-case ASCII)
  return false;
}

void EventBuilder::reset() {
  arena_.clear();
  headers_.clear();
}

void EventBuilder::add_header(std::string_view raw_name, std::string_view raw_value) {
  Header h{};
  h.name_at = arena_.size();
  h.plain_name = canonicalize(raw_name, arena_);
  h.name_len = arena_.size() - h.name_at;
  // Header names are ASCII tokens: ASCII case is all there is to compare.
  for (std::string_view reserved : kReservedKeys) {
    if (equal_without_case(name(h), reserved)) {
      arena_.append(kReservedSuffix);
      h.name_len += kReservedSuffix.size();
    }
  }
  h.value_at = arena_.size();
  arena_.append(raw_value);
  h.value_len = raw_value.size();
  headers_.push_back(h);
}

void EventBuilder::build(std::span<const Field> route_fields, std::string& out) const {
  out.clear();
  out.push_back('{');
  bool first = true;
  for (const Field& f : route_fields) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, f.name);
    out.push_back(':');
    out.append(f.json_value);
  }
  skip_.assign(headers_.size(), 0);
  for (size_t i = 0; i < headers_.size(); ++i)
    for (const Field& f : route_fields)
      if (equal_without_case(f.name, name(headers_[i]))) skip_[i] = 1;
  append_headers(out, first, skip_);
  out.push_back('}');
}

bool EventBuilder::append_headers(std::string& out, bool first, std::span<const char> skip) const {
  emitted_.assign(headers_.size(), 0);
  for (size_t i = 0; i < headers_.size(); ++i) {
    if (emitted_[i] || skip[i]) continue;
    std::string_view n = name(headers_[i]);
    std::string_view v = value(headers_[i]);
    bool repeated = false;
    for (size_t j = i + 1; j < headers_.size(); ++j) {
      if (emitted_[j] || name(headers_[j]) != n) continue;
      if (!repeated) joined_.assign(v);
      repeated = true;
      joined_.append(", ").append(value(headers_[j]));
      emitted_[j] = 1;
    }
    if (repeated) v = joined_;
    if (v.empty() && (n == "Content-Type" || n == "Content-Length")) continue;
    if (!first) out.push_back(',');
    first = false;
    if (headers_[i].plain_name) {
      out.push_back('"');
      out.append(n);
      out.append("\":");
    } else {
      append_json_string(out, n);
      out.push_back(':');
    }
    append_json_string(out, v);
  }
  return first;
}

}  // namespace questlog::event
