// Reads a Kafka topic as kcat -C does: librdkafka's simple consumer, every
// partition assigned directly, no consumer group and no offset commits, so
// reading never changes what other readers of the topic see.
//
// Two ways to read, on one open reader, one at a time:
// - bounded (extract): RecordSource::read() then next(); the watermarks fixed
//   at open (or at the last refresh()) bound every range, and each partition
//   is read to its end before the next one starts, so the order of records is
//   the same on every run. A partition goes on fetching after its range
//   (librdkafka's queue bounds how far), so a later range that starts where
//   it stopped is read without a new request to start.
// - following (tail): follow() then poll(); partitions interleaved as their
//   records arrive, for as long as the caller polls.
// Not thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "log/record_source.h"
#include "util/status.h"

namespace questlog::log::kafka {

struct KafkaReaderOptions {
  std::string brokers;  // bootstrap.servers
  std::string topic = "events";
  std::vector<std::string> properties;  // "prop=value", applied last (kafka_config.h)
  // open() gives up when no broker has answered within this time.
  std::chrono::milliseconds metadata_timeout{10'000};
  // A bounded read gives up when a partition it still has records to read from
  // delivers nothing for this long (broker gone). Following is not bounded;
  // callers that follow to the end (tail -e) apply it themselves.
  std::chrono::milliseconds stall_timeout{30'000};
};

class KafkaReader final : public RecordSource {
 public:
  // Connects, lists the topic's partitions and queries each one's watermarks.
  // Fails with Errc::not_found when the topic does not exist, Errc::io_error
  // when no broker answers within metadata_timeout (sooner when every broker
  // refuses the connection), Errc::invalid_argument for a bad -X property.
  static Result<std::unique_ptr<KafkaReader>> open(const KafkaReaderOptions& options);

  ~KafkaReader() override;
  KafkaReader(const KafkaReader&) = delete;
  KafkaReader& operator=(const KafkaReader&) = delete;

  // "topic events on localhost:9092"
  std::string name() const override;
  const std::vector<PartitionRange>& partitions() const override;
  Status read(const std::vector<PartitionRange>& ranges) override;
  Result<bool> next(Record& out) override;
  // Queries each partition's watermarks, and every few seconds the topic's
  // partitions (added ones are listed from their start). Never false.
  Result<bool> refresh() override;

  // Starts reading each partition of `from` at its `start` (its `end` is not
  // used); what is past the high watermark arrives as it is produced.
  Status follow(const std::vector<PartitionRange>& from);

  // Asks the brokers for the topic's partitions (waiting up to `wait`) and
  // starts following, from their beginning, those added since follow(): their
  // records are all newer than the follow. Returns how many it added; a failed
  // metadata request adds none and is not an error (the next call asks again).
  int follow_new_partitions(std::chrono::milliseconds wait);

  enum class Polled {
    record,  // `out` holds one; `out.value` stays valid until the next call
    idle,    // nothing arrived within the wait
    at_end,  // every followed partition is at its end (kcat -e exits here)
  };
  // Waits up to `wait` for the next record of the followed partitions.
  Result<Polled> poll(Record& out, std::chrono::milliseconds wait);

  // Why nothing arrives, as far as librdkafka said: its latest error or
  // warning about a broker, or "" when there was none.
  std::string broker_trouble() const;

  struct Impl;

 private:
  explicit KafkaReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace questlog::log::kafka
