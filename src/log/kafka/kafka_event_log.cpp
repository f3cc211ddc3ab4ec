#include "log/kafka/kafka_event_log.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "log/kafka/kafka_config.h"
#include "log/kafka/kafka_metadata.h"
#include "util/say.h"

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
    // Keys (event ids) hash to partitions as Java clients hash them, so a retry
    // with the same Idempotency-Key lands in the partition of its first copy
    // whichever client wrote it.
    {"partitioner", "murmur2_random"},
};

// The busy lane: past this many events in flight, appends go to a producer that
// lingers this long (BENCHMARKS.md: under wrk -c64 it serves ~1.3x the requests).
constexpr size_t kBusyInFlight = 16;
constexpr const char* kBusyLinger = "0.2";

// While the breaker is open, one request is let through this often to find out
// whether Kafka takes events again.
constexpr std::chrono::milliseconds kTrialEvery{1000};
// How often the sweeper looks for appends past their deadline.
constexpr std::chrono::milliseconds kSweepEvery{50};

}  // namespace

using Clock = std::chrono::steady_clock;

// A batch's one answer, given outside its lock.
struct KafkaEventLog::Answer {
  Done done;
  Outcome outcome;
  bool trial;
};

// One append. It is answered once: when every event's delivery report is in
// (and append() has handed them all over), or at its deadline, whichever comes
// first; events not reported by then are answered 503. It is freed when
// librdkafka, append() and the deadline sweeper have all let go of it.
struct KafkaEventLog::Batch {
  struct Slot {
    Batch* batch;
    uint32_t index;
  };

  Batch(size_t n, Done d, Clock::time_point due_at, bool is_trial)
      : done(std::move(d)),
        refs(n + 2),
        left(n + 1),
        size(n),
        due(due_at),
        trial(is_trial),
        reported(n, 0) {
    slots.reserve(n);
    for (size_t i = 0; i < n; ++i) slots.push_back(Slot{this, static_cast<uint32_t>(i)});
  }

  // Event `i` is settled: delivered (ok) or not (why). Returns the answer to
  // give, if this completes the batch.
  std::optional<Answer> settle(uint32_t i, Status s) {
    std::lock_guard lock(mu);
    reported[i] = 1;
    if (!s.ok()) fail_locked(i, std::move(s));
    return count_down_locked();
  }
  // append() has handed every event over.
  std::optional<Answer> handed_over() {
    std::lock_guard lock(mu);
    return count_down_locked();
  }
  // The deadline passed: every event not reported yet fails with `why`.
  std::optional<Answer> expire(const Status& why) {
    std::lock_guard lock(mu);
    if (answered) return std::nullopt;
    for (uint32_t i = 0; i < size; ++i)
      if (!reported[i]) fail_locked(i, why);
    return answer_locked();
  }
  bool is_answered() {
    std::lock_guard lock(mu);
    return answered;
  }
  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  Done done;
  std::atomic<size_t> refs;  // librdkafka's reports, append(), the sweeper
  size_t left;               // guarded by mu: reports to come, plus append()'s
  const size_t size;
  const Clock::time_point due;
  const bool trial;  // let through while the breaker is open
  std::vector<Slot> slots;
  std::mutex mu;
  std::vector<uint8_t> reported;  // guarded by mu
  bool answered = false;          // guarded by mu
  Outcome outcome;                // guarded by mu

 private:
  void fail_locked(uint32_t i, Status s) {
    if (outcome.failed.empty()) outcome.failed.assign(size, 0);
    outcome.failed[i] = 1;
    if (outcome.status.ok()) outcome.status = std::move(s);
  }
  std::optional<Answer> count_down_locked() {
    if (--left > 0 || answered) return std::nullopt;
    return answer_locked();
  }
  std::optional<Answer> answer_locked() {
    answered = true;
    return Answer{std::move(done), std::move(outcome), trial};
  }
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
    for (const std::string& w : check.warnings) say(stderr, "questlog: warning: {}\n", w);
  }
  deadline_ =
      std::chrono::milliseconds(std::atoi(get_property(conf, "message.timeout.ms").c_str()));
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
    return Status::error(
        Errc::invalid_argument,
        fmt::format("kafka topic {}: {}", options_.topic, rd_kafka_err2str(rd_kafka_last_error())));
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
    if (Status s = log->add_lane({fmt::format("linger.ms={}", kBusyLinger)}); !s.ok()) return s;
  }
  log->not_ready_reason_ = "no answer from the brokers yet";
  log->readiness_ = std::thread([p = log.get()] { p->readiness_loop(); });
  log->sweeper_ = std::thread([p = log.get()] { p->sweep_loop(); });
  return log;
}

KafkaEventLog::~KafkaEventLog() {
  (void)close();
  for (auto& lane : lanes_) {
    if (lane->rkt != nullptr) rd_kafka_topic_destroy(lane->rkt);
    if (lane->rk != nullptr) rd_kafka_destroy(lane->rk);
  }
}

void KafkaEventLog::append(std::span<const std::string_view> events,
                           std::span<const std::string_view> keys, Done done) {
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
    done(Status::error(Errc::io_error, fmt::format("Kafka producer failed for good: {}", why)));
    return;
  }
  if (!ready()) {
    done(Status::error(Errc::busy, fmt::format("Kafka is not reachable at {} ({})",
                                               options_.brokers, not_ready_reason())));
    return;
  }
  bool trial = false;
  if (breaker_open_.load(std::memory_order_acquire)) {
    std::string why;
    if (!take_trial(why)) {
      done(Status::error(
          Errc::busy,
          fmt::format("Kafka is failing deliveries ({}); answering 503 until one succeeds", why)));
      return;
    }
    trial = true;
  }
  // Few events in flight: the lane without linger, so a lone request is not held
  // back. Many: the lingering lane, whose larger batches cost Kafka and us less.
  const size_t in_flight = in_flight_.fetch_add(events.size(), std::memory_order_relaxed);
  const Lane& lane = *lanes_[lanes_.size() > 1 && in_flight >= kBusyInFlight ? 1 : 0];
  const auto due = deadline_.count() > 0 ? Clock::now() + deadline_ : Clock::time_point::max();
  auto* batch = new Batch(events.size(), std::move(done), due, trial);
  {
    std::lock_guard lock(sweep_mu_);
    due_.push_back(batch);
  }
  // One call enqueues the whole round of the event loop: one lock and one wakeup
  // of librdkafka's broker thread instead of one per event.
  std::vector<rd_kafka_message_t> msgs(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    msgs[i].payload = const_cast<char*>(events[i].data());
    msgs[i].len = events[i].size();
    if (!keys.empty() && !keys[i].empty()) {  // librdkafka copies keys always
      msgs[i].key = const_cast<char*>(keys[i].data());
      msgs[i].key_len = keys[i].size();
    }
    msgs[i]._private = &batch->slots[i];
  }
  rd_kafka_produce_batch(lane.rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, msgs.data(),
                         static_cast<int>(msgs.size()));
  for (size_t i = 0; i < events.size(); ++i) {
    const rd_kafka_resp_err_t err = msgs[i].err;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    Status why;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      why = Status::error(Errc::busy, "the Kafka producer's queue is full");
    else if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
      why = Status::error(
          Errc::io_error,
          fmt::format("the event ({} bytes) is larger than Kafka accepts", events[i].size()));
    else
      why = Status::error(Errc::busy, fmt::format("Kafka: {}", rd_kafka_err2str(err)));
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    answer(batch->settle(static_cast<uint32_t>(i), std::move(why)));
    batch->release();
  }
  answer(batch->handed_over());
  batch->release();
}

bool KafkaEventLog::take_trial(std::string& why) {
  std::lock_guard lock(breaker_mu_);
  why = breaker_reason_;
  if (trial_in_flight_ || Clock::now() < next_trial_) return false;
  trial_in_flight_ = true;
  return true;
}

void KafkaEventLog::open_breaker(const std::string& why) {
  std::lock_guard lock(breaker_mu_);
  next_trial_ = Clock::now() + kTrialEvery;
  breaker_reason_ = why;
  if (!breaker_open_.exchange(true, std::memory_order_acq_rel))
    say(stderr,
        "questlog: kafka: a delivery failed ({}): answering 503 at once, letting one "
        "request through every {} ms until one is delivered\n",
        why, kTrialEvery.count());
}

void KafkaEventLog::close_breaker() {
  if (!breaker_open_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(breaker_mu_);
  if (breaker_open_.exchange(false, std::memory_order_acq_rel))
    std::fprintf(stderr, "questlog: kafka: deliveries succeed again\n");
}

void KafkaEventLog::answer(std::optional<Answer> a) {
  if (!a) return;
  if (a->trial) {
    std::lock_guard lock(breaker_mu_);
    trial_in_flight_ = false;
  }
  a->done(a->outcome);
}

void KafkaEventLog::sweep_loop() {
  std::unique_lock lock(sweep_mu_);
  for (;;) {
    const bool closing = stop_sweeping_;
    const auto now = Clock::now();
    std::vector<Batch*> expired, finished;
    while (!due_.empty()) {
      Batch* b = due_.front();
      if (b->is_answered())
        finished.push_back(b);
      else if (closing || now >= b->due)
        expired.push_back(b);
      else
        break;
      due_.pop_front();
    }
    lock.unlock();
    for (Batch* b : finished) b->release();
    if (!expired.empty()) {
      const Status why = Status::error(
          Errc::busy, fmt::format("Kafka did not confirm the event within {} ms (it may still be "
                                  "written)",
                                  deadline_.count()));
      open_breaker(why.message());
      check_now_.store(true, std::memory_order_relaxed);
      for (Batch* b : expired) {
        answer(b->expire(why));
        b->release();
      }
    }
    lock.lock();
    if (closing && due_.empty()) return;
    sweep_cv_.wait_for(lock, kSweepEvery, [&] { return stop_sweeping_; });
  }
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
  Status result;
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::string why;
    if (msg->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
      why = fmt::format("Kafka did not confirm the event within {} ms", log->deadline_.count());
    else
      why = fmt::format("Kafka did not take the event: {}", rd_kafka_err2str(msg->err));
    if (rd_kafka_message_status(msg) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED)
      why += " (it may be in the topic)";
    const Errc code =
        msg->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? Errc::io_error : Errc::busy;
    if (code == Errc::busy) {
      // Is Kafka still there? The readiness thread asks; meanwhile the breaker
      // answers new requests at once.
      log->check_now_.store(true, std::memory_order_relaxed);
      log->open_breaker(why);
    }
    result = Status::error(code, why);
  } else {
    log->close_breaker();
  }
  log->answer(slot->batch->settle(slot->index, std::move(result)));
  slot->batch->release();
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
    say(stderr, "questlog: kafka: fatal producer error: {}; answering 503\n",
        static_cast<const char*>(buf));
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
    why = fmt::format("topic {}: {}", options_.topic, rd_kafka_err2str(md.err));
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
          say(stderr, "questlog: kafka: {} reachable; topic {} ({} partitions)\n", options_.brokers,
              options_.topic, partitions_);
        said_not_ready_ = false;
        failed_probes_ = 0;
        cv_.notify_all();
      } else {
        ready_.store(false, std::memory_order_release);
        not_ready_reason_ = why;
        ++failed_probes_;
        // The first probe of a new topic fails while the broker creates it.
        if (!said_not_ready_ && (was_ready || failed_probes_ >= 2)) {
          say(stderr, "questlog: kafka: {} not reachable ({}): answering 503 until it is\n",
              options_.brokers, why);
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
  if (!drained(deadline_.count() > 0 ? static_cast<int>(deadline_.count()) + 2000 : 30000)) {
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
  {
    std::lock_guard lock(sweep_mu_);
    stop_sweeping_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  return result;
}

}  // namespace questlog::log::kafka
