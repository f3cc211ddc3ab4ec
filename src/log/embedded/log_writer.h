// The single writer of an embedded log partition (DATA/<topic>/<partition>/).
// Segments, record framing and recovery are described in docs/formats.md. All
// I/O goes through WriterOptions::file_system; tests/unit/log_fault_test.cpp
// holds every durability claim below to faults injected there.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/file_system.h"
#include "log/embedded/segment.h"
#include "util/status.h"

namespace questlog::log::embedded {

// Whether segments are written into space made ahead of the writer. An fdatasync
// after a write into bytes already on disk commits only the data; after a write
// that grows the file it also commits the new size (and the extents), which on
// ext4 takes about twice as long (bench/fsync_floor.cpp).
enum class Preallocation {
  none,  // segments grow with each append
  // Every segment is written with zeros to segment_bytes and synced before the
  // first append to it; a segment is cut to its records when it is sealed. The
  // next segment is prepared under a hidden name (kSpareSegmentName) when the
  // active one rolls, on the appending thread ...
  at_roll,
  // ... or on a thread of the writer's own while the active one fills, so that
  // a roll only renames it.
  ahead,
};

// The file a preallocated next segment is prepared in (not a segment name:
// readers ignore it).
inline constexpr std::string_view kSpareSegmentName = ".next-segment";

struct WriterOptions {
  std::filesystem::path dir;  // the partition directory; created if missing
  // A segment rolls once it holds at least this many bytes. Small enough that
  // finding the end (a scan of the last segment, there is no index) stays cheap.
  uint64_t segment_bytes = 16ull << 20;
  Preallocation preallocation = Preallocation::none;
  // Where the log's files live (a test puts an io::FaultFileSystem here); must
  // outlive the writer.
  std::reference_wrapper<io::FileSystem> file_system = io::local_file_system();
};

// What open() found and repaired.
struct RecoveryReport {
  int segments = 0;              // segment files present after recovery
  int64_t next_offset = 0;       // offset the next append gets
  uint64_t truncated_bytes = 0;  // a torn tail cut from the last segment
  std::string detail;            // one line for the operator when truncated_bytes > 0
  // Damage in the last segment with valid records after it, in file order. The
  // segment was kept as it is and sealed; appends go to a new segment.
  std::filesystem::path damaged_segment;
  std::vector<Damage> damaged;
  uint64_t records_after_damage = 0;  // valid records after the first damaged range
  std::string damage;                 // one line for the operator when `damaged` is not empty
};

class LogWriter {
 public:
  // Takes an exclusive lock on `dir` (a second writer, in this process or another,
  // gets Errc::busy with a message naming the holder's pid), recovers the last
  // segment and positions at the end. Recovery cuts a torn tail (no valid record
  // after the first one not accepted); damage with valid records after it is
  // kept, and the log continues in a new segment after the greatest valid offset
  // (docs/formats.md, "Recovery").
  static Result<std::unique_ptr<LogWriter>> open(const WriterOptions& options);

  // Fsyncs and releases the lock.
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Appends `values` as consecutive records, all stamped `timestamp_ms`, with one
  // write (io::File::write_at), and returns the offset of the first. Thread-safe
  // (serialised). When it returns ok the records are in the operating system's
  // page cache: they survive a crash of this process, not of the machine, and
  // readers in other processes can see them. On failure none of the batch is
  // visible: the segment is cut back to where it was, and the next append may
  // succeed with the same offsets. (A reader that polled during the failed write
  // may already have returned part of it; the next append reuses those offsets.)
  // If the cut fails too, this and every later append fail, saying to reopen the
  // log; reopening keeps the records of the batch that reached the file whole, as
  // after a crash during the write. When the append fills the segment, the
  // segment rolls; a failed roll is retried before the next append, which fails
  // if it fails again.
  // `keys` is empty (records without keys) or holds one key per value, each at
  // most format::kMaxKey bytes (an empty one: that record has none).
  Result<int64_t> append(std::span<const std::string_view> values, int64_t timestamp_ms,
                         std::span<const std::string_view> keys = {});

  // Makes every record appended before the call durable (fdatasync). Thread-safe,
  // and may run while another thread appends. Once an fsync has failed, this and
  // every later sync() and segment roll fail: the kernel may have dropped the data.
  Status sync();

  // Offset the next append will get.
  int64_t next_offset() const;

  const RecoveryReport& recovery() const;

  struct Impl;

 private:
  explicit LogWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace questlog::log::embedded
