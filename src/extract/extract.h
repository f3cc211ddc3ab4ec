// `questlog extract`: runs a job in one pass over the event log.
//
// The range [start, end) is fixed when the job starts (end = the log's end
// then, Spark's endingOffsets=latest); records appended later wait for the
// next run.
//
// The log is the embedded one or a Kafka topic (a log::RecordSource). A topic
// with one partition (the seed's) is read exactly as the embedded log: its
// offsets are Kafka's, so starting_offsets, ending_offsets and incremental
// tables mean the same on both. A topic with several partitions is read whole,
// each partition from its low to its high watermark at the start, one
// partition after the other in partition order (so a rerun over the same
// records gives the same rows in the same order); a job that needs one offset
// to mean one point of the log (numeric starting_offsets or ending_offsets, an
// incremental table) is refused before anything is read, naming the partition
// count. There, offsets in messages and in the _rejected table are offsets
// within the record's partition. A record whose key (the event's id) an earlier
// record of its partition had in the range is dropped before it is parsed and
// counted in `duplicates` (a producer's resend, a client's retry); records
// without a key are never dropped. Every record in it is parsed once; records that are not JSON
// objects go to <lake>/_rejected/<job stem>/ (offset, timestamp, error, raw)
// instead of stopping the job (with `strict`, the first one stops it). Each
// event is transformed, then offered to every table; a table keeps the events
// its `where` matches. Rows are buffered with their table's growing schema and
// spilled to a temporary file under <lake>/.staging (on HDFS: under $TMPDIR)
// past `memory_budget`, then written with the final schema.
//
// The log must hold what a job reads: damage or a missing segment in the range
// fails the job (skip_damaged: skips it, naming it), and so does an
// incremental table whose committed offsets are past the log's end (a restored
// backup or a cut log) or below its start (older records deleted; skip_damaged
// goes on without them).
//
// Tables are written to staging first; only when every table of the job is
// staged are they published (table_dir.h), so a failing job publishes nothing.
// printSchema and show output goes to `out` in the job's table order; the
// progress line, skipped ranges and widenings go to `err`; print_report()
// writes the summary lines.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "extract/job.h"
#include "extract/lake.h"
#include "io/file_system.h"
#include "log/record_source.h"
#include "util/status.h"

namespace questlog::extract {

struct ExtractOptions {
  std::filesystem::path log_dir;  // the embedded log partition to read (DATA/<topic>/0)
  // Opens the log to read instead of log_dir (Kafka). Called once, when the job starts.
  std::function<Result<std::unique_ptr<log::RecordSource>>()> open_source;
  // A directory or webhdfs://NAMENODE:HTTP_PORT/PATH (lake.h).
  std::string lake = "./lake";
  LakeOptions lake_options;  // WebHDFS's user, retry notes
  // The lake's file system instead of open_lake(lake) (tests put an
  // io::FaultFileSystem here); must outlive the call.
  io::FileSystem* lake_fs = nullptr;
  std::optional<int64_t> show;           // overrides every table's show
  bool strict = false;                   // a record that is not a JSON object fails the job
  bool progress = false;                 // a live progress line on `err` (a terminal)
  uint64_t memory_budget = 64ull << 20;  // buffered rows in memory, all tables together
  std::optional<unsigned> threads;       // workers parsing records; default: one per core
  // Read past damaged or missing offsets of the log, and offsets an incremental
  // table still needs that the log no longer holds, naming each range on `err`
  // (incremental tables count them as read). Otherwise the job fails there and
  // publishes nothing.
  bool skip_damaged = false;
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  // Set by run_follow (follow.h): tables resume from their commits, rejected
  // records are appended, no progress line.
  bool follow = false;
};

struct TableReport {
  std::string name;
  uint64_t rows = 0;
  uint64_t files = 0;
  uint64_t bytes = 0;
  std::string path;  // where it was written; empty: printed only
  Mode mode = Mode::overwrite;
  int64_t version = -1;  // the Delta version committed; -1: none
  int64_t start = 0;     // the offsets it took rows from: [start, end)
  int64_t end = 0;
  std::vector<log::SkippedRange> skipped;  // offsets it needed that the log no longer holds
  std::string checkpoint_error;  // why the Delta checkpoint due at `version` was not written
};

struct ExtractReport {
  int64_t start = 0;  // the range read (several partitions: the span of their offsets)
  int64_t end = 0;
  std::vector<log::PartitionRange> ranges;  // the range read, per partition
  uint64_t records = 0;        // read and offered to the tables (duplicates not counted)
  uint64_t duplicates = 0;     // dropped: the id (record key) of an earlier record of the partition
  size_t id_memory_bytes = 0;  // the largest partition's set of seen ids, at its end
  uint64_t rejected = 0;
  std::string first_reject;                // "offset 3: not a JSON object: array"
  std::string rejected_path;               // where the rejected records went
  std::vector<log::SkippedRange> skipped;  // damaged or missing in the range read
  std::vector<TableReport> tables;
  double seconds = 0;  // the run's wall time
};

// Runs `job`. New field names seen in the log are interned into job.names.
Result<ExtractReport> run_extract(Job& job, const ExtractOptions& options);

// The summary of a run, for people, one line each: what was read, duplicates
// dropped, each table's rows and files, rejected records.
void print_report(const ExtractReport& report, std::FILE* err);
// The line of one table ("questlog: table swords: 20 rows, 1 file, ...").
std::string table_line(const TableReport& table);
// The note that its Delta checkpoint failed (the commit stands); empty if none.
std::string checkpoint_note(const TableReport& table);

}  // namespace questlog::extract
