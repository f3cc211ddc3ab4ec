// write_parquet: writes a Parquet file with questlog's writer from a small
// text format on stdin, for tests/integration/test_parquet_conformance.py.
//
//   write_parquet OUT.parquet < input
//
// Input, one item per line ('\n'-terminated):
//   line 1   options, space-separated key=value, any subset of:
//              codec=uncompressed|snappy|zstd  row_group_bytes=N  page_bytes=N
//              dictionary_page_bytes=N
//   line 2   the columns, tab-separated, each NAME:TYPE (split at the last
//            ':'), TYPE one of string int64 float64 boolean timestamp; NAME
//            is escaped like a string value
//   then     one row per line, tab-separated, one field per column:
//              \N          null
//              string      C-style escapes: \\ \t \n \r \xHH (any byte)
//              int64, timestamp  decimal (timestamp: microseconds since epoch)
//              float64     anything strtod reads exactly: hex floats
//                          (Python float.hex()), inf, -inf, nan
//              boolean     0 or 1
// Prints "rows=R row_groups=G bytes=B" on success; on failure one line on
// stderr and exit status 1.
//
//   write_parquet --bench OUT.parquet [ROWS] [CODEC]
//
// Writes ROWS (default 1000000) rows of 6 low-cardinality string columns,
// shaped like game events, and prints the time taken (wall and CPU, fsync
// included) and rows per second.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "parquet/file_writer.h"

namespace pq = questlog::parquet;

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "write_parquet: %s\n", msg.c_str());
  std::exit(1);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes the C-style escapes of `in` into `out` (cleared first).
bool unescape(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i == in.size()) return false;
    switch (in[i]) {
      case '\\':
        out.push_back('\\');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'x': {
        if (i + 2 >= in.size()) return false;
        int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
        if (hi < 0 || lo < 0) return false;
        out.push_back(static_cast<char>(hi << 4 | lo));
        i += 2;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t p = line.find(sep, start);
    if (p == std::string_view::npos) {
      parts.push_back(line.substr(start));
      return parts;
    }
    parts.push_back(line.substr(start, p - start));
    start = p + 1;
  }
}

uint64_t parse_u64(std::string_view s, const std::string& what) {
  std::string tmp(s);
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(tmp.c_str(), &end, 10);
  if (tmp.empty() || *end != '\0' || errno != 0) die("bad " + what + ": " + tmp);
  return v;
}

pq::Codec parse_codec(std::string_view s) {
  if (s == "uncompressed") return pq::Codec::uncompressed;
  if (s == "snappy") return pq::Codec::snappy;
  if (s == "zstd") return pq::Codec::zstd;
  die("unknown codec " + std::string(s));
}

void check(const questlog::Status& s) {
  if (!s.ok()) die(s.message());
}

int bench(const char* path, uint64_t rows, pq::Codec codec) {
  std::vector<pq::Column> schema = {
      {"Accept", pq::ColumnType::string},     {"Host", pq::ColumnType::string},
      {"User-Agent", pq::ColumnType::string}, {"description", pq::ColumnType::string},
      {"event_type", pq::ColumnType::string}, {"remote_addr", pq::ColumnType::string},
  };
  // Low cardinality: a handful of values per column, as the seed's events.
  std::vector<std::string> hosts, agents, addrs;
  for (int i = 0; i < 50; ++i) hosts.push_back("user" + std::to_string(i) + ".comcast.com");
  for (int i = 0; i < 8; ++i) agents.push_back("ApacheBench/2." + std::to_string(i));
  for (int i = 0; i < 200; ++i) addrs.push_back("10.0." + std::to_string(i) + ".17");
  const char* events[] = {"default", "purchase_sword", "purchase_knife", "join_guild"};
  // The rows' choices are drawn before the clock starts: only the writer is timed.
  struct Choice {
    uint8_t host, agent, event, addr;
  };
  std::vector<Choice> choices(rows);
  uint64_t x = 88172645463325252ull;  // xorshift64
  for (Choice& c : choices) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = {static_cast<uint8_t>(x % hosts.size()), static_cast<uint8_t>((x >> 8) % agents.size()),
         static_cast<uint8_t>((x >> 16) % 4), static_cast<uint8_t>((x >> 24) % addrs.size())};
  }
  pq::WriterOptions options;
  options.codec = codec;
  auto start = std::chrono::steady_clock::now();
  std::clock_t cpu_start = std::clock();
  auto writer = pq::FileWriter::create(path, schema, options);
  check(writer.status());
  pq::FileWriter& w = **writer;
  for (const Choice& c : choices) {
    w.set_string(0, "*/*");
    w.set_string(1, hosts[c.host]);
    w.set_string(2, agents[c.agent]);
    if (c.event == 2) w.set_string(3, "very sharp knife");
    w.set_string(4, events[c.event]);
    w.set_string(5, addrs[c.addr]);
    check(w.end_row());
  }
  auto summary = w.close();
  check(summary.status());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  std::printf(
      "rows=%llu seconds=%.4f cpu_seconds=%.4f rows_per_second=%.0f bytes=%llu row_groups=%llu\n",
      static_cast<unsigned long long>(rows), secs, cpu, static_cast<double>(rows) / secs,
      static_cast<unsigned long long>(summary->bytes),
      static_cast<unsigned long long>(summary->row_groups));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string_view(argv[1]) == "--bench") {
    uint64_t rows = argc >= 4 ? parse_u64(argv[3], "rows") : 1000000;
    pq::Codec codec = argc >= 5 ? parse_codec(argv[4]) : pq::Codec::snappy;
    return bench(argv[2], rows, codec);
  }
  if (argc != 2) die("usage: write_parquet OUT.parquet < input | --bench OUT [ROWS] [CODEC]");

  std::ios::sync_with_stdio(false);
  std::string line;
  if (!std::getline(std::cin, line)) die("missing the options line");
  pq::WriterOptions options;
  for (std::string_view kv : split(line, ' ')) {
    if (kv.empty()) continue;
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) die("bad option " + std::string(kv));
    std::string_view key = kv.substr(0, eq), value = kv.substr(eq + 1);
    if (key == "codec") {
      options.codec = parse_codec(value);
    } else if (key == "row_group_bytes") {
      options.row_group_bytes = parse_u64(value, "row_group_bytes");
    } else if (key == "page_bytes") {
      options.page_bytes = parse_u64(value, "page_bytes");
    } else if (key == "dictionary_page_bytes") {
      options.dictionary_page_bytes = parse_u64(value, "dictionary_page_bytes");
    } else {
      die("unknown option " + std::string(key));
    }
  }

  if (!std::getline(std::cin, line)) die("missing the columns line");
  std::vector<pq::Column> schema;
  std::string name;
  for (std::string_view spec : split(line, '\t')) {
    size_t colon = spec.rfind(':');
    if (colon == std::string_view::npos) die("bad column " + std::string(spec));
    if (!unescape(spec.substr(0, colon), name)) die("bad column name " + std::string(spec));
    std::string_view t = spec.substr(colon + 1);
    pq::ColumnType type;
    if (t == "string") {
      type = pq::ColumnType::string;
    } else if (t == "int64") {
      type = pq::ColumnType::int64;
    } else if (t == "float64") {
      type = pq::ColumnType::float64;
    } else if (t == "boolean") {
      type = pq::ColumnType::boolean;
    } else if (t == "timestamp") {
      type = pq::ColumnType::timestamp_micros;
    } else {
      die("unknown type " + std::string(t));
    }
    schema.push_back({name, type});
  }

  auto created = pq::FileWriter::create(argv[1], schema, options);
  check(created.status());
  pq::FileWriter& w = **created;
  std::string value;
  uint64_t row = 0;
  while (std::getline(std::cin, line)) {
    ++row;
    std::vector<std::string_view> fields = split(line, '\t');
    if (fields.size() != schema.size()) {
      die("row " + std::to_string(row) + ": " + std::to_string(fields.size()) + " fields for " +
          std::to_string(schema.size()) + " columns");
    }
    for (size_t c = 0; c < fields.size(); ++c) {
      std::string_view f = fields[c];
      if (f == "\\N") continue;
      std::string where = "row " + std::to_string(row) + " column " + schema[c].name;
      switch (schema[c].type) {
        case pq::ColumnType::string:
          if (!unescape(f, value)) die(where + ": bad escape");
          w.set_string(c, value);
          break;
        case pq::ColumnType::int64:
        case pq::ColumnType::timestamp_micros: {
          std::string tmp(f);
          char* end = nullptr;
          errno = 0;
          long long v = std::strtoll(tmp.c_str(), &end, 10);
          if (tmp.empty() || *end != '\0' || errno != 0) die(where + ": bad integer " + tmp);
          w.set_int64(c, v);
          break;
        }
        case pq::ColumnType::float64: {
          std::string tmp(f);
          char* end = nullptr;
          double v = std::strtod(tmp.c_str(), &end);
          if (tmp.empty() || *end != '\0') die(where + ": bad number " + tmp);
          w.set_float64(c, v);
          break;
        }
        case pq::ColumnType::boolean:
          if (f != "0" && f != "1") die(where + ": bad boolean " + std::string(f));
          w.set_boolean(c, f == "1");
          break;
      }
    }
    check(w.end_row());
  }
  auto summary = w.close();
  check(summary.status());
  std::printf("rows=%llu row_groups=%llu bytes=%llu\n",
              static_cast<unsigned long long>(summary->rows),
              static_cast<unsigned long long>(summary->row_groups),
              static_cast<unsigned long long>(summary->bytes));
  return 0;
}
