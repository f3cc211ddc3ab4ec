// An extract job file (TOML): where to read, how to transform every event, and
// which tables to fill. The vocabulary is Spark's (startingOffsets, mode,
// partitionBy, show, printSchema) and Kafka Connect's (transforms). jobs/*.toml
// are examples; the seed's separate_events.py reads:
//
//   [source]
//   topic = "events"                  # default "events"
//   starting_offsets = "earliest"     # "earliest" (default) | "latest" | N
//   ending_offsets = "latest"         # "latest" (default) | N (exclusive)
//
//   [[transforms]]                    # in order, on every event (transforms.h)
//   type = "set"
//   fields = { Host = "moe", "Cache-Control" = "no-cache" }
//
//   [[tables]]
//   name = "sword_purchases"          # names the table in messages
//   path = "sword_purchases"          # under the lake; omitted: print only
//   where = { event_type = "purchase_sword" }   # filter.h
//   mode = "overwrite"                # "overwrite" (default) | "append" | "incremental"
//   partition_by = ["event_type"]     # optional Hive-style subdirectories
//   show = 20                         # rows to print like Spark's show(); 0: none (default)
//   print_schema = false              # print like Spark's printSchema()
//   codec = "snappy"                  # "snappy" (default) | "zstd" | "uncompressed"
//   format = "parquet"                # "parquet" (default: table_dir.h) | "delta" (delta_table.h)
//
// A table's columns are the union of its events' keys plus `timestamp`, the
// record's ingest time (an event's own "timestamp" key is shadowed by it, and
// job files may not name it), sorted byte-wise; see schema.h for types.
//
// Every problem is reported as "<file>:<line>: <what>" and nothing runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "extract/event.h"
#include "extract/filter.h"
#include "extract/transforms.h"
#include "parquet/file_writer.h"
#include "util/status.h"

namespace questlog::extract {

enum class Mode {
  overwrite,    // replace the table atomically with this run's rows
  append,       // add this run's rows as new files
  incremental,  // add the rows of offsets no earlier run covered (exactly once)
};

// How a table is laid out: a Spark-shaped directory of part files
// (table_dir.h) or a Delta Lake table whose log also holds the source offsets
// (delta_table.h).
enum class TableFormat { parquet, delta };

struct OffsetSpec {
  enum class Kind { earliest, latest, at };
  Kind kind = Kind::earliest;
  int64_t offset = 0;  // for `at`
};

struct TableSpec {
  std::string name;
  std::string path;  // relative to the lake, '/'-separated; empty: not written
  Filter where;
  Mode mode = Mode::overwrite;
  std::vector<FieldId> partition_by;
  int64_t show = 0;
  bool print_schema = false;
  parquet::Codec codec = parquet::Codec::snappy;
  TableFormat format = TableFormat::parquet;
};

struct Job {
  std::string source;  // the file as named on the command line
  std::string stem;    // its name without directory and ".toml": names the _rejected table
  std::string topic = "events";
  OffsetSpec starting{OffsetSpec::Kind::earliest, 0};
  OffsetSpec ending{OffsetSpec::Kind::latest, 0};
  std::vector<Transform> transforms;
  std::vector<TableSpec> tables;
  std::unique_ptr<FieldNames> names;  // every field id above is an id in here
};

// Parses a job from `text`; `source` names it in messages.
Result<Job> parse_job(std::string_view text, const std::string& source);
// Reads and parses the file at `path`.
Result<Job> load_job(const std::string& path);

// The part of `source` that names the _rejected table: "jobs/x.toml" -> "x".
std::string job_stem(const std::string& source);

}  // namespace questlog::extract
