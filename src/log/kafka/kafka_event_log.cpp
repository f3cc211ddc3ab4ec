#include "log/kafka/kafka_event_log.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "log/kafka/kafka_config.h"
#include "log/kafka/kafka_metadata.h"

namespace questlog::log::kafka {

namespace {

// Our defaults, applied before the user's -X (see the header for why).
constexpr const char* kDefaults[][2] = {
    {"acks", "all"},
    {"enable.idempotence", "true"},
    {"linger.ms", "0"},  // the lane for lone requests; the busy lane adds kBusyLinger
    {"message.timeout.ms", "10000"},
    {"queue.buffering.max.messages", "100000"},
    {"log.connection.close", "false"},  // an idle broker connection closing is not news
};

// The busy lane: past this many events in flight, appends go to a producer that
// lingers this long (BENCHMARKS.md: under wrk -c64 it serves ~1.3x the requests).
constexpr size_t kBusyInFlight = 16;
constexpr const char* kBusyLinger = "0.2";

}  // namespace

// One append: its events' delivery reports count down `remaining`; the last
// one calls `done` and frees the batch.
struct KafkaEventLog::Batch {
  struct Slot {
    Batch* batch;
    uint32_t index;
  };

  Batch(size_t n, Done d) : done(std::move(d)), remaining(n + 1), size(n) {
    slots.reserve(n);
    for (size_t i = 0; i < n; ++i) slots.push_back(Slot{this, static_cast<uint32_t>(i)});
  }

  void fail(uint32_t i, Status s) {
    std::lock_guard lock(mu);
    if (outcome.failed.empty()) outcome.failed.assign(size, 0);
    outcome.failed[i] = 1;
    if (outcome.status.ok()) outcome.status = std::move(s);
  }

  // Called once per event and once by append itself.
  void finish_one() {
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    Done d = std::move(done);
    Outcome o = std::move(outcome);
    delete this;
    d(o);
  }

  Done done;
  std::atomic<size_t> remaining;
  const size_t size;
  std::vector<Slot> slots;
  std::mutex mu;
  Outcome outcome;
};

KafkaEventLog::KafkaEventLog(const ProducerOptions& options) : options_(options) {}

// One librdkafka producer with our defaults, the user's -X and then `extra`.
Status KafkaEventLog::add_lane(const std::vector<std::string>& extra) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Status s = set_property(conf, "bootstrap.servers", options_.brokers);
  for (const auto& d : kDefaults)
    if (s.ok()) s = set_property(conf, d[0], d[1]);
  if (s.ok()) s = apply_properties(conf, options_.props);
  if (s.ok()) s = apply_properties(conf, extra);
  if (!s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s;
  }
  if (lanes_.empty()) {  // the lanes differ only in linger: check and say it once
    ProducerCheck check = check_producer(conf, options_.unsafe);
    if (!check.refusal.ok()) {
      rd_kafka_conf_destroy(conf);
      return check.refusal;
    }
    for (const std::string& w : check.warnings)
      std::fprintf(stderr, "questlog: warning: %s\n", w.c_str());
  }
  message_timeout_ms_ = std::atoi(get_property(conf, "message.timeout.ms").c_str());
  debug_.store(debug_enabled(conf), std::memory_order_relaxed);
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaEventLog::on_delivery);
  rd_kafka_conf_set_error_cb(conf, &KafkaEventLog::on_error_cb);
  rd_kafka_conf_set_log_cb(conf, &KafkaEventLog::on_log);

  char err[512] = {};
  Lane& lane = *lanes_.emplace_back(std::make_unique<Lane>());
  lane.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (lane.rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::error(Errc::invalid_argument, std::string("kafka producer: ") + err);
  }
  lane.rkt = rd_kafka_topic_new(lane.rk, options_.topic.c_str(), nullptr);
  if (lane.rkt == nullptr)
    return Status::error(Errc::invalid_argument, "kafka topic " + options_.topic + ": " +
                                                     rd_kafka_err2str(rd_kafka_last_error()));
  lane.poller = std::thread([this, rk = lane.rk] { poll_loop(rk); });
  return {};
}

Result<std::unique_ptr<KafkaEventLog>> KafkaEventLog::open(const ProducerOptions& options) {
  std::unique_ptr<KafkaEventLog> log(new KafkaEventLog(options));
  if (Status s = log->add_lane({}); !s.ok()) return s;
  // Unless the user chose a linger, a second producer batches for the busy times.
  bool linger_set = false;
  for (const std::string& p : options.props)
    linger_set =
        linger_set || p.starts_with("linger.ms=") || p.starts_with("queue.buffering.max.ms=");
  if (!linger_set) {
    if (Status s = log->add_lane({"linger.ms=" + std::string(kBusyLinger)}); !s.ok()) return s;
  }
  log->not_ready_reason_ = "no answer from the brokers yet";
  log->readiness_ = std::thread([p = log.get()] { p->readiness_loop(); });
  return log;
}

KafkaEventLog::~KafkaEventLog() {
  (void)close();
  for (auto& lane : lanes_) {
    if (lane->rkt != nullptr) rd_kafka_topic_destroy(lane->rkt);
    if (lane->rk != nullptr) rd_kafka_destroy(lane->rk);
  }
}

void KafkaEventLog::append(std::span<const std::string_view> events, Done done) {
  if (closing_.load(std::memory_order_acquire)) {
    done(Status::error(Errc::busy, "the event log is closing"));
    return;
  }
  if (fatal_.load(std::memory_order_acquire)) {
    std::string why;
    {
      std::lock_guard lock(mu_);
      why = fatal_reason_;
    }
    done(Status::error(Errc::io_error, "Kafka producer failed for good: " + why));
    return;
  }
  if (!ready()) {
    done(Status::error(Errc::busy, "Kafka is not reachable at " + options_.brokers + " (" +
                                       not_ready_reason() + ")"));
    return;
  }
  // Few events in flight: the lane without linger, so a lone request is not held
  // back. Many: the lingering lane, whose larger batches cost Kafka and us less.
  const size_t in_flight = in_flight_.fetch_add(events.size(), std::memory_order_relaxed);
  const Lane& lane = *lanes_[lanes_.size() > 1 && in_flight >= kBusyInFlight ? 1 : 0];
  auto* batch = new Batch(events.size(), std::move(done));
  // One call enqueues the whole round of the event loop: one lock and one wakeup
  // of librdkafka's broker thread instead of one per event.
  std::vector<rd_kafka_message_t> msgs(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    msgs[i].payload = const_cast<char*>(events[i].data());
    msgs[i].len = events[i].size();
    msgs[i]._private = &batch->slots[i];
  }
  rd_kafka_produce_batch(lane.rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, msgs.data(),
                         static_cast<int>(msgs.size()));
  for (size_t i = 0; i < events.size(); ++i) {
    const rd_kafka_resp_err_t err = msgs[i].err;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      batch->fail(i, Status::error(Errc::busy, "the Kafka producer's queue is full"));
    else if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
      batch->fail(i,
                  Status::error(Errc::io_error, "the event (" + std::to_string(events[i].size()) +
                                                    " bytes) is larger than Kafka accepts"));
    else
      batch->fail(i, Status::error(Errc::busy, std::string("Kafka: ") + rd_kafka_err2str(err)));
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    batch->finish_one();
  }
  batch->finish_one();
}

void KafkaEventLog::on_log(const rd_kafka_t* rk, int level, const char* facility,
                           const char* message) {
  // Errors always; the rest when asked for with -X debug (librdkafka may log
  // before the handle exists, when there is no opaque yet).
  const auto* self = rk ? static_cast<const KafkaEventLog*>(rd_kafka_opaque(rk)) : nullptr;
  if (level <= 3 || (self != nullptr && self->debug_.load(std::memory_order_relaxed)))
    print_log_line(facility, message);
}

void KafkaEventLog::on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* self) {
  auto* slot = static_cast<Batch::Slot*>(msg->_private);
  auto* log = static_cast<KafkaEventLog*>(self);
  log->in_flight_.fetch_sub(1, std::memory_order_relaxed);
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::string why;
    if (msg->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
      why = "Kafka did not confirm the event within " + std::to_string(log->message_timeout_ms_) +
            " ms";
    else
      why = std::string("Kafka did not take the event: ") + rd_kafka_err2str(msg->err);
    if (rd_kafka_message_status(msg) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED)
      why += " (it may be in the topic)";
    const Errc code =
        msg->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? Errc::io_error : Errc::busy;
    // Is Kafka still there? Until the readiness thread knows, appends go on.
    if (code == Errc::busy) log->check_now_.store(true, std::memory_order_relaxed);
    slot->batch->fail(slot->index, Status::error(code, why));
  }
  slot->batch->finish_one();
}

void KafkaEventLog::on_error_cb(rd_kafka_t* rk, int err, const char* reason, void* self) {
  static_cast<KafkaEventLog*>(self)->on_error(rk, err, reason);
}

void KafkaEventLog::on_error(rd_kafka_t* rk, int err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512] = {};
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    {
      std::lock_guard lock(mu_);
      fatal_reason_ = buf;
    }
    fatal_.store(true, std::memory_order_release);
    std::fprintf(stderr, "questlog: kafka: fatal producer error: %s; answering 503\n", buf);
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    // Also raised when idle connections close; the readiness thread checks with
    // a metadata request before anything is refused.
    std::lock_guard lock(mu_);
    check_now_.store(true, std::memory_order_relaxed);
    not_ready_reason_ = reason;
    cv_.notify_all();
  }
}

void KafkaEventLog::poll_loop(rd_kafka_t* rk) {
  while (!stop_polling_.load(std::memory_order_acquire)) rd_kafka_poll(rk, 100);
  rd_kafka_poll(rk, 0);
}

// Asks for the topic's metadata: true when the topic has partitions, else the reason.
bool KafkaEventLog::probe(std::string& why) {
  const TopicMetadata md = topic_metadata(lanes_[0]->rk, lanes_[0]->rkt, 2000);
  if (!md.topic_error && md.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    why = md.err == RD_KAFKA_RESP_ERR__TRANSPORT || md.err == RD_KAFKA_RESP_ERR__TIMED_OUT
              ? "no broker answered"
              : rd_kafka_err2str(md.err);
    return false;
  }
  if (md.partitions.empty()) {
    why = "topic " + options_.topic + ": " + rd_kafka_err2str(md.err);
    return false;
  }
  partitions_ = static_cast<int>(md.partitions.size());
  return true;
}

void KafkaEventLog::readiness_loop() {
  std::unique_lock lock(mu_);
  while (!closing_.load(std::memory_order_acquire)) {
    const bool was_ready = ready();
    if (!was_ready || check_now_.exchange(false, std::memory_order_relaxed)) {
      lock.unlock();
      std::string why;
      const bool ok = probe(why);
      lock.lock();
      if (ok) {
        ready_.store(true, std::memory_order_release);
        if (said_not_ready_)
          std::fprintf(stderr, "questlog: kafka: %s reachable; topic %s (%d partitions)\n",
                       options_.brokers.c_str(), options_.topic.c_str(), partitions_);
        said_not_ready_ = false;
        failed_probes_ = 0;
        cv_.notify_all();
      } else {
        ready_.store(false, std::memory_order_release);
        not_ready_reason_ = why;
        ++failed_probes_;
        // The first probe of a new topic fails while the broker creates it.
        if (!said_not_ready_ && (was_ready || failed_probes_ >= 2)) {
          std::fprintf(stderr,
                       "questlog: kafka: %s not reachable (%s): answering 503 until it is\n",
                       options_.brokers.c_str(), why.c_str());
          said_not_ready_ = true;
        }
      }
    }
    cv_.wait_for(lock, std::chrono::milliseconds(options_.readiness_poll_ms),
                 [&] { return closing_.load() || check_now_.load(std::memory_order_relaxed); });
  }
}

std::string KafkaEventLog::not_ready_reason() const {
  std::lock_guard lock(mu_);
  return not_ready_reason_;
}

bool KafkaEventLog::wait_ready(int timeout_ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return ready(); });
  return ready();
}

Status KafkaEventLog::close() {
  if (closing_.exchange(true)) return {};
  {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  }
  if (readiness_.joinable()) readiness_.join();
  // Every event handed to librdkafka gets its delivery report (the pollers are
  // still serving them) within message.timeout.ms, give or take; past that (or
  // 30 s if the timeout is unbounded), what is left is purged, which reports it
  // as failed. Nothing in flight (the usual case: serve answers every request
  // before it closes the log): no wait, even with every broker down.
  auto drained = [&](int ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (in_flight_.load(std::memory_order_acquire) > 0) {
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  };
  Status result;
  if (!drained(message_timeout_ms_ > 0 ? message_timeout_ms_ + 2000 : 30000)) {
    for (auto& lane : lanes_)
      if (lane->rk != nullptr)
        rd_kafka_purge(lane->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    drained(5000);
    result =
        Status::error(Errc::io_error, "kafka: events still undelivered at exit were answered 503");
  }
  stop_polling_.store(true, std::memory_order_release);
  for (auto& lane : lanes_)
    if (lane->poller.joinable()) lane->poller.join();
  return result;
}

}  // namespace questlog::log::kafka
