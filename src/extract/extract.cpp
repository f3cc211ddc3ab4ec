#include "extract/extract.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "extract/batch.h"
#include "extract/delta_table.h"
#include "extract/extract_phases.h"
#include "extract/id_set.h"
#include "extract/row_buffer.h"
#include "extract/schema.h"
#include "extract/table_dir.h"
#include "extract/table_printer.h"
#include "extract/table_writer.h"
#include "log/embedded/embedded_source.h"
#include "log/record_source.h"
#include "util/parallel.h"
#include "util/say.h"
#include "util/trace.h"

namespace questlog::extract::phases {
namespace {

namespace fs = std::filesystem;

std::string plural(uint64_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// The live progress line: "offset X of Y" over one partition, "record X of Y"
// over several.
class Progress {
 public:
  Progress(bool on, std::FILE* err, const char* unit, int64_t start, int64_t end)
      : on_(on),
        err_(err),
        unit_(unit),
        start_(start),
        end_(end),
        began_(Clock::now()),
        last_(began_) {}

  void update(int64_t offset, uint64_t records) {
    if (!on_) return;
    auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - began_).count();
    say(err_, "\rquestlog: {} {} of {} ({:.0f}%), {:.0f} events/s\x1b[K", unit_, offset, end_,
        end_ > start_
            ? 100.0 * static_cast<double>(offset - start_) / static_cast<double>(end_ - start_)
            : 100.0,
        secs > 0 ? static_cast<double>(records) / secs : 0.0);
    std::fflush(err_);
    shown_ = true;
  }
  void clear() {
    if (shown_) std::fputs("\r\x1b[K", err_);
    shown_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;
  bool on_;
  std::FILE* err_;
  const char* unit_;
  int64_t start_, end_;
  Clock::time_point began_, last_;
  bool shown_ = false;
};

constexpr size_t kBatchRecords = 4096;
constexpr size_t kBatchBytes = 1 << 20;

// Threads that process batches. submit() hands one over; wait() returns once
// it is processed. Batches are processed in any order; the caller merges them
// in the order it submitted them.
class WorkerPool {
 public:
  WorkerPool(size_t n, const std::function<std::unique_ptr<BatchProcessor>()>& make) {
    for (size_t i = 0; i < n; ++i) threads_.emplace_back([this, p = make()]() mutable { run(*p); });
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    work_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  void submit(Batch& b) {
    {
      std::lock_guard lock(mu_);
      b.done = false;
      todo_.push_back(&b);
    }
    work_.notify_one();
  }
  void wait(Batch& b) {
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return b.done; });
  }

 private:
  void run(BatchProcessor& p) {
    std::unique_lock lock(mu_);
    for (;;) {
      work_.wait(lock, [&] { return stop_ || !todo_.empty(); });
      if (stop_) return;  // a batch still queued is never merged
      Batch* b = todo_.front();
      todo_.pop_front();
      lock.unlock();
      p.process(*b);
      lock.lock();
      b->done = true;
      done_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable work_, done_;
  std::deque<Batch*> todo_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// printSchema() and show() of a table, from its first rows.
Status print_table(TableRun& t, const FieldNames& names, std::FILE* out) {
  std::vector<SchemaColumn> columns = t.schema.columns(names);
  if (t.print_schema) std::fputs(schema_tree(columns).c_str(), out);
  if (t.show <= 0) return {};
  std::vector<std::string> header;
  for (const SchemaColumn& c : columns) header.push_back(c.name);
  ShowTable table(std::move(header));
  RowBuffer::Cursor cursor(*t.rows);
  RowBuffer::Row row;
  std::vector<const Value*> by_field(names.size(), nullptr);
  for (int64_t i = 0; i < t.show; ++i) {
    auto more = cursor.next(row);
    if (!more.ok()) return more.status();
    if (!*more) break;
    for (const auto& [id, v] : row.fields)
      if (id < by_field.size()) by_field[id] = &v;
    std::vector<std::optional<std::string>> cells;
    for (const SchemaColumn& c : columns) {
      if (c.field == FieldNames::kTimestamp) {
        cells.push_back(format_timestamp(row.timestamp_ms));
      } else {
        const Value* v = c.field < by_field.size() ? by_field[c.field] : nullptr;
        cells.push_back(v ? format_cell(*v, c.type) : std::nullopt);
      }
    }
    for (const auto& [id, v] : row.fields)
      if (id < by_field.size()) by_field[id] = nullptr;
    table.add_row(std::move(cells));
  }
  std::fputs(table.render(static_cast<uint64_t>(t.show), t.count).c_str(), out);
  return {};
}

// A failure writing table `name`'s files, as "table NAME: what failed".
Status in_table(const std::string& name, const Status& s) {
  if (s.ok()) return s;
  return Status::error(s.code(), fmt::format("table {}: {}", name, s.message()));
}

// Writes a Delta table's files for this run into the table (not yet committed).
// `read_end`: per range of the pass, the offset after the last one read.
Status stage_delta(TableRun& t, const FieldNames& names, const std::vector<int64_t>& read_end,
                   uint64_t budget) {
  std::vector<SchemaColumn> columns = t.schema.columns(names);
  std::vector<std::string> partition_by;
  for (FieldId id : t.partition_by) {
    auto c = std::find_if(columns.begin(), columns.end(),
                          [&](const SchemaColumn& col) { return col.field == id; });
    if (c != columns.end()) {
      partition_by.push_back(c->name);
      continue;
    }
    // No row of this run has it (no rows at all, say): the table's partition
    // column still, of the table's type (null in every row).
    SchemaColumn missing{id, names.name(id), parquet::ColumnType::string};
    if (const auto& m = t.delta->snapshot().metadata) {
      for (const delta::Field& f : m->fields) {
        if (f.name == missing.name)
          missing.type = delta_column_type(f.type).value_or(parquet::ColumnType::string);
      }
    }
    partition_by.push_back(missing.name);
    columns.insert(std::upper_bound(columns.begin(), columns.end(), missing,
                                    [](const SchemaColumn& a, const SchemaColumn& b) {
                                      return a.name < b.name;
                                    }),
                   missing);
  }
  auto planned = t.delta->plan_columns(columns, partition_by, t.mode);
  if (!planned.ok()) return planned.status();
  TableWriteSpec spec;
  spec.columns = *planned;
  spec.partition_by = t.partition_by;
  spec.codec = t.codec;
  spec.memory_budget = budget;
  auto written = t.delta->write(*t.rows, spec);
  if (!written.ok()) return in_table(t.name, written.status());
  t.written = *written;
  t.delta_run.mode = t.mode;
  t.delta_run.columns = std::move(planned).value();
  t.delta_run.partition_by = std::move(partition_by);
  t.delta_run.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  // A commit even without rows when it moves the offsets of a table that
  // resumes from them, or replaces the table.
  bool moved = false;
  for (size_t i = 0; i < read_end.size(); ++i) moved = moved || read_end[i] > t.starts[i];
  t.staged = t.written.files > 0 || t.mode == Mode::overwrite ||
             (t.resumes && moved && t.commit_offsets_alone);
  return {};
}

// Writes the table into a fresh staging directory (not yet published).
Status stage_table(TableRun& t, const FieldNames& names, const std::vector<int64_t>& read_end,
                   uint64_t budget) {
  if (t.delta) return stage_delta(t, names, read_end, budget);
  const int64_t end = read_end[0];  // incremental plain tables: one partition
  auto staging = t.dir->begin(t.mode);
  if (!staging.ok()) return staging.status();
  TableWriteSpec spec;
  spec.columns = t.schema.columns(names);
  spec.partition_by = t.partition_by;
  spec.codec = t.codec;
  spec.empty_file = t.mode == Mode::overwrite;
  spec.memory_budget = budget;
  const std::string uuid = random_uuid();
  if (t.mode == Mode::incremental) {
    int64_t start = t.start;
    spec.file_name = [start, end, uuid, codec = t.codec](int) {
      return TableDir::incremental_part_name(start, end, uuid, codec);
    };
  } else {
    spec.file_name = [uuid, codec = t.codec](int i) { return TableDir::part_name(i, uuid, codec); };
  }
  // An overwrite's _SUCCESS is written beside its files (on HDFS both are
  // uploads); a failure of the files is the one reported.
  std::thread success;
  Status marked;
  if (t.mode == Mode::overwrite) success = std::thread([&] { marked = t.dir->write_success(); });
  auto written = write_table(*t.rows, t.dir->file_system(), *staging, spec);
  if (success.joinable()) success.join();
  if (!written.ok()) return in_table(t.name, written.status());
  if (!marked.ok()) return in_table(t.name, marked);
  t.written = *written;
  // An append or incremental run with no rows has nothing to publish.
  t.staged = t.mode == Mode::overwrite || t.written.files > 0;
  if (!t.staged) t.dir->abort();
  return {};
}

// Runs `fn` on every table, each on a thread of its own (the last on this
// one); the first failure in table order is returned.
Status for_each_table(std::vector<TableRun>& tables, const std::function<Status(TableRun&)>& fn) {
  return parallel_for(tables.size(), tables.size(), [&](size_t i) { return fn(tables[i]); });
}

Status open_table(io::FileSystem& lake, const std::string& name, const std::string& relative,
                  TableFormat format, TableHandle& out) {
  if (format == TableFormat::delta) {
    auto table = DeltaTable::open(lake, relative);
    if (!table.ok()) return table.status();
    out.delta = std::move(table).value();
    return {};
  }
  auto dir = TableDir::open(lake, relative);
  if (!dir.ok()) return dir.status();
  out.dir = std::move(dir).value();
  auto delta_log = lake.kind(fs::path(relative) / "_delta_log");
  if (!delta_log.ok()) return delta_log.status();
  if (*delta_log)
    return Status::error(Errc::invalid_argument,
                         fmt::format("table {}: {} is a Delta table; write it with format = "
                                     "\"delta\"",
                                     name, lake.describe(relative)));
  return {};
}

// The job's range in a partition holding [p.start, p.end) when the source opened.
log::PartitionRange resolve_range(const Job& job, const log::PartitionRange& p) {
  int64_t start = p.start, end = p.end;
  switch (job.starting.kind) {
    case OffsetSpec::Kind::earliest:
      break;
    case OffsetSpec::Kind::latest:
      start = p.end;
      break;
    case OffsetSpec::Kind::at:
      start = std::clamp(job.starting.offset, p.start, p.end);
      break;
  }
  if (job.ending.kind == OffsetSpec::Kind::at) end = std::clamp(job.ending.offset, start, p.end);
  return {p.partition, start, std::max(start, end)};
}

// Where an incremental table that committed offsets up to `committed` picks
// up in a log holding `held`: refused when the log ends before it (a restored
// backup, a cut log: reading on would skip every new event until the log grew
// past it) or starts after it (older records deleted: a silent gap), unless
// `skip` lets it go on without the missing offsets, which `t.skipped` names.
Status check_committed(TableRun& t, int64_t committed, const log::PartitionRange& held,
                       const std::string& log_name, bool skip) {
  const std::string head = fmt::format("table {}: committed through offset {} but the log {}",
                                       t.name, committed, log_name);
  if (committed > held.end)
    return Status::error(Errc::invalid_argument,
                         fmt::format("{} ends at {} (a restored backup or a cut log?); move the "
                                     "table aside to rebuild it from the log, or restore the log "
                                     "up to offset {}",
                                     head, held.end, committed));
  if (committed >= held.start) return {};
  if (!skip)
    return Status::error(
        Errc::invalid_argument,
        fmt::format("{} starts at offset {} (older records deleted?): {} never reached the "
                    "table; --skip-damaged goes on without them, or move the table aside to "
                    "rebuild it from the log",
                    head, held.start, log::describe_offsets(committed, held.start)));
  t.skipped.push_back(
      {held.partition, committed, held.start,
       fmt::format("not in the log {}, which starts at offset {}", log_name, held.start)});
  return {};
}

std::string describe_ranges(const std::vector<log::PartitionRange>& ranges) {
  std::string s;
  for (const log::PartitionRange& r : ranges) {
    s += s.empty() ? "" : ", ";
    s += fmt::format("{}: {} to {}", r.partition, r.start, r.end);
  }
  return s;
}

}  // namespace

Status check_partitions(const Job& job, const log::RecordSource& source, bool following) {
  const size_t n = source.partitions().size();
  if (n == 1) return {};
  const std::string why =
      fmt::format("needs a topic with one partition; {} has {} partitions", source.name(), n);
  if (job.starting.kind == OffsetSpec::Kind::at)
    return Status::error(Errc::invalid_argument, fmt::format("{}: starting_offsets = {} {}",
                                                             job.source, job.starting.offset, why));
  if (job.ending.kind == OffsetSpec::Kind::at)
    return Status::error(Errc::invalid_argument, fmt::format("{}: ending_offsets = {} {}",
                                                             job.source, job.ending.offset, why));
  for (const TableSpec& t : job.tables) {
    if (t.mode != Mode::incremental || t.path.empty()) continue;
    if (!following)
      return Status::error(
          Errc::invalid_argument,
          fmt::format("{}: table {}: mode = \"incremental\" {}", job.source, t.name, why));
    if (t.format == TableFormat::parquet)
      return Status::error(Errc::invalid_argument,
                           fmt::format("{}: table {}: a plain Parquet table in mode = "
                                       "\"incremental\" {} (format = \"delta\" keeps offsets "
                                       "per partition)",
                                       job.source, t.name, why));
  }
  return {};
}

Status open_lake(const ExtractOptions& o, Opened& opened) {
  // Every path under the lake resolves beneath it, following no link (table_dir.h).
  if (o.lake_fs) {
    opened.own_lake.location = o.lake;
    opened.lake = o.lake_fs;
    return {};
  }
  auto lake = extract::open_lake(o.lake, o.lake_options);
  if (!lake.ok()) return lake.status();
  opened.own_lake = std::move(lake).value();
  opened.lake = opened.own_lake.fs.get();
  return {};
}

void describe_tables(Job& job, const ExtractOptions& o, Opened& opened) {
  opened.tables = std::vector<TableRun>(job.tables.size());
  for (size_t i = 0; i < job.tables.size(); ++i) {
    const TableSpec& spec = job.tables[i];
    TableRun& t = opened.tables[i];
    t.name = spec.name;
    t.relative = spec.path;
    t.mode = spec.mode;
    t.codec = spec.codec;
    t.format = spec.format;
    t.partition_by = spec.partition_by;
    t.where = &spec.where;
    // A follower prints no tables (each micro-batch would print them again).
    t.print_schema = spec.print_schema && !o.follow;
    t.show = o.follow ? 0 : o.show ? *o.show : spec.show;
    t.resumes = !t.relative.empty() && (t.mode == Mode::incremental || o.follow);
  }
  opened.reject_fields = {job.names->intern("error"), job.names->intern("offset"),
                          job.names->intern("raw")};
  opened.rejects.name = "_rejected";
  opened.rejects.relative = "_rejected/" + job.stem;
}

Status open_tables_where(Opened& opened, const std::function<bool(const TableRun&)>& which) {
  // Lock each table and finish what a crashed run left, the tables side by
  // side (on HDFS each step is a round trip to the namenode).
  return for_each_table(opened.tables, [&](TableRun& t) -> Status {
    if (t.relative.empty() || t.dir || t.delta || !which(t)) return {};
    TableHandle h;
    Status s = open_table(*opened.lake, t.name, t.relative, t.format, h);
    t.dir = std::move(h.dir);
    t.delta = std::move(h.delta);
    return s;
  });
}

Status open_tables(Job& job, const ExtractOptions& o, Opened& opened) {
  describe_tables(job, o, opened);
  return open_tables_where(opened, [](const TableRun&) { return true; });
}

BackgroundOpen::BackgroundOpen(Opened& opened) : opened_(opened) {
  for (size_t i = 0; i < opened.tables.size(); ++i) {
    const TableRun& t = opened.tables[i];
    if (t.relative.empty() || t.resumes || t.dir || t.delta) continue;
    tables_.push_back({i, t.name, t.relative, t.format, t.mode});
  }
  handles_.resize(tables_.size());
  thread_ = std::thread([this, &lake = *opened.lake, rejects = opened.rejects.relative] {
    // The tables and the look for last run's rejected records, side by side.
    status_ = parallel_for(tables_.size() + 1, tables_.size() + 1, [&](size_t i) -> Status {
      if (i < tables_.size()) {
        const Want& w = tables_[i];
        if (Status s = open_table(lake, w.name, w.relative, w.format, handles_[i]); !s.ok())
          return s;
        // The run's staging directory (and an overwrite's _SUCCESS) too.
        if (!handles_[i].dir) return Status();
        return in_table(w.name, handles_[i].dir->prepare(w.mode));
      }
      auto there = lake.kind(rejects);
      if (!there.ok()) return there.status();
      rejects_there_ = there->has_value();
      return {};
    });
  });
}

BackgroundOpen::~BackgroundOpen() {
  if (thread_.joinable()) thread_.join();
}

Status BackgroundOpen::finish() {
  if (thread_.joinable()) thread_.join();
  for (size_t i = 0; i < tables_.size(); ++i) {
    TableRun& t = opened_.tables[tables_[i].index];
    t.dir = std::move(handles_[i].dir);
    t.delta = std::move(handles_[i].delta);
  }
  tables_.clear();
  if (status_.ok()) opened_.rejects_there = rejects_there_;
  return status_;
}

Status plan_pass(const Job& job, const ExtractOptions& o, log::RecordSource& source, Opened& opened,
                 const std::map<int32_t, int64_t>* position, Pass& pass) {
  io::FileSystem& lake = *opened.lake;
  const fs::path spill_dir = ".staging";
  // The range is fixed now: what arrives while the job runs waits for the next run.
  pass.ranges.clear();
  for (const log::PartitionRange& p : source.partitions()) {
    log::PartitionRange r = resolve_range(job, p);
    if (position) {
      auto at = position->find(p.partition);
      if (at != position->end()) r.start = std::clamp(at->second, p.start, p.end);
    }
    pass.ranges.push_back(r);
  }
  pass.one_partition = pass.ranges.size() == 1;
  // Offsets [start, end): the partition's range, or with several partitions
  // the span of all of them (in one pass incremental tables and numeric
  // offsets are refused then, so no table starts inside it).
  int64_t start = pass.ranges[0].start, end = pass.ranges[0].end;
  for (const log::PartitionRange& r : pass.ranges) {
    start = std::min(start, r.start);
    end = std::max(end, r.end);
  }
  pass.end = end;

  for (TableRun& t : opened.tables) {
    t.start = start;
    t.starts.clear();
    for (const log::PartitionRange& r : pass.ranges) t.starts.push_back(r.start);
    t.skipped.clear();
    t.schema = TableSchema();  // each pass (a follower's micro-batch) names its own columns
    if (t.format == TableFormat::delta) t.schema.set_name_rules(NameRules::delta);
    t.rows = std::make_unique<RowBuffer>(lake, spill_dir);
    t.count = 0;
    t.delta_run = DeltaTable::Run();
    t.version = -1;
    t.staged = false;
    t.written = TableWriteResult();
  }
  opened.rejects.schema = TableSchema();
  opened.rejects.rows = std::make_unique<RowBuffer>(lake, spill_dir);
  opened.rejects.count = 0;
  opened.rejects.staged = false;
  opened.rejects.written = TableWriteResult();

  // Where each table resumes: its committed offsets, per partition.
  Status s = for_each_table(opened.tables, [&](TableRun& t) -> Status {
    if (!t.resumes) return {};
    for (size_t i = 0; i < pass.ranges.size(); ++i) {
      const log::PartitionRange& held = source.partitions()[i];
      const bool read_here = position && position->count(held.partition) > 0;
      std::optional<int64_t> committed;
      if (t.delta) {
        const std::string app = delta_app_id(job.stem, t.name, job.topic, held.partition);
        committed = t.delta->committed(app);
        t.delta_run.started_from[app] = committed;
      } else {
        // Locked by this process: no one else commits to it.
        if (read_here) continue;
        auto end_offset = t.dir->committed_end();  // one partition (refused otherwise)
        if (!end_offset.ok()) return end_offset.status();
        committed = *end_offset;
      }
      if (!committed) continue;
      // A follower that read on past it (no rows for this table since) goes on from there.
      if (read_here && *committed < pass.ranges[i].start) continue;
      if (Status c = check_committed(t, *committed, held, source.name(), o.skip_damaged); !c.ok())
        return c;
      t.starts[i] = std::min(*committed, pass.ranges[i].end);
    }
    if (pass.one_partition) t.start = t.starts[0];
    return {};
  });
  if (!s.ok()) return s;

  // One pass from the earliest offset any table needs (that the log holds).
  for (size_t i = 0; i < pass.ranges.size(); ++i) {
    int64_t first = pass.ranges[i].end;
    for (const TableRun& t : opened.tables) first = std::min(first, t.starts[i]);
    pass.ranges[i].start = std::max(first, source.partitions()[i].start);
  }
  pass.start = pass.one_partition ? pass.ranges[0].start : start;
  return source.read(pass.ranges);
}

bool SeenIds::insert(int32_t partition, std::string_view id, int64_t timestamp_ms, int64_t left) {
  if (window_ms_) {
    auto [w, added] = windows_.try_emplace(partition, *window_ms_);
    bool fresh = w->second.insert(id, timestamp_ms);
    peak_bytes_ = std::max(peak_bytes_, w->second.memory_bytes());
    return fresh;
  }
  if (partition != partition_) {  // partitions are read one after the other
    peak_bytes_ = std::max(peak_bytes_, one_.memory_bytes());
    one_.clear();
    partition_ = partition;
    // Room for the rest of the partition's range at once: no growth on the way.
    one_.reserve(static_cast<size_t>(std::max<int64_t>(left, 0)));
  }
  return one_.insert(id);
}

size_t SeenIds::memory_bytes() const {
  size_t n = one_.memory_bytes();
  for (const auto& [p, w] : windows_) n += w.memory_bytes();
  return n;
}

void SeenIds::clear_pass() {
  peak_bytes_ = std::max(peak_bytes_, one_.memory_bytes());
  one_.clear();
  partition_ = -1;
}

Status scan(Job& job, const ExtractOptions& o, log::RecordSource& source, Opened& opened,
            const Pass& pass, SeenIds& ids, bool stop_at_budget, Scanned& scanned) {
  FieldNames& names = *job.names;
  std::vector<TableRun>& tables = opened.tables;
  TableRun& rejects = opened.rejects;
  const std::vector<log::PartitionRange>& ranges = pass.ranges;
  int64_t to_read = 0;  // records at most, over every partition
  for (const log::PartitionRange& r : ranges) to_read += r.end - r.start;

  std::vector<TablePlan> plans;
  for (const TableRun& t : tables) {
    TablePlan p;
    p.where = t.where;
    p.starts = t.starts;
    p.keep_all = !t.relative.empty();
    p.keep = static_cast<uint64_t>(std::max<int64_t>(t.show, 0));
    plans.push_back(p);
  }

  Progress progress(o.progress && !o.follow, o.err, pass.one_partition ? "offset" : "record",
                    pass.one_partition ? pass.start : 0, pass.one_partition ? pass.end : to_read);
  // Adds a processed batch to the tables, in log order.
  auto merge = [&](Batch& b) -> Status {
    if (b.records.empty()) return {};
    scanned.records += b.records.size();
    if (b.rejected.count > 0) {
      if (o.strict)
        return Status::error(Errc::corruption,
                             fmt::format("offset {}: {} (--strict)", b.rejected.first_offset,
                                         b.rejected.first_error));
      if (scanned.rejected == 0)
        scanned.first_reject =
            fmt::format("offset {}: {}", b.rejected.first_offset, b.rejected.first_error);
      scanned.rejected += b.rejected.count;
      rejects.rows->append_chunk(b.rejected.rows, b.rejected.count);
    }
    for (size_t i = 0; i < tables.size(); ++i) {
      TableRun& t = tables[i];
      const Batch::TableOut& out = b.tables[i];
      t.count += out.matched;
      for (const KindSeen& k : out.seen) t.schema.observe(k.field, k.kind, k.offset);
      if (plans[i].keep_all || t.rows->rows() < plans[i].keep)
        t.rows->append_chunk(out.rows, out.encoded);
    }
    uint64_t memory = rejects.rows->memory_bytes();
    for (const TableRun& t : tables) memory += t.rows->memory_bytes();
    if (memory > o.memory_budget) {
      if (stop_at_budget) {
        scanned.full = true;  // read no more: this micro-batch is complete
      } else {
        for (TableRun& t : tables)
          if (Status s = t.rows->spill(); !s.ok()) return s;
        if (Status s = rejects.rows->spill(); !s.ok()) return s;
      }
    }
    progress.update(
        pass.one_partition ? b.records.back().offset + 1 : static_cast<int64_t>(scanned.records),
        scanned.records);
    return {};
  };

  // Copies the next records of the ranges into `b`; false at their end.
  // A record whose id (key) came earlier in its partition is dropped here,
  // before it is parsed: it is a resend or a retry of one already read.
  bool at_end = false;
  log::Record rec;
  size_t range = 0;  // the range being read
  scanned.read_end.clear();
  for (const log::PartitionRange& r : ranges) scanned.read_end.push_back(r.start);
  auto fill = [&](Batch& b) -> Status {
    b.clear_input();
    while (!at_end && !scanned.full && b.records.size() < kBatchRecords &&
           b.bytes.size() < kBatchBytes) {
      auto more = source.next(rec);
      if (!more.ok()) {
        if (more.status().code() != Errc::corruption || o.open_source) return more.status();
        return Status::error(Errc::corruption,
                             fmt::format("{} (no table written; --skip-damaged reads past it)",
                                         more.status().message()));
      }
      if (!*more) {
        at_end = true;
        for (size_t i = 0; i < ranges.size(); ++i) scanned.read_end[i] = ranges[i].end;
        break;
      }
      while (range + 1 < ranges.size() && ranges[range].partition != rec.partition) {
        scanned.read_end[range] = ranges[range].end;  // read whole
        ++range;
      }
      scanned.read_end[range] = rec.offset + 1;
      if (scanned.first_timestamp_ms < 0) scanned.first_timestamp_ms = rec.timestamp_ms;
      if (!rec.key.empty() &&
          !ids.insert(rec.partition, rec.key, rec.timestamp_ms, ranges[range].end - rec.offset)) {
        ++scanned.duplicates;
        continue;
      }
      b.records.push_back({rec.offset, rec.timestamp_ms, static_cast<uint32_t>(b.bytes.size()),
                           static_cast<uint32_t>(rec.value.size()), static_cast<uint32_t>(range)});
      b.bytes.append(rec.value);
    }
    return {};
  };

  // Workers parse and sort records into rows; this thread reads and merges.
  size_t workers = o.threads ? *o.threads : std::min(8u, std::thread::hardware_concurrency());
  if (to_read <= static_cast<int64_t>(kBatchRecords)) workers = 0;
  auto make_processor = [&] {
    return std::make_unique<BatchProcessor>(names, job.transforms, plans, opened.reject_fields);
  };
  std::vector<Batch> ring(workers > 0 ? 2 * workers + 2 : 1);
  std::unique_ptr<BatchProcessor> inline_processor;
  std::unique_ptr<WorkerPool> pool;
  if (workers > 0)
    pool = std::make_unique<WorkerPool>(workers, make_processor);
  else
    inline_processor = make_processor();
  uint64_t submitted = 0, merged = 0;
  auto merge_next = [&]() -> Status {
    Batch& b = ring[merged % ring.size()];
    if (pool) pool->wait(b);
    ++merged;
    return merge(b);
  };
  for (;;) {
    if (submitted - merged == ring.size()) {
      if (Status s = merge_next(); !s.ok()) return s;
    }
    Batch& b = ring[submitted % ring.size()];
    if (Status s = fill(b); !s.ok()) return s;
    if (b.records.empty()) break;
    ++submitted;
    if (pool) {
      pool->submit(b);
    } else {
      inline_processor->process(b);
      if (Status s = merge_next(); !s.ok()) return s;
    }
  }
  while (merged < submitted) {
    if (Status s = merge_next(); !s.ok()) return s;
  }
  pool.reset();
  progress.clear();
  ids.clear_pass();
  scanned.skipped = source.take_skipped();
  for (const log::SkippedRange& r : scanned.skipped) {
    say(o.err, "questlog: skipped {}: {}\n", log::describe_offsets(r.start, r.end), r.where);
  }
  return {};
}

Status stage(Job& job, const ExtractOptions& o, Opened& opened, const Pass& pass,
             const Scanned& scanned) {
  FieldNames& names = *job.names;
  std::vector<TableRun>& tables = opened.tables;
  TableRun& rejects = opened.rejects;
  // The schemas are final: report renamed and widened columns, print, and stage every table.
  for (TableRun& t : tables) {
    for (const std::string& note : t.schema.notes(names))
      say(o.err, "questlog: table {}: {}\n", t.name, note);
  }
  for (TableRun& t : tables) {
    if (Status s = print_table(t, names, o.out); !s.ok()) return s;
  }
  std::fflush(o.out);

  // The rejected records of this run (replacing the last run's, once the
  // table exists, so it never shows rejects of an older range; a follower
  // appends each micro-batch's).
  io::FileSystem& lake = *opened.lake;
  bool write_rejects = scanned.rejected > 0;
  if (!o.follow && !write_rejects) {
    if (!opened.rejects_there) {
      auto there = lake.kind(rejects.relative);
      if (!there.ok()) return there.status();
      opened.rejects_there = there->has_value();
    }
    write_rejects = *opened.rejects_there;
  }
  if (write_rejects) {
    if (!rejects.dir) {
      auto dir = TableDir::open(lake, rejects.relative);
      if (!dir.ok()) return dir.status();
      rejects.dir = std::move(dir).value();
    }
    rejects.mode = o.follow ? Mode::append : Mode::overwrite;
    rejects.schema.observe(opened.reject_fields.error, Kind::string, 0);
    rejects.schema.observe(opened.reject_fields.offset, Kind::int64, 0);
    rejects.schema.observe(opened.reject_fields.raw, Kind::string, 0);
    rejects.count = scanned.rejected;
  }

  // Stage every table, each on its own thread: they share nothing.
  std::vector<TableRun*> to_stage;
  for (TableRun& t : tables) {
    if (t.dir || t.delta) to_stage.push_back(&t);
    // The offsets a Delta table's commit records: the range read, per partition.
    if (t.delta)
      for (size_t i = 0; i < pass.ranges.size(); ++i)
        t.delta_run.txns.emplace_back(
            delta_app_id(job.stem, t.name, job.topic, pass.ranges[i].partition),
            std::max(scanned.read_end[i], t.starts[i]));
  }
  if (write_rejects) to_stage.push_back(&rejects);
  std::vector<Status> staged(to_stage.size());
  {
    const uint64_t budget = o.memory_budget / std::max<size_t>(to_stage.size(), 1);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < to_stage.size(); ++i) {
      auto stage_one = [&, i] {
        staged[i] = stage_table(*to_stage[i], names, scanned.read_end, budget);
      };
      if (i + 1 < to_stage.size())
        threads.emplace_back(stage_one);
      else
        stage_one();
    }
    for (std::thread& t : threads) t.join();
  }
  for (const Status& s : staged)
    if (!s.ok()) return s;
  return {};
}

Status publish(Opened& opened) {
  // The tables side by side: each is published whole or not at all on its
  // own (table_dir.h).
  Status published = for_each_table(opened.tables, [](TableRun& t) -> Status {
    if (!t.staged) return Status();
    if (!t.delta) return t.dir->commit();
    auto version = t.delta->commit(t.delta_run);
    if (!version.ok()) return version.status();
    t.version = *version;
    return Status();
  });
  if (!published.ok()) return published;
  if (opened.rejects.staged) return opened.rejects.dir->commit();
  return {};
}

ExtractReport report_of(const Opened& opened, const Pass& pass, const Scanned& scanned,
                        double seconds) {
  ExtractReport report;
  report.start = pass.start;
  report.end = pass.end;
  report.ranges = pass.ranges;
  report.records = scanned.records;
  report.duplicates = scanned.duplicates;
  report.rejected = scanned.rejected;
  report.first_reject = scanned.first_reject;
  if (scanned.rejected > 0)
    report.rejected_path = opened.own_lake.describe(opened.rejects.relative);
  report.skipped = scanned.skipped;
  report.seconds = seconds;
  for (const TableRun& t : opened.tables) {
    TableReport r;
    r.name = t.name;
    r.rows = t.count;
    r.files = t.written.files;
    r.bytes = t.written.bytes;
    r.start = t.start;
    r.end = pass.one_partition ? scanned.read_end[0] : pass.end;
    r.skipped = t.skipped;
    if (t.dir || t.delta) r.path = opened.own_lake.describe(t.relative);
    r.mode = t.mode;
    r.version = t.version;
    if (t.delta && !t.delta->checkpoint_status().ok())
      r.checkpoint_error = t.delta->checkpoint_status().message();
    report.tables.push_back(std::move(r));
  }
  return report;
}

void close_tables(Opened& opened) {
  opened.rejects.dir.reset();
  (void)for_each_table(opened.tables, [](TableRun& t) {
    t.dir.reset();
    t.delta.reset();
    return Status();
  });
}

}  // namespace questlog::extract::phases

namespace questlog::extract {

Result<ExtractReport> run_extract(Job& job, const ExtractOptions& o) {
  using namespace phases;
  const auto began = std::chrono::steady_clock::now();
  trace::line("extract: begin");
  Opened opened;
  if (Status s = open_lake(o, opened); !s.ok()) return s;
  auto source = o.open_source
                    ? o.open_source()
                    : log::embedded::open_source(o.log_dir, {.skip_damaged = o.skip_damaged});
  if (!source.ok()) return source.status();
  if (Status s = check_partitions(job, **source, false); !s.ok()) return s;
  trace::line("extract: source open");
  // The tables whose committed offsets decide the pass are opened first; the
  // others (their locks, what a crashed run left, their Delta logs: round trips
  // on HDFS) while the scan runs.
  describe_tables(job, o, opened);
  if (Status s = open_tables_where(opened, [](const TableRun& t) { return t.resumes; }); !s.ok())
    return s;
  trace::line("extract: resuming tables open");
  Pass pass;
  SeenIds ids;
  Scanned scanned;
  {
    BackgroundOpen background(opened);
    Status s = plan_pass(job, o, **source, opened, nullptr, pass);
    trace::line("extract: pass planned");
    if (s.ok()) s = scan(job, o, **source, opened, pass, ids, false, scanned);
    trace::line("extract: scanned");
    // A table that could not be opened is the error, as when tables were
    // opened before the scan.
    if (Status opening = background.finish(); !opening.ok()) return opening;
    trace::line("extract: tables open");
    if (!s.ok()) return s;
  }
  if (Status s = stage(job, o, opened, pass, scanned); !s.ok()) return s;
  trace::line("extract: staged");
  if (Status s = publish(opened); !s.ok()) return s;
  trace::line("extract: published");
  ExtractReport report =
      report_of(opened, pass, scanned,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  report.id_memory_bytes = ids.peak_bytes();
  close_tables(opened);
  trace::line("extract: tables closed");
  return report;
}

std::string checkpoint_note(const TableReport& t) {
  if (t.checkpoint_error.empty()) return {};
  return fmt::format(
      "questlog: table {}: note: no checkpoint of Delta version {} ({}); the commit is made, "
      "readers replay the log from the previous checkpoint",
      t.name, t.version, t.checkpoint_error);
}

std::string table_line(const TableReport& t) {
  using phases::plural;
  std::string line = fmt::format("questlog: table {}: {}", t.name, plural(t.rows, "row", "rows"));
  if (t.path.empty()) return fmt::format("{} (printed only: no path)", line);
  line += fmt::format(", {}, {} -> {}", plural(t.files, "file", "files"),
                      plural(t.bytes, "byte", "bytes"), t.path);
  if (t.mode == Mode::incremental)
    line += fmt::format(" (offsets {} to {})", t.start, t.end);
  else if (t.mode == Mode::append)
    line += " (appended)";
  if (t.version >= 0) line += fmt::format(" (Delta version {})", t.version);
  return line;
}

void print_report(const ExtractReport& report, std::FILE* err) {
  using phases::plural;
  int64_t skipped_offsets = 0;
  for (const log::SkippedRange& r : report.skipped) skipped_offsets += r.end - r.start;
  const std::string skipped =
      report.skipped.empty()
          ? ""
          : fmt::format(", skipped {} ({})",
                        plural(report.skipped.size(), "damaged range", "damaged ranges"),
                        plural(static_cast<uint64_t>(skipped_offsets), "offset", "offsets"));
  const std::string read = plural(report.records + report.duplicates, "record", "records");
  if (report.ranges.size() == 1)
    say(err, "questlog: read {}, offsets {} to {}{}, in {:.2f} s\n", read, report.start, report.end,
        skipped, report.seconds);
  else
    say(err, "questlog: read {} from {} partitions (offsets {}){}, in {:.2f} s\n", read,
        report.ranges.size(), phases::describe_ranges(report.ranges), skipped, report.seconds);
  if (report.duplicates > 0)
    say(err,
        "questlog: dropped {}: the same event id as an earlier record of its "
        "partition (a resend or a client's retry); each event is in the tables once\n",
        plural(report.duplicates, "duplicate record", "duplicate records"));
  for (const TableReport& t : report.tables) {
    for (const log::SkippedRange& k : t.skipped)
      say(err, "questlog: table {}: skipped {}: {}\n", t.name,
          log::describe_offsets(k.start, k.end), k.where);
    say(err, "{}\n", table_line(t));
    if (std::string note = checkpoint_note(t); !note.empty()) say(err, "{}\n", note);
  }
  if (report.rejected > 0)
    say(err, "questlog: {} rejected ({} {}) -> {}\n", plural(report.rejected, "record", "records"),
        report.rejected == 1 ? "at" : "the first at", report.first_reject, report.rejected_path);
}

}  // namespace questlog::extract
