#include "extract/table_printer.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace questlog::extract {
namespace {

constexpr size_t kTruncate = 20;  // show()'s default truncate
constexpr size_t kMinWidth = 3;   // Spark's minimumColWidth

// Decodes the code point at `s[i]` (UTF-8; a stray byte counts as itself).
uint32_t code_point(const std::string& s, size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  int n = b < 0x80 ? 0 : (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : -1;
  if (n <= 0 || i + static_cast<size_t>(n) >= s.size()) {
    ++i;
    return b;
  }
  uint32_t cp = b & (0x3f >> n);
  for (int k = 1; k <= n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  i += n + 1;
  return cp;
}

// Java's String.length(): UTF-16 code units.
size_t utf16_units(uint32_t cp) { return cp >= 0x10000 ? 2 : 1; }

// Utils.fullWidthRegex in Spark.
bool full_width(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
         (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0xFE10 && cp <= 0xFE19) || (cp >= 0xFE30 && cp <= 0xFE6F) ||
         (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6);
}

// Utils.stringHalfWidth: UTF-16 length plus one per full-width character.
size_t half_width(const std::string& s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = code_point(s, i);
    w += utf16_units(cp) + (full_width(cp) ? 1 : 0);
  }
  return w;
}

// Spark's cut: longer than 20 UTF-16 units -> the first 17 and "...".
std::string truncate(const std::string& s) {
  size_t units = 0;
  for (size_t i = 0; i < s.size();) units += utf16_units(code_point(s, i));
  if (units <= kTruncate) return s;
  size_t i = 0, taken = 0;
  while (i < s.size()) {
    size_t at = i;
    uint32_t cp = code_point(s, i);
    if (taken + utf16_units(cp) > kTruncate - 3) {
      i = at;
      break;
    }
    taken += utf16_units(cp);
  }
  return s.substr(0, i) + "...";
}

// Spark 3.4+'s escapeMetaCharacters, applied to cells before cutting.
std::string escape_meta(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\a':
        out += "\\a";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Days since 1970-01-01 -> civil date (Howard Hinnant's algorithm).
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

}  // namespace

const char* spark_type_name(parquet::ColumnType t) {
  switch (t) {
    case parquet::ColumnType::string:
      return "string";
    case parquet::ColumnType::int64:
      return "long";
    case parquet::ColumnType::float64:
      return "double";
    case parquet::ColumnType::boolean:
      return "boolean";
    case parquet::ColumnType::timestamp_micros:
      return "timestamp";
  }
  return "?";
}

std::string schema_tree(const std::vector<SchemaColumn>& columns) {
  std::string out = "root\n";
  for (const SchemaColumn& c : columns)
    out += fmt::format(" |-- {}: {} (nullable = true)\n", c.name, spark_type_name(c.type));
  out += "\n";
  return out;
}

std::string format_timestamp(int64_t ms) {
  int64_t days = ms / 86400000;
  int64_t rest = ms % 86400000;
  if (rest < 0) {
    rest += 86400000;
    --days;
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  int64_t secs = rest / 1000;
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}", y, m, d, secs / 3600,
                     secs / 60 % 60, secs % 60, rest % 1000);
}

std::string java_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // [-]d[.ddd]e[+-]xx
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  size_t e = sci.find('e');
  int exp = std::atoi(sci.c_str() + e + 1);
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (sci[i] != '.') digits += sci[i];
  double a = std::fabs(v);
  if (a >= 1e-3 && a < 1e7) {
    std::string ip, fp;
    if (exp >= 0) {
      ip = digits.substr(0, std::min<size_t>(digits.size(), exp + 1));
      while (ip.size() < static_cast<size_t>(exp) + 1) ip += '0';
      fp = digits.size() > static_cast<size_t>(exp) + 1 ? digits.substr(exp + 1) : "0";
    } else {
      ip = "0";
      fp = std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    }
    return sign + ip + "." + fp;
  }
  return sign + digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0") + "E" +
         std::to_string(exp);
}

std::optional<std::string> format_cell(const Value& v, parquet::ColumnType t) {
  if (v.kind == Kind::null) return std::nullopt;
  switch (t) {
    case parquet::ColumnType::boolean:
      return std::string(v.boolean ? "true" : "false");
    case parquet::ColumnType::int64:
      return std::to_string(v.int64);
    case parquet::ColumnType::float64:
      return java_double(v.kind == Kind::int64 ? static_cast<double>(v.int64) : v.float64);
    case parquet::ColumnType::timestamp_micros:
      return format_timestamp(v.int64 / 1000);
    case parquet::ColumnType::string:
      break;
  }
  std::string s;
  append_as_string(v, s);
  return s;
}

std::string ShowTable::render(uint64_t n, uint64_t total_rows) const {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> head;
  for (const std::string& h : header_) head.push_back(truncate(h));
  cells.push_back(std::move(head));
  for (const auto& row : rows_) {
    std::vector<std::string> r;
    for (const auto& c : row) r.push_back(c ? truncate(escape_meta(*c)) : "null");
    cells.push_back(std::move(r));
  }
  std::vector<size_t> widths(header_.size(), kMinWidth);
  for (const auto& r : cells)
    for (size_t i = 0; i < r.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], half_width(r[i]));

  std::string sep = "+";
  for (size_t w : widths) sep += std::string(w, '-') + "+";
  sep += "\n";
  auto line = [&](const std::vector<std::string>& r) {
    std::string out = "|";
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string& c = i < r.size() ? r[i] : std::string();
      out += std::string(widths[i] - half_width(c), ' ') + c + "|";
    }
    return out + "\n";
  };
  std::string out = sep + line(cells[0]) + sep;
  for (size_t i = 1; i < cells.size(); ++i) out += line(cells[i]);
  out += sep;
  if (total_rows > n) out += fmt::format("only showing top {} {}\n", n, n == 1 ? "row" : "rows");
  out += "\n";  // PySpark's print()
  return out;
}

}  // namespace questlog::extract
