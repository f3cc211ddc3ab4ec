// Delta Lake's table log, as the Delta protocol (PROTOCOL.md of delta-io/delta)
// lays it out, in the subset questlog writes and reads (docs/formats.md):
//
//   <table>/_delta_log/00000000000000000000.json   version 0
//   <table>/_delta_log/00000000000000000001.json   version 1, ...
//
// Each commit file is newline-delimited JSON, one action per line: protocol,
// metaData, add, remove, txn, commitInfo. A table's state at version N is the
// actions of versions 0..N replayed in order: the last protocol and metaData,
// the files added and not removed since, and per application id the last txn
// version. Version N+1 is created with io::FileSystem::put_if_absent, so of
// two writers racing for it one wins and the other reads the log again and
// retries with N+2 (delta_table.h).
//
// Reading needs every commit file from version 0 on: questlog writes
// checkpoints for other readers (delta_checkpoint.h) but reads only the JSON
// commits (docs/formats.md says why and what it costs), and a table whose
// early commits were cleaned up after a checkpoint (by another writer) is
// refused with one line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/file_system.h"
#include "util/status.h"

namespace questlog::extract::delta {

// The protocol questlog writes: reader 1, writer 2 (no table features).
inline constexpr int kReaderVersion = 1;
inline constexpr int kWriterVersion = 2;

// One top-level column of the table's schema (Spark's StructField as JSON).
struct Field {
  std::string name;
  std::string type;  // a primitive's name ("string", "long", "double", "boolean",
                     // "timestamp", ...) or the JSON of a nested type, as read
  bool nullable = true;
  std::string metadata = "{}";  // JSON object, as read
  bool operator==(const Field&) const = default;
};

struct Metadata {
  std::string id;  // a UUID, fixed when the table is created
  std::vector<Field> fields;
  std::vector<std::string> partition_columns;
  std::map<std::string, std::string> configuration;
  int64_t created_time = 0;  // ms since the Unix epoch
};

// An add or a remove action.
struct FileAction {
  std::string path;  // relative to the table, URI-encoded, as in the log
  std::vector<std::pair<std::string, std::optional<std::string>>> partition_values;
  int64_t size = 0;
  int64_t modification_time = 0;  // add: the file's; remove: its deletion time
  bool data_change = true;
  std::string stats;  // add: JSON text (numRecords, minValues, maxValues, nullCount); may be empty
};

// A table's state at `version`.
struct Snapshot {
  int64_t version = -1;  // -1: no table (no commit yet)
  int min_reader_version = 0;
  int min_writer_version = 0;
  std::vector<std::string> features;  // the protocol's readerFeatures and writerFeatures
  std::optional<Metadata> metadata;
  std::map<std::string, FileAction> files;  // active files by path
  // Removed files by path (modification_time: the deletion time), until a
  // later add: the tombstones a checkpoint keeps (delta_checkpoint.h).
  std::map<std::string, FileAction> tombstones;
  std::map<std::string, int64_t> txns;  // appId -> the last txn version
  int64_t commits_read = 0;             // commit files read into it, for measurements
};

// What one commit writes.
struct Commit {
  bool protocol = false;             // a protocol action (kReaderVersion, kWriterVersion)
  std::optional<Metadata> metadata;  // a metaData action
  std::vector<FileAction> removes;   // removed at `timestamp_ms`
  std::vector<FileAction> adds;
  std::vector<std::pair<std::string, int64_t>> txns;  // appId, version
  int64_t timestamp_ms = 0;
  std::string operation = "WRITE";  // commitInfo
  std::string mode = "Append";      // commitInfo's operationParameters.mode
};

// "<table>/_delta_log"
std::filesystem::path log_dir(const std::filesystem::path& table);
// "<table>/_delta_log/%020d.json"
std::filesystem::path commit_path(const std::filesystem::path& table, int64_t version);

// Reads the commits after `snapshot.version` (all of them for a new Snapshot)
// into it. A table with no _delta_log, or an empty one, is version -1.
Status update(io::FileSystem& fs, const std::filesystem::path& table, Snapshot& snapshot);

// The commit's actions as the commit file holds them: protocol, metaData,
// txn, remove, add, commitInfo, one JSON object a line.
std::string encode(const Commit& commit);
// Spark's schemaString for `fields`.
std::string schema_string(const std::vector<Field>& fields);

// Creates the commit file of `version` (put_if_absent): Errc::already_exists
// when another writer made that version first.
Status write_commit(io::FileSystem& fs, const std::filesystem::path& table, int64_t version,
                    const Commit& commit);

// How old a hidden upload in _delta_log (put_if_absent's ".<commit>.<16 hex>.tmp",
// a checkpoint's or _last_checkpoint's ".<name>.<uuid>.tmp") must be before
// remove_stale_uploads() deletes it: far longer than any writer takes between
// its upload and its rename.
inline constexpr int64_t kStaleUploadMs = 60 * 60 * 1000;

// Deletes the hidden uploads in the table's _delta_log that are older than
// kStaleUploadMs at `now_ms` (by the file system's clock): left by a writer
// killed between upload and rename (a commit on HDFS, or locally only where
// there is no O_TMPFILE; a checkpoint or _last_checkpoint anywhere). Such a
// file never becomes part of the log, and no other file is touched. Extract
// calls it when it opens a Delta table that has a log.
Status remove_stale_uploads(io::FileSystem& fs, const std::filesystem::path& table, int64_t now_ms);

// A path relative to the table as a relative URI: every byte other than
// A-Z a-z 0-9 - . _ ~ / = as %XX (a Hive-escaped '%' becomes %25).
std::string encode_path(std::string_view path);
// An add or remove path back to the path it names: each %XX to its byte.
std::string decode_path(std::string_view uri);

}  // namespace questlog::extract::delta
