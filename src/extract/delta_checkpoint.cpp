#include "extract/delta_checkpoint.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "event/json.h"
#include "extract/table_dir.h"
#include "parquet/file_writer.h"

namespace questlog::extract::delta {
namespace {

namespace fs = std::filesystem;
using parquet::Field;
using parquet::Value;
using Kind = parquet::Field::Kind;

Field string_map(std::string name) {
  return Field::map(std::move(name), Field::leaf("key", Kind::string),
                    Field::leaf("value", Kind::string));
}

// The checkpoint's columns (PROTOCOL.md, "Checkpoint Schema"), in the order
// Spark writes them; the parts of each action's row follow the same order.
std::vector<Field> checkpoint_schema() {
  return {
      Field::group("txn", {Field::leaf("appId", Kind::string), Field::leaf("version", Kind::int64),
                           Field::leaf("lastUpdated", Kind::int64)}),
      Field::group("add",
                   {Field::leaf("path", Kind::string), string_map("partitionValues"),
                    Field::leaf("size", Kind::int64), Field::leaf("modificationTime", Kind::int64),
                    Field::leaf("dataChange", Kind::boolean), Field::leaf("stats", Kind::string),
                    string_map("tags")}),
      Field::group("remove", {Field::leaf("path", Kind::string),
                              Field::leaf("deletionTimestamp", Kind::int64),
                              Field::leaf("dataChange", Kind::boolean),
                              Field::leaf("extendedFileMetadata", Kind::boolean),
                              string_map("partitionValues"), Field::leaf("size", Kind::int64)}),
      Field::group(
          "metaData",
          {Field::leaf("id", Kind::string), Field::leaf("name", Kind::string),
           Field::leaf("description", Kind::string),
           Field::group("format", {Field::leaf("provider", Kind::string), string_map("options")}),
           Field::leaf("schemaString", Kind::string),
           Field::list("partitionColumns", Field::leaf("element", Kind::string)),
           string_map("configuration"), Field::leaf("createdTime", Kind::int64)}),
      Field::group("protocol", {Field::leaf("minReaderVersion", Kind::int32),
                                Field::leaf("minWriterVersion", Kind::int32)}),
  };
}

enum Column { kTxn, kAdd, kRemove, kMetaData, kProtocol, kColumns };

Value partition_values(const FileAction& f) {
  std::vector<Value> entries;
  for (const auto& [k, v] : f.partition_values)
    entries.push_back(Value::entry(k, v ? Value(*v) : Value()));
  return Value::parts(std::move(entries));
}

Value string_map_value(const std::map<std::string, std::string>& m) {
  std::vector<Value> entries;
  for (const auto& [k, v] : m) entries.push_back(Value::entry(k, v));
  return Value::parts(std::move(entries));
}

// A row holding `action` in column `c` and nulls elsewhere.
std::vector<Value> row(Column c, Value action) {
  std::vector<Value> r(kColumns);
  r[c] = std::move(action);
  return r;
}

// A file of checkpoint rows; counts what it holds.
struct Rows {
  parquet::FileWriter& w;
  CheckpointInfo& info;
  Status put(Column c, Value action) {
    ++info.actions;
    if (c == kAdd) ++info.adds;
    std::vector<Value> r = row(c, std::move(action));
    return w.write_row(r);
  }
};

Status write_rows(Rows& rows, const Snapshot& s, int64_t now_ms) {
  if (Status st = rows.put(kProtocol, Value::parts({Value(int64_t{s.min_reader_version}),
                                                    Value(int64_t{s.min_writer_version})}));
      !st.ok())
    return st;
  if (s.metadata) {
    const Metadata& m = *s.metadata;
    std::vector<Value> parts_columns;
    for (const std::string& p : m.partition_columns) parts_columns.emplace_back(p);
    Value meta = Value::parts({
        Value(m.id),
        Value(),
        Value(),
        Value::parts({Value("parquet"), Value::parts({})}),
        Value(schema_string(m.fields)),
        Value::parts(std::move(parts_columns)),
        string_map_value(m.configuration),
        Value(m.created_time),
    });
    if (Status st = rows.put(kMetaData, std::move(meta)); !st.ok()) return st;
  }
  for (const auto& [app, version] : s.txns) {
    if (Status st = rows.put(kTxn, Value::parts({Value(app), Value(version), Value()})); !st.ok())
      return st;
  }
  // Checkpoints record the state, not a change: dataChange is false (as
  // Spark writes them).
  for (const auto& [path, f] : s.files) {
    Value add = Value::parts({
        Value(f.path),
        partition_values(f),
        Value(f.size),
        Value(f.modification_time),
        Value(false),
        f.stats.empty() ? Value() : Value(f.stats),
        Value(),
    });
    if (Status st = rows.put(kAdd, std::move(add)); !st.ok()) return st;
  }
  const int64_t retention = tombstone_retention_ms(s);
  for (const auto& [path, f] : s.tombstones) {
    if (retention >= 0 && f.modification_time < now_ms - retention) continue;
    Value remove = Value::parts({
        Value(f.path),
        Value(f.modification_time),
        Value(false),
        Value(true),
        partition_values(f),
        Value(f.size),
    });
    if (Status st = rows.put(kRemove, std::move(remove)); !st.ok()) return st;
  }
  return {};
}

// Creates `path` holding `data`, synced, under a temporary name renamed to it.
Status replace_file(io::FileSystem& fs, const fs::path& dir, const std::string& name,
                    std::string_view data) {
  const fs::path tmp = dir / fmt::format(".{}.{}.tmp", name, random_uuid());
  auto put = [&]() -> Status {
    auto file = fs.open(tmp, io::OpenMode::truncate);
    if (!file.ok()) return file.status();
    if (Status s = (*file)->write_at(0, data); !s.ok()) return s;
    if (Status s = (*file)->sync(); !s.ok()) return s;
    if (Status s = (*file)->close(); !s.ok()) return s;
    return fs.rename(tmp, dir / name);
  };
  Status s = put();
  if (!s.ok()) {
    (void)fs.remove(tmp);
    return s;
  }
  return fs.sync_dir(dir);
}

// The version _last_checkpoint names, or -1.
int64_t last_checkpoint_version(io::FileSystem& fs, const fs::path& table) {
  auto text = io::read_file(fs, log_dir(table) / "_last_checkpoint");
  if (!text.ok()) return -1;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  int64_t v = -1;
  if (parser.parse(text->data(), text->size()).get(root) != simdjson::SUCCESS) return -1;
  if (root["version"].get_int64().get(v) != simdjson::SUCCESS) return -1;
  return v;
}

}  // namespace

fs::path checkpoint_path(const fs::path& table, int64_t version) {
  return log_dir(table) / fmt::format("{:020d}.checkpoint.parquet", version);
}

int64_t checkpoint_interval(const Snapshot& s) {
  if (!s.metadata) return kDefaultCheckpointInterval;
  auto it = s.metadata->configuration.find("delta.checkpointInterval");
  if (it == s.metadata->configuration.end()) return kDefaultCheckpointInterval;
  const std::string& v = it->second;
  int64_t n = 0;
  if (v.empty() || v.size() > 9) return kDefaultCheckpointInterval;
  for (char c : v) {
    if (c < '0' || c > '9') return kDefaultCheckpointInterval;
    n = n * 10 + (c - '0');
  }
  return n > 0 ? n : kDefaultCheckpointInterval;
}

bool checkpoint_due(const Snapshot& s) {
  return s.version > 0 && s.version % checkpoint_interval(s) == 0;
}

int64_t tombstone_retention_ms(const Snapshot& s) {
  constexpr int64_t kWeek = 7 * 24 * 3600 * 1000LL;
  if (!s.metadata) return kWeek;
  auto it = s.metadata->configuration.find("delta.deletedFileRetentionDuration");
  if (it == s.metadata->configuration.end()) return kWeek;
  // "interval <n> <unit>", as Spark's CalendarInterval prints it.
  std::string text;
  for (char c : it->second) text += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  long long n = 0;
  char unit[16] = {};
  if (std::sscanf(text.c_str(), " interval %lld %15s", &n, unit) != 2 || n < 0) return -1;
  std::string u = unit;
  if (u.size() > 1 && u.back() == 's') u.pop_back();
  int64_t ms;
  if (u == "second")
    ms = 1000;
  else if (u == "minute")
    ms = 60 * 1000;
  else if (u == "hour")
    ms = 3600 * 1000;
  else if (u == "day")
    ms = 24 * 3600 * 1000LL;
  else if (u == "week")
    ms = kWeek;
  else
    return -1;
  if (n > INT64_MAX / ms) return -1;
  return n * ms;
}

Result<CheckpointInfo> write_checkpoint(io::FileSystem& fs, const fs::path& table,
                                        const Snapshot& snapshot, int64_t now_ms) {
  CheckpointInfo info;
  info.version = snapshot.version;
  if (snapshot.version < 0)
    return Status::error(Errc::invalid_argument,
                         fmt::format("{}: no table version to checkpoint", fs.describe(table)));
  const fs::path dir = log_dir(table);
  const fs::path final_path = checkpoint_path(table, snapshot.version);
  const fs::path tmp =
      dir / fmt::format(".{}.{}.tmp", final_path.filename().string(), random_uuid());
  auto write = [&]() -> Status {
    auto w = parquet::FileWriter::create_nested(fs, tmp, checkpoint_schema());
    if (!w.ok()) return w.status();
    Rows rows{**w, info};
    if (Status s = write_rows(rows, snapshot, now_ms); !s.ok()) return s;
    auto summary = (*w)->close();
    if (!summary.ok()) return summary.status();
    info.bytes = summary->bytes;
    return fs.rename(tmp, final_path);
  };
  if (Status s = write(); !s.ok()) {
    (void)fs.remove(tmp);
    return s;
  }
  if (Status s = fs.sync_dir(dir); !s.ok()) return s;

  // _last_checkpoint points readers at it, unless another writer has made a
  // later checkpoint meanwhile.
  if (last_checkpoint_version(fs, table) >= snapshot.version) return info;
  event::JsonWriter j;
  j.begin_object()
      .field("version", snapshot.version)
      .field("size", info.actions)
      .field("sizeInBytes", info.bytes)
      .field("numOfAddFiles", info.adds)
      .end_object();
  if (Status s = replace_file(fs, dir, "_last_checkpoint", j.text()); !s.ok()) return s;
  return info;
}

}  // namespace questlog::extract::delta
