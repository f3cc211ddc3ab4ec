// `questlog extract --follow`: runs a job over the log as it grows, in
// micro-batches, until told to stop.
//
// Every `trigger` (Spark's processing-time trigger) a micro-batch reads what
// the log holds past what this process has read (at the start: past each
// table's committed offsets), and commits it to each table that got rows: one
// Delta commit, or one incremental publish of a plain table. A micro-batch
// that finds nothing new writes nothing. One that takes longer than the
// trigger is followed at once by the next; so is one that stopped at the size
// bound (its rows reached ExtractOptions::memory_budget: a follower never
// spills, it commits instead), which is how a follower catches up.
//
// Exactly once through any crash: a Delta table's commits record the offsets
// they cover (txn, per job, table and partition) and a follower starts from
// them; an incremental plain table's file names do. So followed tables are
// Delta tables (mode append or incremental) and incremental plain tables; a
// job with an overwrite table, a plain append table (a crash between its
// publish and the next start would publish a micro-batch twice) or a table
// without a path is refused, and so is an ending_offsets. With several
// partitions (Kafka), plain incremental tables are refused as in one pass;
// Delta tables keep one txn per partition.
//
// Duplicate ids (extract.h) are dropped within a window of time per partition
// (IdWindow, id_set.h). At start the follower reads the ids of the records
// within the window before where its tables are, so a restart forgets none.
//
// A table that gets no rows from a micro-batch is not committed, except that
// a Delta table whose offsets moved gets a commit of its txns alone at most
// once a minute, so a restart does not re-read a long stretch of the log.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "extract/extract.h"
#include "extract/job.h"
#include "util/status.h"

namespace questlog::extract {

struct FollowOptions {
  std::chrono::milliseconds trigger{5000};
  // How long ids are kept to drop duplicates (README, "Event ids").
  std::chrono::milliseconds dedup_window{std::chrono::hours(1)};
  // Waits up to `d` for a request to stop (SIGTERM, SIGINT): true when one
  // came. Micro-batches run between waits, so a stop finishes the one in
  // flight; one last micro-batch then commits what the log holds at that
  // moment (up to the size bound), and run_follow returns. Required.
  std::function<bool(std::chrono::milliseconds d)> wait_for_stop;
  // A status line on ExtractOptions::err, rewritten in place (a terminal):
  // records/s, lag, last commit. Otherwise each commit's table lines.
  bool status_line = false;
};

struct FollowReport {
  uint64_t batches = 0;  // micro-batches that read records
  uint64_t commits = 0;  // table commits
  uint64_t records = 0;  // read, duplicates included
  uint64_t duplicates = 0;
  size_t id_memory_bytes = 0;  // held for the dedup window at the end
};

// `job`'s tables as a follower can write them, or the one-line reason not.
Status check_followable(const Job& job);

// Follows the log until options.wait_for_stop says stop; then returns. A
// failure stops it (a table's commit conflict, the lake unreachable). A log
// that is not there yet (Errc::not_found: no segment, no topic) is waited
// for at the start. The log stays open from one micro-batch to the next
// (RecordSource::refresh; one Kafka consumer); when it cannot be asked (no
// broker answering) it is opened again at every trigger until it can. Each is
// said once on `err`. Records the log deleted (Kafka retention) before the
// follower read them fail it with one line, as a run fails for a table whose
// committed offsets the log no longer holds; with ExtractOptions::skip_damaged
// they are said and gone past.
Result<FollowReport> run_follow(Job& job, const ExtractOptions& options,
                                const FollowOptions& follow);

// "500ms", "1s", "2m", "1h" as milliseconds (> 0), or the one-line reason not.
Result<std::chrono::milliseconds> parse_duration(const std::string& text);

}  // namespace questlog::extract
