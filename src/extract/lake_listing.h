// What `questlog ls` shows: the tables under a lake, each with its rows (from
// the Parquet footers), files, bytes and last write time.
//
// A table is a directory holding a _SUCCESS marker, a *.parquet file, or a
// Hive partition directory (a name with '='); everything under it is the
// table's (its partitions). Other directories are searched for tables
// beneath them; names starting with '.' (.staging, hidden files) are skipped,
// as Spark and Hadoop skip them. A directory holding _delta_log is a Delta
// Lake table: its rows, files and bytes are those of the files its log's
// latest version holds, and its last write is its newest commit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "util/status.h"

namespace questlog::extract {

struct TableListing {
  std::string path;  // relative to the lake: "sword_purchases", "_rejected/separate_events"
  uint64_t rows = 0;
  uint64_t files = 0;         // Parquet files (names ending in .parquet, not hidden)
  uint64_t bytes = 0;         // their sizes together
  int64_t last_write_ms = 0;  // the newest modification time of any file in it (_SUCCESS too)
  // Files whose footer could not be read, with why (their rows are not counted).
  std::vector<std::string> unreadable;
};

// Every table under the lake, sorted by path. Errc::not_found when the lake
// itself is missing.
Result<std::vector<TableListing>> list_tables(io::FileSystem& lake);

// The listing as `questlog ls` prints it (columns aligned; times in the local
// time zone, to the minute, as `hadoop fs -ls` prints them):
//
//   Found 2 tables
//   rows  files  bytes  last write        table
//     20      1   1094  2026-11-28 20:14  lake/default_hits
//     20      1   1106  2026-11-28 20:14  lake/sword_purchases
//
// `name` turns a table's path into what the last column shows. A table with an
// unreadable footer shows its rows as "?".
std::string format_listing(const std::vector<TableListing>& tables,
                           const std::function<std::string(const std::string&)>& name);

}  // namespace questlog::extract
