// Kafka behind serve's EventLog interface: a librdkafka producer configured for
// no loss. An event's append is done only when its delivery report is in: ok
// once the partition leader has it and every in-sync replica (acks=all), else
// the reason. Nothing is acknowledged that Kafka did not take.
//
// Defaults (each can be overridden with -X, as kcat does):
//   acks=all, enable.idempotence=true   no loss, no duplicates from retries
//   linger.ms=0                         an event goes out as soon as a connection to the
//                                       leader is free; while requests are in flight
//                                       the next ones batch up anyway. Any linger
//                                       costs a sequential client about 1 ms per
//                                       request (ab -c1: ~650 req/s with 0.2 ms,
//                                       ~2,800 with 0; BENCHMARKS.md has the sweep)
//   message.timeout.ms=10000            a request waits at most this long for Kafka,
//                                       then 503 (librdkafka's default is 5 minutes)
//   queue.buffering.max.messages=100000 the bounded local queue; when it is full,
//                                       503 at once with Retry-After
//
// Readiness: until the topic's metadata is in (broker reachable, topic there or
// auto-created), appends fail at once with Errc::busy ("Kafka ... is not
// reachable"): serve answers 503 without queueing. A background thread asks for
// metadata until it answers, and again whenever librdkafka reports every broker
// down or a delivery fails; if that probe fails, the log is not ready again.
//
// Two producers ("lanes"): appends go to one with linger.ms=0 while fewer than
// 16 events are in flight, so a lone request is never held back, and to one with
// linger.ms=0.2 past that, whose larger batches cost Kafka and us less (under
// wrk -c64 about 1.3x the requests; BENCHMARKS.md). A client's next request
// follows its previous answer, so its events stay in order whichever lane takes
// them. Setting linger.ms with -X means one producer with that linger.
//
// Every append is answered within message.timeout.ms of its arrival, whatever
// Kafka does: events librdkafka has not reported by then (it may still be
// settling requests sent to a broker that vanished) are answered 503 by our own
// deadline. After a delivery fails or misses the deadline, a breaker answers
// 503 at once ("Kafka is failing deliveries") and lets one append through a
// second as a trial; the first successful delivery closes it.
//
// An event that timed out may still have reached Kafka (librdkafka calls that
// "possibly persisted"); it is answered 503 like any other failure, so a client
// retry can duplicate it, but no 200 is ever given for an event Kafka lacks.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "log/event_log.h"
#include "util/status.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_topic_s rd_kafka_topic_t;
typedef struct rd_kafka_message_s rd_kafka_message_t;

namespace questlog::log::kafka {

struct ProducerOptions {
  std::string brokers;             // bootstrap.servers
  std::string topic = "events";    // the seed's topic
  std::vector<std::string> props;  // -X prop=value, applied after the defaults
  bool unsafe = false;             // accept -X settings that break the promise (see check_producer)
  unsigned readiness_poll_ms = 250;  // how often metadata is asked for while not ready
};

class KafkaEventLog final : public EventLog {
 public:
  // Fails only on a bad configuration; an unreachable broker is not an error
  // here (see ready()).
  static Result<std::unique_ptr<KafkaEventLog>> open(const ProducerOptions& options);
  ~KafkaEventLog() override;

  using EventLog::append;
  void append(std::span<const std::string_view> events, std::span<const std::string_view> keys,
              Done done) override;
  // Waits for every event in flight to be delivered or to time out.
  Status close() override;

  // True once the topic's metadata has been read and no all-brokers-down error
  // has been reported since.
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // Why it is not ready (the last metadata or broker error), for messages.
  std::string not_ready_reason() const;
  // Blocks up to `timeout_ms` for ready(); returns ready().
  bool wait_ready(int timeout_ms) override;

  struct Batch;
  struct Answer;

 private:
  // One librdkafka producer and the thread serving its delivery reports.
  struct Lane {
    rd_kafka_t* rk = nullptr;
    rd_kafka_topic_t* rkt = nullptr;
    std::thread poller;
  };

  explicit KafkaEventLog(const ProducerOptions& options);
  Status add_lane(const std::vector<std::string>& extra_props);
  void poll_loop(rd_kafka_t* rk);
  void readiness_loop();
  bool probe(std::string& why);
  void on_error(rd_kafka_t* rk, int err, const char* reason);
  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* self);
  static void on_error_cb(rd_kafka_t* rk, int err, const char* reason, void* self);
  static void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* message);
  // Gives a batch's answer, if there is one now.
  void answer(std::optional<Answer> a);
  // Answers appends that outlived the deadline; frees answered ones.
  void sweep_loop();
  // The breaker: open after a failed delivery, closed by a successful one.
  void open_breaker(const std::string& why);
  void close_breaker();
  // While open: true when this append may go through as the trial; `why` is
  // the failure that opened it.
  bool take_trial(std::string& why);

  const ProducerOptions options_;
  // [0]: linger.ms=0, for lone requests; [1] (unless -X sets linger.ms): the busy lane.
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::atomic<size_t> in_flight_{0};  // events handed to librdkafka, not yet reported

  // Every append is answered within this (message.timeout.ms; 0: no limit),
  // even while librdkafka is still settling its events.
  std::chrono::milliseconds deadline_{0};
  std::atomic<bool> debug_{false};  // -X debug=...: every librdkafka log line goes to stderr

  std::atomic<bool> ready_{false};
  std::atomic<bool> closing_{false};
  std::atomic<bool> fatal_{false};  // librdkafka raised a fatal error: the producer is done
  std::atomic<bool> stop_polling_{false};
  std::atomic<bool> check_now_{false};  // a broker error or failed delivery: probe now
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string not_ready_reason_;  // guarded by mu_
  std::string fatal_reason_;      // guarded by mu_
  bool said_not_ready_ = false;   // guarded by mu_: one line on stderr per outage
  int partitions_ = 0;            // readiness thread only
  int failed_probes_ = 0;         // readiness thread only: in a row
  std::thread readiness_;         // asks for metadata while not ready

  // Appends not yet past the sweeper, in the order made (so by deadline).
  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  std::deque<Batch*> due_;      // guarded by sweep_mu_
  bool stop_sweeping_ = false;  // guarded by sweep_mu_
  std::thread sweeper_;

  // The breaker: after a delivery fails, appends are answered 503 at once,
  // except one trial every second, until a delivery succeeds.
  std::atomic<bool> breaker_open_{false};
  std::mutex breaker_mu_;
  std::string breaker_reason_;                        // guarded by breaker_mu_
  std::chrono::steady_clock::time_point next_trial_;  // guarded by breaker_mu_
  bool trial_in_flight_ = false;                      // guarded by breaker_mu_
};

}  // namespace questlog::log::kafka
