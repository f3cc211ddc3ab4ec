// The phases of an extract, each with its own small state: run_extract
// (extract.h) runs them once; run_follow (follow.h) opens the tables once and
// runs a pass (plan, scan, stage, publish) per micro-batch.
//
//   open_tables  the lake and every table of the job: locked, what a crashed
//                run left finished, Delta logs read
//   plan_pass    the offsets to read from the source, per partition, and where
//                each table starts (committed offsets checked against the log)
//   scan         read, drop duplicate ids, parse and transform (worker
//                threads), offer the rows to the tables
//   stage        every table's files written, not yet visible
//   publish      every staged table committed; the report
//
// Internal to src/extract.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "extract/batch.h"
#include "extract/delta_table.h"
#include "extract/extract.h"
#include "extract/id_set.h"
#include "extract/job.h"
#include "extract/lake.h"
#include "extract/row_buffer.h"
#include "extract/schema.h"
#include "extract/table_dir.h"
#include "extract/table_writer.h"
#include "log/record_source.h"
#include "util/status.h"

namespace questlog::extract::phases {

// One table: what the job says, its open directory or Delta log, and the rows
// of the pass being made.
struct TableRun {
  std::string name;
  std::string relative;  // under the lake; empty: printed only
  Mode mode = Mode::overwrite;
  parquet::Codec codec = parquet::Codec::snappy;
  std::vector<FieldId> partition_by;
  const Filter* where = nullptr;
  bool print_schema = false;
  int64_t show = 0;
  TableFormat format = TableFormat::parquet;
  std::unique_ptr<TableDir> dir;
  // A Delta table (format = "delta") instead of `dir`.
  std::unique_ptr<DeltaTable> delta;
  // Starts from the offsets its commits recorded (incremental tables; every
  // table of a followed job).
  bool resumes = false;

  // The pass being made (reset by plan_pass).
  int64_t start = 0;            // the first offset it takes (several partitions: the span's)
  std::vector<int64_t> starts;  // per range of the pass
  // Offsets it needs that the log no longer holds (skipped with skip_damaged).
  std::vector<log::SkippedRange> skipped;
  TableSchema schema;
  std::unique_ptr<RowBuffer> rows;
  uint64_t count = 0;
  DeltaTable::Run delta_run;
  int64_t version = -1;  // the Delta version committed
  bool staged = false;
  TableWriteResult written;
  // A commit of offsets alone (no rows) when they moved (a follower allows
  // one a minute).
  bool commit_offsets_alone = true;
};

// The lake and the job's tables, open.
struct Opened {
  Lake own_lake;
  io::FileSystem* lake = nullptr;
  std::vector<TableRun> tables;
  TableRun rejects;  // records that are not JSON objects: <lake>/_rejected/<job stem>
  RejectFields reject_fields{};
  // Whether the rejects table exists (looked up while the scan ran); unset: not looked up.
  std::optional<bool> rejects_there;
};

// What a job may not ask of a topic with several partitions: one offset that
// means the same in all of them (starting_offsets, ending_offsets, and an
// incremental table's offsets; when `following`, Delta tables keep theirs per
// partition, so only plain incremental tables are refused).
Status check_partitions(const Job& job, const log::RecordSource& source, bool following);

// Opens the lake (nothing read or written yet).
Status open_lake(const ExtractOptions& o, Opened& opened);
// Locks every table with a path (Delta tables take no lock), finishing what a
// crashed run left, and reads the Delta tables' logs: describe_tables, then
// open_tables_where for every table.
Status open_tables(Job& job, const ExtractOptions& o, Opened& opened);
// The job's tables as `opened.tables` (and the rejects table), none opened.
void describe_tables(Job& job, const ExtractOptions& o, Opened& opened);
// Opens, side by side, each table with a path, not yet open, for which `which` holds.
Status open_tables_where(Opened& opened, const std::function<bool(const TableRun&)>& which);

// A table's directory (locked, what a crashed run left finished) or its Delta
// log (read).
struct TableHandle {
  std::unique_ptr<TableDir> dir;
  std::unique_ptr<DeltaTable> delta;
};

// Opens, on a thread of its own, the tables that do not resume (whose
// committed offsets do not decide what a pass reads), makes their runs'
// staging directories (TableDir::prepare), and looks up whether the rejects table exists, while
// this thread plans and scans: on HDFS each is a few round trips to the
// namenode. Only the open tables' `dir` and `delta` are
// written, by finish(), on the caller's thread.
class BackgroundOpen {
 public:
  explicit BackgroundOpen(Opened& opened);
  ~BackgroundOpen();  // waits; tables it opened and finish() did not take are closed
  BackgroundOpen(const BackgroundOpen&) = delete;
  BackgroundOpen& operator=(const BackgroundOpen&) = delete;
  // Waits for it; puts what it opened into the tables. The first table's
  // failure (in table order), or the look-up's.
  Status finish();

 private:
  struct Want {
    size_t index;
    std::string name;
    std::string relative;
    TableFormat format;
    Mode mode;
  };
  Opened& opened_;
  std::vector<Want> tables_;
  std::vector<TableHandle> handles_;
  bool rejects_there_ = false;
  Status status_;
  std::thread thread_;
};

// What one pass reads.
struct Pass {
  std::vector<log::PartitionRange> ranges;  // one per partition, in partition order
  bool one_partition = true;
  int64_t start = 0;  // the first offset read (several partitions: the span's)
  int64_t end = 0;    // the offset after the last (several partitions: the span's)
};

// Plans a pass over `source` (opened just now) for `opened`'s tables: each
// table's start per partition (its committed offsets when it resumes, checked
// against the log), and ranges from the earliest start any table needs.
// `position` (a follower): per partition, the offset up to which this process
// has already read; no table starts before it.
Status plan_pass(const Job& job, const ExtractOptions& o, log::RecordSource& source, Opened& opened,
                 const std::map<int32_t, int64_t>* position, Pass& pass);

// The ids seen so far, per partition, to drop a record whose id came before.
// One pass: every id of the partition being read (partitions are read one
// after the other). A follower: an IdWindow per partition, kept across passes.
class SeenIds {
 public:
  SeenIds() = default;
  explicit SeenIds(int64_t window_ms) : window_ms_(window_ms) {}
  // False when `id` was seen before in `partition`. `left`: records left in
  // the partition's range (room is made for them at once).
  bool insert(int32_t partition, std::string_view id, int64_t timestamp_ms, int64_t left);
  // The largest memory one partition's ids took.
  size_t peak_bytes() const { return peak_bytes_; }
  // Memory held now, every partition.
  size_t memory_bytes() const;
  void clear_pass();  // one pass: frees the ids (a follower's stay)

 private:
  std::optional<int64_t> window_ms_;
  int32_t partition_ = -1;  // of `one_`
  IdSet one_;
  std::map<int32_t, IdWindow> windows_;
  size_t peak_bytes_ = 0;
};

// What a scan read.
struct Scanned {
  uint64_t records = 0;     // offered to the tables (duplicates not counted)
  uint64_t duplicates = 0;  // dropped
  uint64_t rejected = 0;
  std::string first_reject;       // "offset 3: not a JSON object: array"
  std::vector<int64_t> read_end;  // per range: the offset after the last one read
  std::vector<log::SkippedRange> skipped;
  int64_t first_timestamp_ms = -1;  // of the first record read; -1: none
  bool full = false;                // stopped early at the size bound
};

// Reads the pass's ranges and offers every record to the tables, dropping
// duplicate ids. With `stop_at_budget` (a follower), stops reading once the
// rows buffered reach o.memory_budget (`full`) instead of spilling them.
Status scan(Job& job, const ExtractOptions& o, log::RecordSource& source, Opened& opened,
            const Pass& pass, SeenIds& ids, bool stop_at_budget, Scanned& scanned);

// Reports widened and renamed columns, prints show/printSchema output, and
// writes every table's files (not yet visible).
Status stage(Job& job, const ExtractOptions& o, Opened& opened, const Pass& pass,
             const Scanned& scanned);

// Commits every staged table (each whole or not at all on its own).
Status publish(Opened& opened);

// The report of a pass that published.
ExtractReport report_of(const Opened& opened, const Pass& pass, const Scanned& scanned,
                        double seconds);

// Unlocks the tables, side by side (on HDFS each is a round trip).
void close_tables(Opened& opened);

}  // namespace questlog::extract::phases
