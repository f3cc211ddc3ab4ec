#include "extract/delta_log.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "event/json.h"
#include "io/webhdfs_uri.h"
#include "util/parallel.h"

namespace questlog::extract::delta {
namespace {

// update() reads this many commit files before applying them, this many at once.
constexpr size_t kReadAhead = 64;
constexpr size_t kReadersAtOnce = 8;

namespace fs = std::filesystem;
using event::JsonWriter;
using simdjson::dom::element;
using simdjson::dom::object;

// The version a commit file's name holds: 20 digits and ".json".
std::optional<int64_t> commit_version(const std::string& name) {
  if (name.size() != 25 || name.compare(20, 5, ".json") != 0) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    if (v > (INT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

// The version of a checkpoint file's name: 20 digits, ".checkpoint.", then
// "parquet", "<part>.<parts>.parquet" or "<uuid>.{json,parquet}".
std::optional<int64_t> checkpoint_version(const std::string& name) {
  if (name.size() < 32 || name.compare(20, 12, ".checkpoint.") != 0) return std::nullopt;
  return commit_version(name.substr(0, 20) + ".json");
}

std::string text_of(element e) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  return simdjson::minify(e);
}

std::optional<std::string> string_field(object o, const char* key) {
  std::string_view s;
  if (o[key].get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
  return std::string(s);
}

int64_t int_field(object o, const char* key) {
  int64_t n = 0;
  if (o[key].get_int64().get(n) != simdjson::SUCCESS) return 0;
  return n;
}

Result<std::vector<Field>> parse_schema(std::string_view schema, const std::string& where) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(schema.data(), schema.size()).get(root) != simdjson::SUCCESS)
    return Status::error(Errc::corruption, fmt::format("{}: schemaString is not JSON", where));
  simdjson::dom::array fields;
  if (root["fields"].get_array().get(fields) != simdjson::SUCCESS)
    return Status::error(Errc::corruption, fmt::format("{}: schemaString has no fields", where));
  std::vector<Field> out;
  for (element f : fields) {
    object o;
    if (f.get_object().get(o) != simdjson::SUCCESS)
      return Status::error(Errc::corruption,
                           fmt::format("{}: a schema field is not an object", where));
    Field field;
    auto name = string_field(o, "name");
    element type;
    if (!name || o["type"].get(type) != simdjson::SUCCESS)
      return Status::error(Errc::corruption,
                           fmt::format("{}: a schema field has no name or type", where));
    field.name = *name;
    field.type = text_of(type);
    bool nullable = true;
    if (o["nullable"].get_bool().get(nullable) == simdjson::SUCCESS) field.nullable = nullable;
    element meta;
    if (o["metadata"].get(meta) == simdjson::SUCCESS) field.metadata = simdjson::minify(meta);
    out.push_back(std::move(field));
  }
  return out;
}

FileAction parse_file(object o) {
  FileAction f;
  f.path = string_field(o, "path").value_or("");
  object values;
  if (o["partitionValues"].get_object().get(values) == simdjson::SUCCESS) {
    for (auto [k, v] : values) {
      std::string_view s;
      if (v.get_string().get(s) == simdjson::SUCCESS)
        f.partition_values.emplace_back(std::string(k), std::string(s));
      else
        f.partition_values.emplace_back(std::string(k), std::nullopt);
    }
  }
  f.size = int_field(o, "size");
  f.modification_time = int_field(o, "modificationTime");
  f.stats = string_field(o, "stats").value_or("");
  return f;
}

// Applies one action line to `s`.
Status apply(std::string_view line, const std::string& where, simdjson::dom::parser& parser,
             Snapshot& s) {
  element root;
  if (parser.parse(line.data(), line.size()).get(root) != simdjson::SUCCESS)
    return Status::error(Errc::corruption, fmt::format("{}: a line is not JSON", where));
  object action;
  if (root.get_object().get(action) != simdjson::SUCCESS)
    return Status::error(Errc::corruption, fmt::format("{}: a line is not a JSON object", where));
  object o;
  if (action["add"].get_object().get(o) == simdjson::SUCCESS) {
    FileAction f = parse_file(o);
    std::string path = f.path;
    s.tombstones.erase(path);
    s.files[path] = std::move(f);
  } else if (action["remove"].get_object().get(o) == simdjson::SUCCESS) {
    FileAction f = parse_file(o);
    f.modification_time = int_field(o, "deletionTimestamp");
    bool data_change = true;
    if (o["dataChange"].get_bool().get(data_change) == simdjson::SUCCESS)
      f.data_change = data_change;
    s.files.erase(f.path);
    std::string path = f.path;
    s.tombstones[path] = std::move(f);
  } else if (action["txn"].get_object().get(o) == simdjson::SUCCESS) {
    auto app = string_field(o, "appId");
    if (app) s.txns[*app] = int_field(o, "version");
  } else if (action["metaData"].get_object().get(o) == simdjson::SUCCESS) {
    Metadata m;
    m.id = string_field(o, "id").value_or("");
    auto schema = string_field(o, "schemaString");
    if (!schema)
      return Status::error(Errc::corruption,
                           fmt::format("{}: metaData has no schemaString", where));
    auto fields = parse_schema(*schema, where);
    if (!fields.ok()) return fields.status();
    m.fields = std::move(fields).value();
    simdjson::dom::array parts;
    if (o["partitionColumns"].get_array().get(parts) == simdjson::SUCCESS) {
      for (element p : parts) {
        std::string_view name;
        if (p.get_string().get(name) == simdjson::SUCCESS) m.partition_columns.emplace_back(name);
      }
    }
    object conf;
    if (o["configuration"].get_object().get(conf) == simdjson::SUCCESS) {
      for (auto [k, v] : conf) m.configuration[std::string(k)] = text_of(v);
    }
    m.created_time = int_field(o, "createdTime");
    s.metadata = std::move(m);
  } else if (action["protocol"].get_object().get(o) == simdjson::SUCCESS) {
    s.min_reader_version = static_cast<int>(int_field(o, "minReaderVersion"));
    s.min_writer_version = static_cast<int>(int_field(o, "minWriterVersion"));
    s.features.clear();
    for (const char* key : {"readerFeatures", "writerFeatures"}) {
      simdjson::dom::array names;
      if (o[key].get_array().get(names) != simdjson::SUCCESS) continue;
      for (element n : names) {
        std::string_view name;
        if (n.get_string().get(name) == simdjson::SUCCESS &&
            std::find(s.features.begin(), s.features.end(), name) == s.features.end())
          s.features.emplace_back(name);
      }
    }
  }
  // commitInfo, domainMetadata and anything newer: nothing to keep.
  return {};
}

// "partitionValues": {"k": "v" or null, ...}, as add and remove both carry it.
void write_partition_values(JsonWriter& w, const FileAction& f) {
  w.key("partitionValues").begin_object();
  for (const auto& [k, v] : f.partition_values) {
    w.key(k);
    if (v)
      w.value(*v);
    else
      w.null();
  }
  w.end_object();
}

void write_file_fields(JsonWriter& w, const FileAction& f) {
  w.field("path", f.path);
  write_partition_values(w, f);
  w.field("size", f.size);
}

// Applies commit `v` (its file's text) to `snapshot`.
Status apply_commit(int64_t v, std::string_view text, const std::string& where,
                    simdjson::dom::parser& parser, Snapshot& snapshot) {
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (Status s = apply(line, where, parser, snapshot); !s.ok()) return s;
  }
  snapshot.version = v;
  ++snapshot.commits_read;
  return {};
}

}  // namespace

fs::path log_dir(const fs::path& table) { return table / "_delta_log"; }

fs::path commit_path(const fs::path& table, int64_t version) {
  return log_dir(table) / fmt::format("{:020d}.json", version);
}

Status update(io::FileSystem& fs, const fs::path& table, Snapshot& snapshot) {
  auto entries = fs.list(log_dir(table));
  if (!entries.ok()) {
    if (entries.status().code() == Errc::not_found) return {};  // no log yet
    return entries.status();
  }
  std::vector<int64_t> versions;
  std::optional<int64_t> checkpoint;  // the latest checkpoint's version
  for (const io::DirEntry& e : *entries) {
    auto v = commit_version(e.name);
    if (v && *v > snapshot.version && e.kind == io::FileKind::regular) versions.push_back(*v);
    if (auto c = checkpoint_version(e.name); c && (!checkpoint || *c > *checkpoint)) checkpoint = c;
  }
  std::sort(versions.begin(), versions.end());
  // A log whose first commits were cleaned up after a checkpoint (by another
  // writer): questlog reads only the JSON commits, so it cannot know the
  // table's state. So also when only a checkpoint is left.
  if (snapshot.version < 0 && checkpoint && (versions.empty() || versions.front() != 0))
    return Status::error(
        Errc::invalid_argument,
        fmt::format("{}: commit 0 is gone (the log was cleaned up after its checkpoint of "
                    "version {}); questlog reads a table from its JSON commits, from version 0, "
                    "and cannot open this one",
                    fs.describe(log_dir(table)), *checkpoint));
  int64_t expect = snapshot.version + 1;
  for (int64_t v : versions) {
    if (v != expect)
      return Status::error(
          Errc::corruption,
          fmt::format("{}: the log has version {} but not {} (cleaned up after a checkpoint by "
                      "another writer? questlog reads only commit files)",
                      fs.describe(log_dir(table)), v, expect));
    ++expect;
  }
  // The commits are read kReadAhead at a time, side by side (on HDFS each is
  // two round trips), and applied in order.
  simdjson::dom::parser parser;
  for (size_t first = 0; first < versions.size(); first += kReadAhead) {
    const size_t n = std::min(kReadAhead, versions.size() - first);
    std::vector<std::string> texts(n);
    Status read = parallel_for(n, kReadersAtOnce, [&](size_t i) -> Status {
      auto text = io::read_file(fs, commit_path(table, versions[first + i]));
      if (!text.ok()) return text.status();
      texts[i] = std::move(text).value();
      return {};
    });
    if (!read.ok()) return read;
    for (size_t i = 0; i < n; ++i)
      if (Status s =
              apply_commit(versions[first + i], texts[i],
                           fs.describe(commit_path(table, versions[first + i])), parser, snapshot);
          !s.ok())
        return s;
  }
  return {};
}

std::string schema_string(const std::vector<Field>& fields) {
  JsonWriter w;
  w.begin_object().field("type", "struct").key("fields").begin_array();
  for (const Field& f : fields) {
    w.begin_object().field("name", f.name).key("type");
    if (!f.type.empty() && (f.type[0] == '{' || f.type[0] == '['))
      w.raw(f.type);
    else
      w.value(f.type);
    w.field("nullable", f.nullable).key("metadata").raw(f.metadata).end_object();
  }
  w.end_array().end_object();
  return w.take();
}

std::string encode(const Commit& c) {
  std::string out;
  auto line = [&](JsonWriter& w) {
    out += w.text();
    out += '\n';
  };
  if (c.protocol) {
    JsonWriter w;
    w.begin_object().key("protocol").begin_object();
    w.field("minReaderVersion", kReaderVersion).field("minWriterVersion", kWriterVersion);
    w.end_object().end_object();
    line(w);
  }
  if (c.metadata) {
    const Metadata& m = *c.metadata;
    JsonWriter w;
    w.begin_object().key("metaData").begin_object();
    w.field("id", m.id);
    w.key("format").begin_object().field("provider", "parquet");
    w.key("options").begin_object().end_object().end_object();
    w.field("schemaString", schema_string(m.fields));
    w.key("partitionColumns").begin_array();
    for (const std::string& p : m.partition_columns) w.value(p);
    w.end_array();
    w.key("configuration").begin_object();
    for (const auto& [k, v] : m.configuration) w.field(k, v);
    w.end_object();
    w.field("createdTime", m.created_time);
    w.end_object().end_object();
    line(w);
  }
  for (const auto& [app, version] : c.txns) {
    JsonWriter w;
    w.begin_object().key("txn").begin_object();
    w.field("appId", app).field("version", version).field("lastUpdated", c.timestamp_ms);
    w.end_object().end_object();
    line(w);
  }
  for (const FileAction& f : c.removes) {
    JsonWriter w;
    w.begin_object().key("remove").begin_object();
    w.field("path", f.path).field("deletionTimestamp", c.timestamp_ms);
    w.field("dataChange", f.data_change).field("extendedFileMetadata", true);
    write_partition_values(w, f);
    w.field("size", f.size);
    w.end_object().end_object();
    line(w);
  }
  for (const FileAction& f : c.adds) {
    JsonWriter w;
    w.begin_object().key("add").begin_object();
    write_file_fields(w, f);
    w.field("modificationTime", f.modification_time).field("dataChange", f.data_change);
    if (!f.stats.empty()) w.field("stats", f.stats);
    w.end_object().end_object();
    line(w);
  }
  {
    JsonWriter w;
    w.begin_object().key("commitInfo").begin_object();
    w.field("timestamp", c.timestamp_ms).field("operation", c.operation);
    w.key("operationParameters").begin_object().field("mode", c.mode).end_object();
    w.field("isBlindAppend", c.removes.empty() && c.txns.empty());
    w.field("engineInfo", "questlog");
    w.end_object().end_object();
    line(w);
  }
  return out;
}

Status write_commit(io::FileSystem& fs, const fs::path& table, int64_t version,
                    const Commit& commit) {
  // Version 0 may make the log; a later one follows a commit found in it.
  if (version == 0) {
    if (auto made = fs.create_dirs(log_dir(table)); !made.ok()) return made.status();
  }
  return fs.put_if_absent(commit_path(table, version), encode(commit));
}

namespace {

// A hidden upload a writer makes in _delta_log before renaming it to its
// name: ".<name>.<token>.tmp", where the token is hex digits and dashes (16 hex
// for put_if_absent's upload of a commit, a UUID for a checkpoint's) and the
// name is a commit, a checkpoint or _last_checkpoint.
bool is_log_upload(const std::string& name) {
  constexpr std::string_view kTmp = ".tmp";
  if (name.size() < 1 + kTmp.size() + 2 || name[0] != '.' ||
      name.compare(name.size() - kTmp.size(), kTmp.size(), kTmp) != 0)
    return false;
  const std::string inner = name.substr(1, name.size() - 1 - kTmp.size());
  const size_t dot = inner.rfind('.');
  if (dot == std::string::npos || dot + 1 == inner.size()) return false;
  const bool token = std::all_of(
      inner.begin() + static_cast<std::ptrdiff_t>(dot) + 1, inner.end(),
      [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-'; });
  const std::string base = inner.substr(0, dot);
  return token && (commit_version(base) || checkpoint_version(base) || base == "_last_checkpoint");
}

}  // namespace

Status remove_stale_uploads(io::FileSystem& fs, const fs::path& table, int64_t now_ms) {
  auto entries = fs.list_status(log_dir(table));
  if (!entries.ok()) return entries.status();
  for (const io::FileStatus& e : *entries) {
    if (e.kind != io::FileKind::regular || !is_log_upload(e.name)) continue;
    if (now_ms - e.modified_ms < kStaleUploadMs) continue;
    if (Status s = fs.remove(log_dir(table) / e.name); !s.ok() && s.code() != Errc::not_found)
      return s;
  }
  return {};
}

std::string encode_path(std::string_view path) { return io::percent_encode_path(path, "="); }

std::string decode_path(std::string_view uri) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(uri.size());
  for (size_t i = 0; i < uri.size(); ++i) {
    if (uri[i] == '%' && i + 2 < uri.size() && hex(uri[i + 1]) >= 0 && hex(uri[i + 2]) >= 0) {
      out += static_cast<char>(hex(uri[i + 1]) * 16 + hex(uri[i + 2]));
      i += 2;
    } else {
      out += uri[i];
    }
  }
  return out;
}

}  // namespace questlog::extract::delta
