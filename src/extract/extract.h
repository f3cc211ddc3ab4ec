// `questlog extract`: runs a job in one pass over the event log.
//
// The range [start, end) is fixed when the job starts (end = the log's end
// then, Spark's endingOffsets=latest); records appended later wait for the
// next run. Every record in it is parsed once; records that are not JSON
// objects go to <lake>/_rejected/<job stem>/ (offset, timestamp, error, raw)
// instead of stopping the job (with `strict`, the first one stops it). Each
// event is transformed, then offered to every table; a table keeps the events
// its `where` matches. Rows are buffered with their table's growing schema and
// spilled to a temporary file under <lake>/.staging past `memory_budget`, then
// written with the final schema.
//
// Tables are written to staging first; only when every table of the job is
// staged are they published (table_dir.h), so a failing job publishes nothing.
// printSchema and show output goes to `out` in the job's table order; the
// progress line, widenings and one summary line per table go to `err`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "extract/job.h"
#include "util/status.h"

namespace questlog::extract {

struct ExtractOptions {
  std::filesystem::path log_dir;  // the embedded log partition to read (DATA/<topic>/0)
  std::filesystem::path lake = "./lake";
  std::optional<int64_t> show;           // overrides every table's show
  bool strict = false;                   // a record that is not a JSON object fails the job
  bool progress = false;                 // a live progress line on `err` (a terminal)
  uint64_t memory_budget = 64ull << 20;  // buffered rows in memory, all tables together
  std::optional<unsigned> threads;       // workers parsing records; default: one per core
  std::FILE* out = stdout;
  std::FILE* err = stderr;
};

struct TableReport {
  std::string name;
  uint64_t rows = 0;
  uint64_t files = 0;
  uint64_t bytes = 0;
  std::string path;   // where it was written; empty: printed only
  int64_t start = 0;  // the offsets it took rows from: [start, end)
  int64_t end = 0;
};

struct ExtractReport {
  int64_t start = 0;  // the range read
  int64_t end = 0;
  uint64_t records = 0;
  uint64_t rejected = 0;
  std::vector<TableReport> tables;
};

// Runs `job`. New field names seen in the log are interned into job.names.
Result<ExtractReport> run_extract(Job& job, const ExtractOptions& options);

}  // namespace questlog::extract
