// Delta Lake checkpoints as questlog writes them (PROTOCOL.md, "Checkpoints",
// "Checkpoint Schema", "Last Checkpoint File"; docs/formats.md says which
// choices we make):
//
//   <table>/_delta_log/00000000000000000100.checkpoint.parquet
//   <table>/_delta_log/_last_checkpoint
//
// A classic, single-file V1 checkpoint: one Parquet row per action of the
// snapshot (protocol, metaData, one txn per appId, one add per active file,
// one remove per tombstone not yet expired), each row holding one non-null
// struct column. It is written under a hidden temporary name in _delta_log
// and renamed to its name when complete, then _last_checkpoint is replaced
// the same way. Only after the commit of that version exists; the JSON commits
// stay and remain authoritative, so a checkpoint that fails or is cut short
// leaves the table as it was (a reader finds no checkpoint, or a whole one).
#pragma once

#include <cstdint>
#include <filesystem>

#include "extract/delta_log.h"
#include "io/file_system.h"
#include "util/status.h"

namespace questlog::extract::delta {

// The interval when the table sets none (delta.checkpointInterval).
inline constexpr int64_t kDefaultCheckpointInterval = 100;

// "<table>/_delta_log/%020d.checkpoint.parquet"
std::filesystem::path checkpoint_path(const std::filesystem::path& table, int64_t version);

// Every how many versions `snapshot`'s table is checkpointed: its
// delta.checkpointInterval when that is a positive integer, else 100.
int64_t checkpoint_interval(const Snapshot& snapshot);
// Whether the version `snapshot` is at is due a checkpoint (a positive
// multiple of the interval).
bool checkpoint_due(const Snapshot& snapshot);

// How long a remove stays in checkpoints: delta.deletedFileRetentionDuration
// ("interval 1 week" by default; units second to week), in ms; -1 when the
// setting is not one we read (then every tombstone is kept).
int64_t tombstone_retention_ms(const Snapshot& snapshot);

struct CheckpointInfo {
  int64_t version = 0;
  int64_t actions = 0;  // rows
  int64_t adds = 0;
  uint64_t bytes = 0;
};

// Writes the checkpoint of `snapshot` (the table at snapshot.version, whose
// commit exists) and then _last_checkpoint, unless that names a later
// version. Tombstones deleted before `now_ms` minus the retention are left
// out. On failure the temporary file is removed (best effort) and nothing
// else changed.
Result<CheckpointInfo> write_checkpoint(io::FileSystem& fs, const std::filesystem::path& table,
                                        const Snapshot& snapshot, int64_t now_ms);

}  // namespace questlog::extract::delta
