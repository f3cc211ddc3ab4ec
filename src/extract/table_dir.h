// A Spark-shaped table directory under the lake: part-*.parquet files
// (partitioned tables: in col=value/ subdirectories) and an empty _SUCCESS.
// A run's files are written into a staging directory first,
//   <lake>/.staging/<table key>/<mode>-<uuid>/
// and published only once all of them are complete and fsynced:
//
// - overwrite: the staging directory, _SUCCESS included, is marked ready and
//   then swapped with the table in one renameat2(RENAME_EXCHANGE) (a plain
//   rename when there was no table), and the old table, now in staging, is
//   deleted. A reader sees the old table or the new one, never a mix; kill -9
//   at any point leaves one of them whole.
// - append and incremental: the staging directory is marked ready, then each
//   file is renamed into the table and _SUCCESS is refreshed. If the process
//   dies between the mark and the last rename, the next open() finishes the
//   renames (roll forward), so a run is published whole or not at all.
//
// Incremental tables remember the offsets they cover in their file names,
// part-<start>-<end>-<uuid>-c000.<codec>.parquet (20-digit offsets, end
// exclusive): the rename that publishes a file is also the commit of its
// offsets. committed_end() reads them back.
//
// One writer per table at a time: open() takes an flock on
// <lake>/.staging/<table key>.lock, held until the TableDir is destroyed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "extract/job.h"
#include "parquet/file_writer.h"
#include "util/status.h"

namespace questlog::extract {

class TableDir {
 public:
  // Locks the table at <lake>/<relative> (Errc::busy when another process holds
  // it) and completes or discards whatever a crashed run left in staging.
  static Result<std::unique_ptr<TableDir>> open(const std::filesystem::path& lake,
                                                const std::string& relative);
  ~TableDir();  // aborts a run neither committed nor aborted, unlocks
  TableDir(const TableDir&) = delete;
  TableDir& operator=(const TableDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // For incremental tables: the greatest end offset named by a part file, or
  // nullopt when the table has none (or does not exist).
  Result<std::optional<int64_t>> committed_end() const;

  // Starts a run: returns a new empty staging directory. Write the run's files
  // in it at their paths relative to the table ("event_type=x/part-...").
  Result<std::filesystem::path> begin(Mode mode);
  // Publishes the run as described above. Every file in staging must be
  // complete and fsynced (FileWriter::close does it).
  Status commit();
  // Deletes the run's staging directory. Nothing was published.
  void abort();

  // Spark's names: part-00000-<uuid>-c000.snappy.parquet
  static std::string part_name(int index, const std::string& uuid, parquet::Codec codec);
  // part-<start>-<end>-<uuid>-c000.snappy.parquet, offsets in 20 digits
  static std::string incremental_part_name(int64_t start, int64_t end, const std::string& uuid,
                                           parquet::Codec codec);

  struct Impl;

 private:
  explicit TableDir(std::unique_ptr<Impl> impl, std::filesystem::path path);
  std::unique_ptr<Impl> impl_;
  std::filesystem::path path_;
};

// A random version-4 UUID: "0b5e6c1e-2f4a-4c8e-9d1a-3e5f7a9b1c2d".
std::string random_uuid();

// Hive's escaping of a partition value in a directory name ("a/b" -> "a%2Fb");
// a null value is __HIVE_DEFAULT_PARTITION__.
std::string hive_escape(std::string_view value);
// The same, appended to `out`.
void append_hive_escaped(std::string& out, std::string_view value);

}  // namespace questlog::extract
