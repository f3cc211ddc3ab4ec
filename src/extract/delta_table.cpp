#include "extract/delta_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>

#include "event/json.h"
#include "extract/delta_checkpoint.h"
#include "extract/table_dir.h"
#include "extract/table_printer.h"
#include "util/case_fold.h"
#include "util/clock.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxAttempts = 100;       // commits lost in a row before giving up
constexpr size_t kMaxStatsString = 64;  // longer string minimums and maximums are left out

}  // namespace

std::optional<parquet::ColumnType> delta_column_type(const std::string& delta_type) {
  if (delta_type == "string") return parquet::ColumnType::string;
  if (delta_type == "long") return parquet::ColumnType::int64;
  if (delta_type == "double") return parquet::ColumnType::float64;
  if (delta_type == "boolean") return parquet::ColumnType::boolean;
  if (delta_type == "timestamp") return parquet::ColumnType::timestamp_micros;
  return std::nullopt;
}

namespace {

// Whether values of type `from` can be written into a column of type `to`
// (the run's widening: int64 -> float64 -> string; anything -> string).
bool widens_to(parquet::ColumnType from, parquet::ColumnType to) {
  using T = parquet::ColumnType;
  if (from == to) return true;
  if (to == T::string) return from != T::timestamp_micros;
  return from == T::int64 && to == T::float64;
}

// Microseconds since the epoch as "2026-11-28T20:47:00.123Z" (whole ms, rounded
// down, or up with `up`, so the text is still a bound).
std::string iso_millis(int64_t micros, bool up) {
  int64_t ms = micros / 1000 - (micros % 1000 < 0 ? 1 : 0);
  if (up && micros % 1000 != 0) ms += 1;
  std::time_t secs = static_cast<std::time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  int64_t frac = ms - static_cast<int64_t>(secs) * 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

template <typename T>
T plain_value(const std::string& bytes) {
  T v{};
  std::memcpy(&v, bytes.data(), std::min(bytes.size(), sizeof v));
  return v;
}

// Writes min or max of column `c` as a stats value; false when it is left out.
bool stats_value(event::JsonWriter& w, const parquet::Column& c, const std::string& plain,
                 bool is_max, const parquet::ColumnSummary& s) {
  switch (c.type) {
    case parquet::ColumnType::int64:
      w.key(c.name).value(plain_value<int64_t>(plain));
      return true;
    case parquet::ColumnType::timestamp_micros:
      w.key(c.name).value(iso_millis(plain_value<int64_t>(plain), is_max));
      return true;
    case parquet::ColumnType::float64: {
      double d = plain_value<double>(plain);
      if (s.nan_count > 0 || !std::isfinite(d)) return false;
      w.key(c.name).value(d);
      return true;
    }
    case parquet::ColumnType::string:
      if (plain.size() > kMaxStatsString) return false;
      w.key(c.name).value(plain);
      return true;
    case parquet::ColumnType::boolean:
      return false;  // Delta's data skipping keeps no boolean bounds
  }
  return false;
}

// The add action's stats: numRecords, minValues, maxValues, nullCount.
std::string stats_of(const WrittenFile& f) {
  event::JsonWriter w;
  w.begin_object().field("numRecords", f.summary.rows);
  for (bool is_max : {false, true}) {
    w.key(is_max ? "maxValues" : "minValues").begin_object();
    for (size_t i = 0; i < f.columns.size() && i < f.summary.columns.size(); ++i) {
      const parquet::ColumnSummary& s = f.summary.columns[i];
      const auto& v = is_max ? s.max : s.min;
      if (v) stats_value(w, f.columns[i], *v, is_max, s);
    }
    w.end_object();
  }
  w.key("nullCount").begin_object();
  for (size_t i = 0; i < f.columns.size() && i < f.summary.columns.size(); ++i)
    w.field(f.columns[i].name, f.summary.columns[i].null_count);
  w.end_object().end_object();
  return w.take();
}

delta::Field field_of(const SchemaColumn& c) {
  delta::Field f;
  f.name = c.name;
  f.type = delta_type_name(c.type);
  return f;
}

// "a, b, c"
std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string list_text(const std::vector<std::string>& v) {
  std::string s = "[";
  for (const std::string& x : v) s += (s.size() > 1 ? ", " : "") + x;
  return s + "]";
}

}  // namespace

std::string delta_app_id(const std::string& job_stem, const std::string& table,
                         const std::string& topic, int32_t partition) {
  return fmt::format("questlog/{}/{}/{}/{}", job_stem, table, topic, partition);
}

// Delta's schemaString uses Spark's type names (PROTOCOL.md, "Primitive Types").
const char* delta_type_name(parquet::ColumnType t) { return spark_type_name(t); }

Result<std::unique_ptr<DeltaTable>> DeltaTable::open(io::FileSystem& lake,
                                                     const std::string& relative) {
  std::unique_ptr<DeltaTable> t(new DeltaTable(lake, relative));
  auto kind = lake.kind(relative);
  if (!kind.ok()) return kind.status();
  if (*kind && *kind != io::FileKind::directory)
    return Status::error(
        Errc::invalid_argument,
        fmt::format("{}: not a directory (a Delta table is one)", lake.describe(relative)));
  if (*kind) {
    auto log = lake.kind(delta::log_dir(relative));
    if (!log.ok()) return log.status();
    if (!*log) {
      auto entries = lake.list(relative);
      if (!entries.ok()) return entries.status();
      for (const io::DirEntry& e : *entries)
        if (!e.name.empty() && e.name[0] != '.' && e.name[0] != '_')
          return Status::error(
              Errc::invalid_argument,
              fmt::format("{} holds a table that is not a Delta table (no _delta_log); "
                          "move it aside, or write it with format = \"parquet\"",
                          lake.describe(relative)));
    }
  }
  if (Status s = delta::update(lake, relative, t->snapshot_); !s.ok()) return s;
  if (Status s = t->writable(); !s.ok()) return s;
  // What killed writers left (best effort).
  if (t->snapshot_.version >= 0) (void)delta::remove_stale_uploads(lake, relative, now_ms());
  return t;
}

DeltaTable::~DeltaTable() {
  if (pending_droppable_) drop_pending();
}

void DeltaTable::drop_pending() {
  for (const WrittenFile& f : pending_.written) (void)lake_.remove(fs::path(relative_) / f.path);
  pending_ = {};
  pending_droppable_ = false;
}

Status DeltaTable::writable() const {
  const delta::Snapshot& s = snapshot_;
  if (s.version < 0) return {};
  const std::string where = lake_.describe(relative_);
  if (s.min_reader_version > delta::kReaderVersion || s.min_writer_version > delta::kWriterVersion)
    return Status::error(
        Errc::invalid_argument,
        fmt::format("{}: the table needs Delta reader version {} and writer version {}{}; "
                    "questlog writes reader {} / writer {} tables only",
                    where, s.min_reader_version, s.min_writer_version,
                    s.features.empty() ? "" : fmt::format(" (table features {})", join(s.features)),
                    delta::kReaderVersion, delta::kWriterVersion));
  if (!s.metadata)
    return Status::error(Errc::corruption, fmt::format("{}: the log has no metaData", where));
  for (const delta::Field& f : s.metadata->fields)
    if (f.metadata.find("delta.invariants") != std::string::npos)
      return Status::error(
          Errc::invalid_argument,
          fmt::format("{}: column {} has an invariant (delta.invariants), which questlog does not "
                      "check; write this table with Spark",
                      where, f.name));
  return {};
}

std::optional<int64_t> DeltaTable::committed(const std::string& app_id) const {
  auto it = snapshot_.txns.find(app_id);
  if (it == snapshot_.txns.end()) return std::nullopt;
  return it->second;
}

Result<std::vector<SchemaColumn>> DeltaTable::plan_columns(
    const std::vector<SchemaColumn>& columns, const std::vector<std::string>& partition_by,
    Mode mode) const {
  const std::string where = fmt::format("table {}", lake_.describe(relative_));
  // Extract names a Delta table's columns by NameRules::delta; a name that
  // still has such a character (a job's partition column no row has) is refused.
  for (const SchemaColumn& c : columns) {
    if (c.name.find_first_of(kDeltaForbidden) != std::string::npos)
      return Status::error(Errc::invalid_argument,
                           fmt::format("{}: column name {:?} has a character Delta does not "
                                       "allow (a space or any of ,;{{}}()=, a line break, a tab)",
                                       where, c.name));
  }
  if (mode == Mode::overwrite) {
    auto conf = snapshot_.metadata ? snapshot_.metadata->configuration
                                   : std::map<std::string, std::string>{};
    if (conf["delta.appendOnly"] == "true")
      return Status::error(
          Errc::invalid_argument,
          fmt::format("{}: delta.appendOnly is set; it cannot be overwritten", where));
    return columns;
  }
  if (!snapshot_.metadata) return columns;
  const delta::Metadata& m = *snapshot_.metadata;
  if (m.partition_columns != partition_by)
    return Status::error(
        Errc::invalid_argument,
        fmt::format("{}: partitioned by {} in the table and by {} in the job; overwrite it "
                    "(mode = \"overwrite\") to change that",
                    where, list_text(m.partition_columns), list_text(partition_by)));
  std::vector<SchemaColumn> out = columns;
  for (SchemaColumn& c : out) {
    const delta::Field* same = nullptr;
    for (const delta::Field& f : m.fields) {
      if (f.name == c.name) {
        same = &f;
        break;
      }
      if (fold_case(f.name) == fold_case(c.name))
        return Status::error(Errc::invalid_argument,
                             fmt::format("{}: column {} differs only in case from the table's "
                                         "column {} (Delta column names ignore case)",
                                         where, c.name, f.name));
    }
    if (!same) continue;
    auto type = delta_column_type(same->type);
    if (type && widens_to(c.type, *type)) {
      c.type = *type;
      continue;
    }
    return Status::error(
        Errc::invalid_argument,
        fmt::format("{}: column {} is {} in the table and this run has {} values; overwrite the "
                    "table (mode = \"overwrite\") to change its type",
                    where, c.name, same->type, delta_type_name(c.type)));
  }
  return out;
}

Result<TableWriteResult> DeltaTable::write(const RowBuffer& rows, TableWriteSpec spec) {
  if (pending_droppable_) drop_pending();
  const std::string uuid = random_uuid();
  spec.file_name = [uuid, codec = spec.codec](int i) {
    return TableDir::part_name(i, uuid, codec);
  };
  spec.empty_file = false;
  pending_ = {};
  // _delta_log before any file: a directory with part files and no log is a
  // plain table to open(), also while another writer makes this table's first
  // version. (A table with a version has its log.)
  if (snapshot_.version < 0) {
    if (auto made = lake_.create_dirs(delta::log_dir(relative_)); !made.ok()) return made.status();
  }
  auto written = write_table(rows, lake_, relative_, spec);
  if (!written.ok()) return written.status();
  pending_ = *written;
  pending_droppable_ = true;
  return written;
}

Result<int64_t> DeltaTable::commit(const Run& run) {
  const std::string where = fmt::format("table {}", lake_.describe(relative_));
  std::vector<delta::FileAction> adds;
  for (const WrittenFile& f : pending_.written) {
    delta::FileAction a;
    a.path = delta::encode_path(f.path.generic_string());
    for (size_t i = 0; i < run.partition_by.size() && i < f.partition_values.size(); ++i)
      a.partition_values.emplace_back(run.partition_by[i], f.partition_values[i]);
    a.size = static_cast<int64_t>(f.summary.bytes);
    a.modification_time = run.now_ms;
    a.stats = stats_of(f);
    adds.push_back(std::move(a));
  }
  for (int attempt = 0;; ++attempt) {
    // The first attempt takes the version after the snapshot (as this table
    // was opened, or as this process last committed it): a commit made since
    // by anyone else took that version, so losing it brings the run here, to
    // catch up with the commits made since and check them.
    if (attempt > 0) {
      if (Status s = delta::update(lake_, relative_, snapshot_); !s.ok()) return s;
      if (Status s = writable(); !s.ok()) return s;
    }
    for (const auto& [app, from] : run.started_from) {
      if (committed(app) != from) {
        drop_pending();
        return Status::error(
            Errc::busy, fmt::format("{}: another run committed the offsets of {} (now up to {}) "
                                    "while this one ran; nothing of this run was committed",
                                    where, app, committed(app).value_or(0)));
      }
    }
    auto planned = plan_columns(run.columns, run.partition_by, run.mode);
    if (!planned.ok()) {
      drop_pending();
      return planned.status();
    }
    for (size_t i = 0; i < planned->size(); ++i) {
      if ((*planned)[i].type != run.columns[i].type) {
        drop_pending();
        return Status::error(Errc::busy, fmt::format("{}: column {} became {} while this run "
                                                     "ran; nothing of this run was committed",
                                                     where, run.columns[i].name,
                                                     delta_type_name((*planned)[i].type)));
      }
    }

    delta::Commit c;
    c.protocol = snapshot_.version < 0;
    c.timestamp_ms = run.now_ms;
    c.mode = run.mode == Mode::overwrite ? "Overwrite" : "Append";
    c.txns = run.txns;
    c.adds = adds;
    delta::Metadata m;
    if (snapshot_.metadata) {
      m = *snapshot_.metadata;
    } else {
      m.id = random_uuid();
      m.created_time = run.now_ms;
    }
    if (run.mode == Mode::overwrite || !snapshot_.metadata) {
      m.fields.clear();
      for (const SchemaColumn& col : run.columns) m.fields.push_back(field_of(col));
      m.partition_columns = run.partition_by;
    } else {
      for (const SchemaColumn& col : run.columns) {
        bool there = std::any_of(m.fields.begin(), m.fields.end(),
                                 [&](const delta::Field& f) { return f.name == col.name; });
        if (!there) m.fields.push_back(field_of(col));
      }
    }
    if (!snapshot_.metadata || m.fields != snapshot_.metadata->fields ||
        m.partition_columns != snapshot_.metadata->partition_columns)
      c.metadata = m;
    if (run.mode == Mode::overwrite) {
      for (const auto& [path, f] : snapshot_.files) c.removes.push_back(f);
    }

    const int64_t version = snapshot_.version + 1;
    Status s = delta::write_commit(lake_, relative_, version, c);
    if (s.ok()) {
      // The snapshot as this commit left it, without reading it back.
      snapshot_.version = version;
      if (c.protocol) {
        snapshot_.min_reader_version = delta::kReaderVersion;
        snapshot_.min_writer_version = delta::kWriterVersion;
      }
      if (c.metadata) snapshot_.metadata = *c.metadata;
      for (delta::FileAction f : c.removes) {
        snapshot_.files.erase(f.path);
        f.modification_time = c.timestamp_ms;
        snapshot_.tombstones[f.path] = std::move(f);
      }
      for (const delta::FileAction& f : c.adds) {
        snapshot_.tombstones.erase(f.path);
        snapshot_.files[f.path] = f;
      }
      for (const auto& [app, v] : c.txns) snapshot_.txns[app] = v;
      pending_ = {};
      pending_droppable_ = false;
      checkpoint_status_ = {};
      if (delta::checkpoint_due(snapshot_)) {
        auto cp = delta::write_checkpoint(lake_, relative_, snapshot_, run.now_ms);
        if (!cp.ok()) checkpoint_status_ = cp.status();
      }
      return version;
    }
    if (s.code() != Errc::already_exists) {
      // The commit may or may not have been made: its files stay.
      pending_droppable_ = false;
      return s;
    }
    if (attempt + 1 >= kMaxAttempts) {
      drop_pending();
      return Status::error(Errc::busy, fmt::format("{}: lost the race for {} versions in a row; "
                                                   "nothing of this run was committed",
                                                   where, kMaxAttempts));
    }
  }
}

}  // namespace questlog::extract
