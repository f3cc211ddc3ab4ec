#include "http/url_decode.h"

namespace questlog::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// Appends `raw` with %XX decoded; '+' becomes a space when `plus_is_space`.
void percent_decode(std::string_view raw, bool plus_is_space, std::string& out) {
  for (size_t i = 0; i < raw.size(); ++i) {
    int hi, lo;
    if (raw[i] == '%' && i + 2 < raw.size() && (hi = hex_value(raw[i + 1])) >= 0 &&
        (lo = hex_value(raw[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && raw[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(raw[i]);
    }
  }
}

// The length of the maximal subpart of a UTF-8 sequence at p (Unicode 15,
// 3.9): the whole sequence when it is well-formed (`complete`), else the
// longest prefix of one, at least one byte.
size_t utf8_subpart(const unsigned char* p, size_t avail, bool& complete) {
  const unsigned char b0 = p[0];
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 < 0x80) {
    need = 1;
  } else if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 == 0xE0) {
    need = 3, lo = 0xA0;
  } else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
    need = 3;
  } else if (b0 == 0xED) {
    need = 3, hi = 0x9F;
  } else if (b0 == 0xF0) {
    need = 4, lo = 0x90;
  } else if (b0 >= 0xF1 && b0 <= 0xF3) {
    need = 4;
  } else if (b0 == 0xF4) {
    need = 4, hi = 0x8F;
  } else {
    complete = false;
    return 1;
  }
  size_t i = 1;
  for (; i < need && i < avail; ++i) {
    const unsigned char min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xBF;
    if (p[i] < min || p[i] > max) break;
  }
  complete = i == need;
  return i;
}

}  // namespace

std::string_view origin_form(std::string_view target) {
  size_t skip = iequals_prefix(target, "http://") ? 7 : iequals_prefix(target, "https://") ? 8 : 0;
  if (skip == 0) return target;
  size_t path = target.find_first_of("/?", skip);
  // "http://h" and "http://h?q" name the root (the query of the latter is dropped).
  if (path == std::string_view::npos || target[path] == '?') return "/";
  return target.substr(path);
}

bool decode_path(std::string_view target, std::string& out) {
  target = target.substr(0, target.find('?'));
  if (target.empty() || target[0] != '/') return false;
  out.clear();
  percent_decode(target, false, out);
  return true;
}

std::string_view query_of(std::string_view target) {
  size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

void append_query_component(std::string_view raw, std::string& out) {
  percent_decode(raw, true, out);
}

void append_utf8_replacing(std::string& out, std::string_view bytes) {
  auto p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (run < n && p[run] < 0x80) ++run;
    out.append(bytes.data() + i, run - i);
    i = run;
    while (i < n && p[i] >= 0x80) {
      bool complete = false;
      size_t len = utf8_subpart(p + i, n - i, complete);
      if (complete)
        out.append(bytes.data() + i, len);
      else
        out.append("\xEF\xBF\xBD");  // U+FFFD
      i += len;
    }
  }
}

bool QueryPairs::next(std::string_view& name, std::string_view& value) {
  while (!rest_.empty()) {
    size_t amp = rest_.find('&');
    std::string_view piece = rest_.substr(0, amp);
    rest_ = amp == std::string_view::npos ? std::string_view() : rest_.substr(amp + 1);
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    name = piece.substr(0, eq);
    value = eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    return true;
  }
  return false;
}

}  // namespace questlog::http
