// A Delta Lake table under the lake (format = "delta"), as extract writes it
// (delta_log.h has the log's format):
//
// - A run's Parquet files are written straight into the table directory under
//   names no other run uses (part-00000-<uuid>-c000.snappy.parquet; Hive-style
//   partition directories as for plain tables), complete and synced, and then
//   published by one commit: put_if_absent of the next version, adding them,
//   with a txn action per source partition (appId: app_id(); version: the
//   offset after the last one read) and for overwrite a remove of every file
//   the table had. Files of a run that dies before its commit are in no
//   commit, so readers never see them (a later VACUUM by another tool deletes
//   them; questlog deletes them itself when it knows the commit was not made).
// - A commit tries the version after the snapshot the table has (read when it
//   was opened, or left by this process's last commit) without reading the
//   log again: any commit made since took that version. A run that loses the
//   race for a version reads the commits it missed and tries the next one. If
//   one of them moved a txn this run started from (another run read the same
//   offsets), this run commits nothing: its rows are the other run's
//   (Errc::busy, one line).
// - Schema: a column this run has and the table lacks is added by a metaData
//   action in the same commit (older files' rows read it as null). A column
//   the table has with a wider type (int64 < float64 < string) is written
//   with the table's type; a narrower one is refused (append to a long column
//   a string?) with one line. Overwrite replaces the schema. Partition columns
//   must match the table's, except on overwrite.
// - The table must be one questlog can write: reader version 1 and writer
//   version 2 at most, no column invariants, not delta.appendOnly for
//   overwrite. A directory holding files but no _delta_log is refused.
//
// There is no lock: the log's put-if-absent is the only arbiter, so two
// processes may write one table at once (both commit, in some order). The
// commit step is separate from the file writing so that a loop (extract
// --follow) can call write then commit once per micro-batch on one open
// DeltaTable, which keeps its snapshot current between commits.
//
// One thread at a time per DeltaTable.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "extract/delta_log.h"
#include "extract/job.h"
#include "extract/row_buffer.h"
#include "extract/schema.h"
#include "extract/table_writer.h"
#include "io/file_system.h"
#include "util/status.h"

namespace questlog::extract {

// The txn appId of a job's table for one partition of a topic:
// "questlog/<job stem>/<table name>/<topic>/<partition>".
std::string delta_app_id(const std::string& job_stem, const std::string& table,
                         const std::string& topic, int32_t partition);

// Delta's type name for a column type ("string", "long", "double", "boolean",
// "timestamp").
const char* delta_type_name(parquet::ColumnType t);
// The column type of a Delta type name; nullopt for one questlog does not write.
std::optional<parquet::ColumnType> delta_column_type(const std::string& delta_type);

class DeltaTable {
 public:
  // Reads the table's log at `relative` in `lake` (no table yet is fine).
  static Result<std::unique_ptr<DeltaTable>> open(io::FileSystem& lake,
                                                  const std::string& relative);
  ~DeltaTable();  // deletes the files of a run whose commit was surely not made
  DeltaTable(const DeltaTable&) = delete;
  DeltaTable& operator=(const DeltaTable&) = delete;

  const delta::Snapshot& snapshot() const { return snapshot_; }
  // The version of the last txn of `app_id`: the next offset to read.
  std::optional<int64_t> committed(const std::string& app_id) const;

  // The columns to write this run's files with, from the run's `columns`
  // (sorted, partition columns included) and the table's schema, as the header
  // says; or the one-line reason the run cannot go into this table.
  Result<std::vector<SchemaColumn>> plan_columns(const std::vector<SchemaColumn>& columns,
                                                 const std::vector<std::string>& partition_by,
                                                 Mode mode) const;

  // Writes `rows` as this run's files (write_table into the table directory).
  Result<TableWriteResult> write(const RowBuffer& rows, TableWriteSpec spec);

  struct Run {
    Mode mode = Mode::append;
    std::vector<SchemaColumn> columns;  // as plan_columns gave them
    std::vector<std::string> partition_by;
    std::vector<std::pair<std::string, int64_t>> txns;  // appId, next offset
    // For each appId: the txn version this run started from (nullopt: none).
    // A commit that moved it first is a conflict.
    std::map<std::string, std::optional<int64_t>> started_from;
    int64_t now_ms = 0;
  };
  // Commits the files of the last write() (none: a commit of txns and
  // metadata only) as one version; returns it. When that version is due a
  // checkpoint (delta_checkpoint.h: every 100 versions, or the table's
  // delta.checkpointInterval), writes it after the commit: a checkpoint that
  // fails does not fail the commit, it is reported by checkpoint_status().
  Result<int64_t> commit(const Run& run);
  // How the checkpoint of the last commit went: ok when it was written or not
  // due.
  const Status& checkpoint_status() const { return checkpoint_status_; }

 private:
  DeltaTable(io::FileSystem& lake, std::string relative)
      : lake_(lake), relative_(std::move(relative)) {}
  Status writable() const;
  void drop_pending();

  io::FileSystem& lake_;
  std::string relative_;
  delta::Snapshot snapshot_;
  TableWriteResult pending_;  // written, not committed
  bool pending_droppable_ = false;
  Status checkpoint_status_;
};

}  // namespace questlog::extract
