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
//   at any point leaves one of them whole. (On a file system without
//   RENAME_EXCHANGE the swap is three renames, io::FileSystem::exchange; a
//   crash between them leaves no table for a moment, and the next open()
//   moves the new one in. HDFS is such a file system, io/webhdfs_file_system.h;
//   there the swap is two renames, the table to "<run>.old" in staging and
//   the run to the table, with the same moment without a table between
//   them; no ready mark there: the old table moved aside to "<run>.old" says
//   the run is complete, and a crash between the two renames leaves that
//   pair, which the next open() finishes.)
// - append and incremental: the staging directory is marked ready, then each
//   file is renamed into the table and _SUCCESS is refreshed. If the process
//   dies between the mark and the last rename, the next open() finishes the
//   renames (roll forward), so a run is published whole or not at all. A
//   commit() that fails after the mark leaves the run to the next open() the
//   same way.
//
// The table's directories and the directory holding its entry are fsynced
// before commit() returns ok, so a published table survives a power cut too
// (on HDFS the namenode has logged each rename when it answers).
//
// Incremental tables remember the offsets they cover in their file names,
// part-<start>-<end>-<uuid>-c000.<codec>.parquet (20-digit offsets, end
// exclusive): the rename that publishes a file is also the commit of its
// offsets. committed_end() reads them back.
//
// One writer per table at a time: open() takes the lock
// <lake>/.staging/<table key>.lock (an flock; on HDFS a lock directory,
// io/webhdfs_file_system.h), held until the TableDir is destroyed.
//
// Links: every path is resolved beneath the lake without following a symbolic
// link (lake_file_system()). A table path that meets one (lake/evil -> /x with
// path "evil/sub", a table directory or partition directory that is a link) is
// refused with one line naming the link; a link found in the table's staging
// directory is removed as a link, never followed. The lake directory itself may
// be a link. Nothing outside the lake is ever read, written or removed.
//
// All I/O goes through the io::FileSystem given to open(), which must outlive
// the TableDir. One thread at a time per TableDir; different tables may be
// used on different threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "extract/job.h"
#include "io/file_system.h"
#include "parquet/file_writer.h"
#include "util/status.h"

namespace questlog::extract {

class TableDir {
 public:
  // The lake's file system: rooted at `lake` (created with its missing parents
  // on the first write), every path resolved beneath it, no link followed.
  static std::unique_ptr<io::FileSystem> lake_file_system(const std::filesystem::path& lake);

  // Locks the table at `relative` in `lake` (Errc::busy when another process
  // holds it) and completes or discards whatever a crashed run left in staging.
  static Result<std::unique_ptr<TableDir>> open(io::FileSystem& lake, const std::string& relative);
  ~TableDir();  // aborts a run neither committed nor aborted, unlocks
  TableDir(const TableDir&) = delete;
  TableDir& operator=(const TableDir&) = delete;

  // The table's directory as messages name it ("lake/sword_purchases").
  const std::string& path() const { return path_; }
  io::FileSystem& file_system() const;

  // For incremental tables: the greatest end offset named by a part file, or
  // nullopt when the table has none (or does not exist).
  Result<std::optional<int64_t>> committed_end() const;

  // Starts a run: returns a new empty staging directory, relative to the lake
  // (or the one prepare() made for `mode`). Write the run's files in it through
  // file_system(), at their paths relative to the table ("event_type=x/part-...").
  Result<std::filesystem::path> begin(Mode mode);
  // Starts a run ahead of its rows (its staging directory, and an overwrite's
  // _SUCCESS), which the next begin(mode) returns: on HDFS round trips that
  // can be made while the log is read.
  Status prepare(Mode mode);
  // Writes an overwrite run's _SUCCESS now (unless prepare() did) rather than
  // in commit(). The one call that may run on another thread, while the run's
  // files are written.
  Status write_success();
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
  explicit TableDir(std::unique_ptr<Impl> impl, std::string path);
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

// A random version-4 UUID: "0b5e6c1e-2f4a-4c8e-9d1a-3e5f7a9b1c2d".
std::string random_uuid();

// Hive's escaping of a partition value in a directory name ("a/b" -> "a%2Fb");
// a null value is __HIVE_DEFAULT_PARTITION__.
std::string hive_escape(std::string_view value);
// The same, appended to `out`.
void append_hive_escaped(std::string& out, std::string_view value);

}  // namespace questlog::extract
