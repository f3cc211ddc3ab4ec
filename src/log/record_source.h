// A bounded read of an event log, as `extract` sees it: the embedded log
// (embedded/embedded_source.h) or a Kafka topic (kafka/kafka_reader.h).
//
// What a source holds is fixed when it is opened: partitions() lists, for each
// partition, the first offset present then and the offset after the last record
// then (Kafka's low and high watermarks). Records appended later are not read
// by this source, whatever the ranges asked for, until refresh() moves
// partitions() on to what the log holds then.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "log/record.h"
#include "util/status.h"

namespace questlog::log {

// Offsets [start, end) of one partition.
struct PartitionRange {
  int32_t partition = 0;
  int64_t start = 0;
  int64_t end = 0;

  bool operator==(const PartitionRange&) const = default;
};

// Offsets [start, end) of one partition that a reader passed over because the
// log is damaged or missing there. Readers only do so when asked to; otherwise
// they fail at the first such place.
struct SkippedRange {
  int32_t partition = 0;
  int64_t start = 0;
  int64_t end = 0;
  std::string where;  // the file, bytes and reason, for people

  bool operator==(const SkippedRange&) const = default;
};

// Offsets [start, end) for people, who count inclusively: "offset 7",
// "offsets 7 to 9", "no offset".
std::string describe_offsets(int64_t start, int64_t end);

class RecordSource {
 public:
  virtual ~RecordSource() = default;

  // Names the log in messages: "data/events/0", "topic events on localhost:9092".
  virtual std::string name() const = 0;

  // Every partition with the offsets present when the source was opened, by
  // partition number. Never empty.
  virtual const std::vector<PartitionRange>& partitions() const = 0;

  // The next calls to next() return the records of `ranges`, in the order
  // given, each range in offset order. A range is clipped to what its partition
  // held at open; one outside partitions() is Errc::invalid_argument.
  virtual Status read(const std::vector<PartitionRange>& ranges) = 0;

  // The next record of the ranges into `out`; false once all are read.
  // `out.value` stays valid until the next call.
  virtual Result<bool> next(Record& out) = 0;

  // Moves partitions() on to what the log holds now (records appended, older
  // ones deleted, partitions added), so that a follower reads on without
  // opening a new source. Ends the read() in progress; reading on from where it
  // stopped costs no more than continuing it. False when this source cannot
  // (open a new one instead); Errc::io_error when the log cannot be asked now
  // (partitions() is then as before).
  virtual Result<bool> refresh() { return false; }

  // The ranges of the read() ranges that next() has skipped since the last
  // call, in order (a source opened to skip damage; others never skip).
  virtual std::vector<SkippedRange> take_skipped() { return {}; }
};

// `ranges` clipped to what `held` (a source's partitions()) holds, for read():
// Errc::invalid_argument ("<name>: no partition N") for a partition not in `held`.
Result<std::vector<PartitionRange>> clip_ranges(const std::vector<PartitionRange>& held,
                                                const std::vector<PartitionRange>& ranges,
                                                const std::string& name);

}  // namespace questlog::log
