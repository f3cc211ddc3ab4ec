#include "extract/extract.h"

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
#include "extract/id_set.h"
#include "extract/row_buffer.h"
#include "extract/schema.h"
#include "extract/table_dir.h"
#include "extract/table_printer.h"
#include "extract/table_writer.h"
#include "log/embedded/embedded_source.h"
#include "log/record_source.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;

// One table's state during a run.
struct TableRun {
  std::string name;
  std::string relative;  // under the lake; empty: printed only
  Mode mode = Mode::overwrite;
  parquet::Codec codec = parquet::Codec::snappy;
  std::vector<FieldId> partition_by;
  const Filter* where = nullptr;
  bool print_schema = false;
  int64_t show = 0;
  int64_t start = 0;  // the first offset this table takes
  // Offsets it needs that the log no longer holds (skipped with skip_damaged).
  std::vector<log::SkippedRange> skipped;
  TableSchema schema;
  std::unique_ptr<RowBuffer> rows;
  uint64_t count = 0;
  std::unique_ptr<TableDir> dir;
  TableFormat format = TableFormat::parquet;
  // A Delta table (format = "delta") instead of `dir`, and its commit.
  std::unique_ptr<DeltaTable> delta;
  DeltaTable::Run delta_run;
  int64_t version = -1;  // the Delta version committed
  bool staged = false;
  TableWriteResult written;
};

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
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
    std::fprintf(err_, "\rquestlog: %s %lld of %lld (%.0f%%), %.0f events/s\x1b[K", unit_,
                 static_cast<long long>(offset), static_cast<long long>(end_),
                 end_ > start_ ? 100.0 * static_cast<double>(offset - start_) /
                                     static_cast<double>(end_ - start_)
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

// Writes a Delta table's files for this run into the table (not yet committed).
Status stage_delta(TableRun& t, const FieldNames& names, int64_t end, uint64_t budget) {
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
  if (!written.ok())
    return Status::error(written.status().code(),
                         "table " + t.name + ": " + written.status().message());
  t.written = *written;
  t.delta_run.mode = t.mode;
  t.delta_run.columns = std::move(planned).value();
  t.delta_run.partition_by = std::move(partition_by);
  t.delta_run.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  // A commit even without rows when it moves an incremental table's offsets
  // on, or replaces the table.
  t.staged = t.written.files > 0 || t.mode == Mode::overwrite ||
             (t.mode == Mode::incremental && end > t.start);
  return {};
}

// Writes the table into a fresh staging directory (not yet published).
Status stage_table(TableRun& t, const FieldNames& names, int64_t end, uint64_t budget) {
  if (t.delta) return stage_delta(t, names, end, budget);
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
  auto written = write_table(*t.rows, t.dir->file_system(), *staging, spec);
  if (!written.ok())
    return Status::error(written.status().code(),
                         "table " + t.name + ": " + written.status().message());
  t.written = *written;
  // An append or incremental run with no rows has nothing to publish.
  t.staged = t.mode == Mode::overwrite || t.written.files > 0;
  if (!t.staged) t.dir->abort();
  return {};
}

// Runs `fn` on every table, each on a thread of its own (the last on this
// one); the first failure in table order is returned.
Status for_each_table(std::vector<TableRun>& tables, const std::function<Status(TableRun&)>& fn) {
  std::vector<Status> results(tables.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i + 1 < tables.size(); ++i)
    threads.emplace_back([&, i] { results[i] = fn(tables[i]); });
  if (!tables.empty()) results.back() = fn(tables.back());
  for (std::thread& t : threads) t.join();
  for (const Status& s : results)
    if (!s.ok()) return s;
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

// What a job may not ask of a topic with several partitions: one offset that
// means the same in all of them.
Status check_partitions(const Job& job, const log::RecordSource& source) {
  const size_t n = source.partitions().size();
  if (n == 1) return {};
  const std::string why = "needs a topic with one partition; " + source.name() + " has " +
                          std::to_string(n) + " partitions";
  if (job.starting.kind == OffsetSpec::Kind::at)
    return Status::error(
        Errc::invalid_argument,
        job.source + ": starting_offsets = " + std::to_string(job.starting.offset) + " " + why);
  if (job.ending.kind == OffsetSpec::Kind::at)
    return Status::error(Errc::invalid_argument, job.source + ": ending_offsets = " +
                                                     std::to_string(job.ending.offset) + " " + why);
  for (const TableSpec& t : job.tables)
    if (t.mode == Mode::incremental && !t.path.empty())
      return Status::error(Errc::invalid_argument,
                           job.source + ": table " + t.name + ": mode = \"incremental\" " + why);
  return {};
}

// Where an incremental table that committed offsets up to `committed` picks
// up in a log holding `held`: refused when the log ends before it (a restored
// backup, a cut log: reading on would skip every new event until the log grew
// past it) or starts after it (older records deleted: a silent gap), unless
// `skip` lets it go on without the missing offsets, which `t.skipped` names.
Status check_committed(TableRun& t, int64_t committed, const log::PartitionRange& held,
                       const std::string& log_name, bool skip) {
  const std::string head = "table " + t.name + ": committed through offset " +
                           std::to_string(committed) + " but the log " + log_name;
  if (committed > held.end)
    return Status::error(Errc::invalid_argument,
                         head + " ends at " + std::to_string(held.end) +
                             " (a restored backup or a cut log?); move the table aside to "
                             "rebuild it from the log, or restore the log up to offset " +
                             std::to_string(committed));
  if (committed >= held.start) return {};
  if (!skip)
    return Status::error(
        Errc::invalid_argument,
        head + " starts at offset " + std::to_string(held.start) +
            " (older records deleted?): " + log::describe_offsets(committed, held.start) +
            " never reached the table; --skip-damaged goes on without them, or "
            "move the table aside to rebuild it from the log");
  t.skipped.push_back(
      {held.partition, committed, held.start,
       "not in the log " + log_name + ", which starts at offset " + std::to_string(held.start)});
  return {};
}

std::string describe_ranges(const std::vector<log::PartitionRange>& ranges) {
  std::string s;
  for (const log::PartitionRange& r : ranges) {
    s += s.empty() ? "" : ", ";
    s += std::to_string(r.partition) + ": " + std::to_string(r.start) + " to " +
         std::to_string(r.end);
  }
  return s;
}

}  // namespace

Result<ExtractReport> run_extract(Job& job, const ExtractOptions& o) {
  const auto began = std::chrono::steady_clock::now();
  FieldNames& names = *job.names;
  // Every path under the lake resolves beneath it, following no link (table_dir.h).
  Lake own_lake;
  if (o.lake_fs) {
    own_lake.location = o.lake;
  } else {
    auto opened_lake = open_lake(o.lake, o.lake_options);
    if (!opened_lake.ok()) return opened_lake.status();
    own_lake = std::move(opened_lake).value();
  }
  io::FileSystem& lake = o.lake_fs ? *o.lake_fs : *own_lake.fs;
  const fs::path spill_dir = ".staging";

  auto opened = o.open_source
                    ? o.open_source()
                    : log::embedded::open_source(o.log_dir, {.skip_damaged = o.skip_damaged});
  if (!opened.ok()) return opened.status();
  log::RecordSource& source = **opened;
  if (Status s = check_partitions(job, source); !s.ok()) return s;
  // The range is fixed now: what arrives while the job runs waits for the next run.
  std::vector<log::PartitionRange> ranges;
  for (const log::PartitionRange& p : source.partitions()) ranges.push_back(resolve_range(job, p));
  const bool one_partition = ranges.size() == 1;
  // Offsets [start, end): the partition's range, or with several partitions
  // the span of all of them (incremental tables and numeric offsets are refused
  // then, so no table starts inside it).
  int64_t start = ranges[0].start, end = ranges[0].end;
  for (const log::PartitionRange& r : ranges) {
    start = std::min(start, r.start);
    end = std::max(end, r.end);
  }

  std::vector<TableRun> tables(job.tables.size());
  for (size_t i = 0; i < job.tables.size(); ++i) {
    const TableSpec& spec = job.tables[i];
    TableRun& t = tables[i];
    t.name = spec.name;
    t.relative = spec.path;
    t.mode = spec.mode;
    t.codec = spec.codec;
    t.format = spec.format;
    if (t.format == TableFormat::delta) t.schema.set_name_rules(NameRules::delta);
    t.partition_by = spec.partition_by;
    t.where = &spec.where;
    t.print_schema = spec.print_schema;
    t.show = o.show ? *o.show : spec.show;
    t.start = start;
    t.rows = std::make_unique<RowBuffer>(lake, spill_dir);
  }
  // Lock each table and finish what a crashed run left, the tables side by
  // side (on HDFS each step is a round trip to the namenode).
  Status opened_tables = for_each_table(tables, [&](TableRun& t) -> Status {
    if (t.relative.empty()) return {};
    std::optional<int64_t> committed;
    if (t.format == TableFormat::delta) {
      auto table = DeltaTable::open(lake, t.relative);
      if (!table.ok()) return table.status();
      t.delta = std::move(table).value();
      for (const log::PartitionRange& p : source.partitions()) {
        const std::string app = delta_app_id(job.stem, t.name, job.topic, p.partition);
        if (t.mode == Mode::incremental) t.delta_run.started_from[app] = t.delta->committed(app);
      }
      if (t.mode == Mode::incremental)
        committed = t.delta->committed(
            delta_app_id(job.stem, t.name, job.topic, source.partitions()[0].partition));
    } else {
      auto dir = TableDir::open(lake, t.relative);
      if (!dir.ok()) return dir.status();
      t.dir = std::move(dir).value();
      auto delta_log = lake.kind(fs::path(t.relative) / "_delta_log");
      if (!delta_log.ok()) return delta_log.status();
      if (*delta_log)
        return Status::error(Errc::invalid_argument,
                             "table " + t.name + ": " + lake.describe(t.relative) +
                                 " is a Delta table; write it with format = \"delta\"");
      if (t.mode == Mode::incremental) {
        auto end_offset = t.dir->committed_end();
        if (!end_offset.ok()) return end_offset.status();
        committed = *end_offset;
      }
    }
    if (committed) {
      // One partition: check_partitions refuses incremental tables otherwise.
      Status s =
          check_committed(t, *committed, source.partitions()[0], source.name(), o.skip_damaged);
      if (!s.ok()) return s;
      t.start = std::min(*committed, end);
    }
    return {};
  });
  if (!opened_tables.ok()) return opened_tables;

  // One pass from the earliest offset any table needs (that the log holds).
  int64_t pass_start = end;
  for (const TableRun& t : tables) pass_start = std::min(pass_start, t.start);
  if (one_partition)
    pass_start = ranges[0].start = std::max(pass_start, source.partitions()[0].start);
  if (Status s = source.read(ranges); !s.ok()) return s;
  int64_t to_read = 0;  // records at most, over every partition
  for (const log::PartitionRange& r : ranges) to_read += r.end - r.start;

  ExtractReport report;
  report.start = pass_start;
  report.end = end;
  report.ranges = ranges;
  const RejectFields reject_fields{names.intern("error"), names.intern("offset"),
                                   names.intern("raw")};
  // Records that are not JSON objects: <lake>/_rejected/<job stem>.
  TableRun rejects;
  rejects.name = "_rejected";
  rejects.relative = "_rejected/" + job.stem;
  rejects.rows = std::make_unique<RowBuffer>(lake, spill_dir);

  std::vector<TablePlan> plans;
  for (const TableRun& t : tables) {
    TablePlan p;
    p.where = t.where;
    p.start = t.start;
    p.keep_all = !t.relative.empty();
    p.keep = static_cast<uint64_t>(std::max<int64_t>(t.show, 0));
    plans.push_back(p);
  }

  Progress progress(o.progress, o.err, one_partition ? "offset" : "record",
                    one_partition ? pass_start : 0, one_partition ? end : to_read);
  std::string first_reject;  // "offset 3: not a JSON object: array"
  // Adds a processed batch to the tables, in log order.
  auto merge = [&](Batch& b) -> Status {
    if (b.records.empty()) return {};
    report.records += b.records.size();
    if (b.rejected.count > 0) {
      if (o.strict)
        return Status::error(Errc::corruption, "offset " + std::to_string(b.rejected.first_offset) +
                                                   ": " + b.rejected.first_error + " (--strict)");
      if (report.rejected == 0)
        first_reject =
            "offset " + std::to_string(b.rejected.first_offset) + ": " + b.rejected.first_error;
      report.rejected += b.rejected.count;
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
      for (TableRun& t : tables)
        if (Status s = t.rows->spill(); !s.ok()) return s;
      if (Status s = rejects.rows->spill(); !s.ok()) return s;
    }
    progress.update(
        one_partition ? b.records.back().offset + 1 : static_cast<int64_t>(report.records),
        report.records);
    return {};
  };

  // Copies the next records of the range into `b`; false at the range's end.
  // A record whose id (key) came earlier in its partition's range is dropped
  // here, before it is parsed: it is a resend or a retry of one already read.
  bool at_end = false;
  log::Record rec;
  IdSet seen_ids;
  int32_t ids_partition = -1;
  auto fill = [&](Batch& b) -> Status {
    b.clear_input();
    while (!at_end && b.records.size() < kBatchRecords && b.bytes.size() < kBatchBytes) {
      auto more = source.next(rec);
      if (!more.ok()) {
        if (more.status().code() != Errc::corruption || o.open_source) return more.status();
        return Status::error(
            Errc::corruption,
            more.status().message() + " (no table written; --skip-damaged reads past it)");
      }
      if (!*more) {
        at_end = true;
        break;
      }
      if (!rec.key.empty()) {
        if (rec.partition != ids_partition) {  // partitions are read one after the other
          report.id_memory_bytes = std::max(report.id_memory_bytes, seen_ids.memory_bytes());
          seen_ids.clear();
          ids_partition = rec.partition;
          // Room for the rest of the partition's range at once: no growth on the way.
          for (const log::PartitionRange& r : ranges)
            if (r.partition == rec.partition && r.end > rec.offset)
              seen_ids.reserve(static_cast<size_t>(r.end - rec.offset));
        }
        if (!seen_ids.insert(rec.key)) {
          ++report.duplicates;
          continue;
        }
      }
      b.records.push_back({rec.offset, rec.timestamp_ms, static_cast<uint32_t>(b.bytes.size()),
                           static_cast<uint32_t>(rec.value.size())});
      b.bytes.append(rec.value);
    }
    return {};
  };

  // Workers parse and sort records into rows; this thread reads and merges.
  size_t workers = o.threads ? *o.threads : std::min(8u, std::thread::hardware_concurrency());
  if (to_read <= static_cast<int64_t>(kBatchRecords)) workers = 0;
  auto make_processor = [&] {
    return std::make_unique<BatchProcessor>(names, job.transforms, plans, reject_fields);
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
  report.id_memory_bytes = std::max(report.id_memory_bytes, seen_ids.memory_bytes());
  seen_ids.clear();
  report.skipped = source.take_skipped();
  int64_t skipped_offsets = 0;
  for (const log::SkippedRange& r : report.skipped) {
    skipped_offsets += r.end - r.start;
    std::fprintf(o.err, "questlog: skipped %s: %s\n", log::describe_offsets(r.start, r.end).c_str(),
                 r.where.c_str());
  }

  // The schemas are final: report renamed and widened columns, print, and stage every table.
  for (TableRun& t : tables) {
    for (const std::string& note : t.schema.notes(names))
      std::fprintf(o.err, "questlog: table %s: %s\n", t.name.c_str(), note.c_str());
  }
  for (TableRun& t : tables) {
    if (Status s = print_table(t, names, o.out); !s.ok()) return s;
  }
  std::fflush(o.out);

  // The rejected records of this run (replacing the last run's, once the
  // table exists, so it never shows rejects of an older range).
  auto rejects_there = report.rejected > 0 ? std::optional<io::FileKind>(io::FileKind::directory)
                                           : lake.kind(rejects.relative);
  if (!rejects_there.ok()) return rejects_there.status();
  if (*rejects_there) {
    auto dir = TableDir::open(lake, rejects.relative);
    if (!dir.ok()) return dir.status();
    rejects.dir = std::move(dir).value();
    rejects.schema.observe(reject_fields.error, Kind::string, 0);
    rejects.schema.observe(reject_fields.offset, Kind::int64, 0);
    rejects.schema.observe(reject_fields.raw, Kind::string, 0);
    rejects.count = report.rejected;
  }

  // Stage every table, each on its own thread: they share nothing.
  std::vector<TableRun*> to_stage;
  for (TableRun& t : tables) {
    if (t.dir || t.delta) to_stage.push_back(&t);
    // The offsets a Delta table's commit records: the range read, per partition.
    if (t.delta)
      for (const log::PartitionRange& r : ranges)
        t.delta_run.txns.emplace_back(delta_app_id(job.stem, t.name, job.topic, r.partition),
                                      std::max(r.end, t.start));
  }
  if (rejects.dir) to_stage.push_back(&rejects);
  std::vector<Status> staged(to_stage.size());
  {
    const uint64_t budget = o.memory_budget / std::max<size_t>(to_stage.size(), 1);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < to_stage.size(); ++i) {
      auto stage = [&, i] { staged[i] = stage_table(*to_stage[i], names, end, budget); };
      if (i + 1 < to_stage.size())
        threads.emplace_back(stage);
      else
        stage();
    }
    for (std::thread& t : threads) t.join();
  }
  for (const Status& s : staged)
    if (!s.ok()) return s;

  // Publish, the tables side by side: each is published whole or not at all
  // on its own (table_dir.h).
  Status published = for_each_table(tables, [](TableRun& t) -> Status {
    if (!t.staged) return Status();
    if (!t.delta) return t.dir->commit();
    auto version = t.delta->commit(t.delta_run);
    if (!version.ok()) return version.status();
    t.version = *version;
    return Status();
  });
  if (!published.ok()) return published;
  if (rejects.staged) {
    if (Status s = rejects.dir->commit(); !s.ok()) return s;
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  const std::string skipped =
      report.skipped.empty()
          ? ""
          : ", skipped " + plural(report.skipped.size(), "damaged range", "damaged ranges") + " (" +
                plural(static_cast<uint64_t>(skipped_offsets), "offset", "offsets") + ")";
  const std::string read = plural(report.records + report.duplicates, "record", "records");
  if (one_partition)
    std::fprintf(o.err, "questlog: read %s, offsets %lld to %lld%s, in %.2f s\n", read.c_str(),
                 static_cast<long long>(pass_start), static_cast<long long>(end), skipped.c_str(),
                 seconds);
  else
    std::fprintf(o.err, "questlog: read %s from %zu partitions (offsets %s)%s, in %.2f s\n",
                 read.c_str(), ranges.size(), describe_ranges(ranges).c_str(), skipped.c_str(),
                 seconds);
  if (report.duplicates > 0)
    std::fprintf(o.err,
                 "questlog: dropped %s: the same event id as an earlier record of its "
                 "partition (a resend or a client's retry); each event is in the tables once\n",
                 plural(report.duplicates, "duplicate record", "duplicate records").c_str());
  for (TableRun& t : tables) {
    TableReport r;
    r.name = t.name;
    r.rows = t.count;
    r.files = t.written.files;
    r.bytes = t.written.bytes;
    r.start = t.start;
    r.end = end;
    r.skipped = t.skipped;
    for (const log::SkippedRange& k : t.skipped)
      std::fprintf(o.err, "questlog: table %s: skipped %s: %s\n", t.name.c_str(),
                   log::describe_offsets(k.start, k.end).c_str(), k.where.c_str());
    const bool written = t.dir || t.delta;
    if (written) r.path = own_lake.describe(t.relative);
    std::string line = "questlog: table " + t.name + ": " + plural(t.count, "row", "rows");
    if (written) {
      line += ", " + plural(r.files, "file", "files") + ", " + plural(r.bytes, "byte", "bytes") +
              " -> " + r.path;
      if (t.mode == Mode::incremental)
        line += " (offsets " + std::to_string(t.start) + " to " + std::to_string(end) + ")";
      else if (t.mode == Mode::append)
        line += " (appended)";
      if (t.version >= 0) line += " (Delta version " + std::to_string(t.version) + ")";
    } else {
      line += " (printed only: no path)";
    }
    std::fprintf(o.err, "%s\n", line.c_str());
    if (t.delta && !t.delta->checkpoint_status().ok())
      std::fprintf(o.err,
                   "questlog: table %s: note: no checkpoint of Delta version %lld (%s); the "
                   "commit is made, readers replay the log from the previous checkpoint\n",
                   t.name.c_str(), static_cast<long long>(t.version),
                   t.delta->checkpoint_status().message().c_str());
    report.tables.push_back(std::move(r));
  }
  if (report.rejected > 0)
    std::fprintf(o.err, "questlog: %s rejected (%s %s) -> %s\n",
                 plural(report.rejected, "record", "records").c_str(),
                 report.rejected == 1 ? "at" : "the first at", first_reject.c_str(),
                 own_lake.describe(rejects.relative).c_str());
  // Unlock the tables side by side (on HDFS each is a round trip).
  rejects.dir.reset();
  (void)for_each_table(tables, [](TableRun& t) {
    t.dir.reset();
    t.delta.reset();
    return Status();
  });
  return report;
}

}  // namespace questlog::extract
