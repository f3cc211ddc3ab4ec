#include "log/kafka/kafka_reader.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "log/kafka/kafka_config.h"
#include "log/kafka/kafka_metadata.h"

namespace questlog::log::kafka {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kBatch = 1024;  // messages taken from librdkafka per call
// refresh() lists the topic's partitions at most this often (partitions are
// added rarely), waiting up to kListWait for the answer.
constexpr auto kListPartitionsEvery = std::chrono::seconds(5);
constexpr auto kListWait = std::chrono::milliseconds(2000);

// What librdkafka reported on its own threads (log and error callbacks): kept
// for our one-line errors instead of printed.
struct Diagnostics {
  std::mutex mu;
  std::string last_error;  // the latest reason a broker could not be used
  bool all_brokers_down = false;
  std::atomic<bool> debug{false};  // -X debug=...: librdkafka's log lines go to stderr

  void error(rd_kafka_resp_err_t err, const char* reason) {
    std::lock_guard lock(mu);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
      all_brokers_down = true;
      if (last_error.empty()) last_error = reason;
    } else {
      last_error = reason;
    }
  }
  std::string reason() {
    std::lock_guard lock(mu);
    return last_error;
  }
  bool down() {
    std::lock_guard lock(mu);
    return all_brokers_down;
  }
};

void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  static_cast<Diagnostics*>(opaque)->error(static_cast<rd_kafka_resp_err_t>(err), reason);
}

void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* buf) {
  // librdkafka may log before the handle exists.
  if (rk == nullptr) return;
  auto* diagnostics = static_cast<Diagnostics*>(rd_kafka_opaque(rk));
  // With -X debug every line is printed, kcat-style; errors and warnings are
  // also kept for our one-line error.
  if (diagnostics->debug.load(std::memory_order_relaxed)) print_log_line(facility, buf);
  if (level <= 4) diagnostics->error(RD_KAFKA_RESP_ERR_NO_ERROR, buf);
}

std::optional<int64_t> parse_int(const std::string& text) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n <= 0) return std::nullopt;
  return n;
}

std::string millis(milliseconds ms) {
  if (ms.count() % 1000 == 0) return fmt::format("{} s", ms.count() / 1000);
  return fmt::format("{} ms", ms.count());
}

}  // namespace

struct KafkaReader::Impl {
  KafkaReaderOptions options;
  Diagnostics diagnostics;
  rd_kafka_t* rk = nullptr;
  rd_kafka_topic_t* rkt = nullptr;
  rd_kafka_queue_t* queue = nullptr;
  std::vector<PartitionRange> partitions;

  std::vector<int32_t> started;  // partitions consuming into `queue`
  std::vector<rd_kafka_message_t*> batch;
  size_t batch_pos = 0;

  // Bounded reads: each partition fetches into a queue of its own and goes on
  // fetching between reads, so a read that starts where the last one stopped
  // (a follower's next micro-batch) finds its records already there.
  struct Fetching {
    int32_t partition = 0;
    int64_t next = 0;  // the offset the next record taken from it may have, at least
    std::vector<rd_kafka_message_t*> batch;
    size_t pos = 0;
    rd_kafka_queue_t* queue = nullptr;  // librdkafka's queue of it, to see how full it is
    bool near_bound = false;            // its queue came near queue_bound() since the last wake()
  };
  // librdkafka's bounds on a partition's queue (queued.min.messages,
  // queued.max.messages.kbytes).
  int64_t queued_min_messages = 100000;
  int64_t queued_max_bytes = int64_t{65536} << 10;
  std::vector<Fetching> fetching;
  std::vector<PartitionRange> ranges;
  size_t next_range = 0;
  Fetching* current = nullptr;  // of the range being read; null between ranges
  int64_t current_end = 0;
  // The range goes on where an earlier one stopped: an end of partition that
  // librdkafka queued before this read is no end of it.
  bool continued = false;
  Clock::time_point last_progress;  // when the range began or messages last came
  Clock::time_point last_metadata;  // when refresh() last listed the partitions

  // Following.
  std::vector<int32_t> followed;
  std::vector<bool> at_end;  // by index in `followed`
  size_t ends = 0;           // how many are at their end

  ~Impl() {
    clear_batch();
    stop_all();
    stop_fetching();
    if (queue) rd_kafka_queue_destroy(queue);
    if (rkt) rd_kafka_topic_destroy(rkt);
    if (rk) rd_kafka_destroy(rk);
  }

  std::string name() const { return fmt::format("topic {} on {}", options.topic, options.brokers); }
  std::string where(int32_t partition) const {
    return fmt::format("topic {} partition {}", options.topic, partition);
  }
  // " (<librdkafka's latest complaint>)" or nothing.
  std::string because() {
    std::string r = diagnostics.reason();
    return r.empty() ? "" : fmt::format(" ({})", r);
  }

  void clear_batch() {
    for (size_t i = 0; i < batch.size(); ++i) rd_kafka_message_destroy(batch[i]);
    batch.clear();
    batch_pos = 0;
  }
  Status start(int32_t partition, int64_t offset) {
    if (rd_kafka_consume_start_queue(rkt, partition, offset, queue) != 0)
      return Status::error(Errc::io_error,
                           fmt::format("{}: cannot start reading: {}", where(partition),
                                       rd_kafka_err2str(rd_kafka_last_error())));
    started.push_back(partition);
    return {};
  }
  void stop_all() {
    for (int32_t p : started) rd_kafka_consume_stop(rkt, p);
    started.clear();
  }
  static void clear(Fetching& f) {
    for (rd_kafka_message_t* m : f.batch) rd_kafka_message_destroy(m);
    f.batch.clear();
    f.pos = 0;
  }
  void stop(Fetching& f) {
    clear(f);
    if (f.queue) rd_kafka_queue_destroy(f.queue);
    f.queue = nullptr;
    rd_kafka_consume_stop(rkt, f.partition);
  }
  void stop_fetching() {
    for (Fetching& f : fetching) stop(f);
    fetching.clear();
    current = nullptr;
  }
  // A partition whose queue reached librdkafka's bound is fetched again only
  // when its broker thread next wakes, up to a second later (librdkafka before
  // 2.2 has no fetch.queue.backoff.ms), by when a catch-up has long emptied the
  // queue and waits. A request to the broker wakes that thread: a watermark
  // query, once the queue has come near its bound and fallen to a quarter of it.
  void wake_when_drained(Fetching& f, size_t taken_bytes, size_t taken) {
    if (!f.queue || taken == 0) return;
    const int64_t each = std::max<int64_t>(1, static_cast<int64_t>(taken_bytes / taken));
    const int64_t bound = std::min(queued_min_messages, queued_max_bytes / each);
    const int64_t queued = static_cast<int64_t>(rd_kafka_queue_length(f.queue));
    if (queued >= bound - bound / 4) {
      f.near_bound = true;
    } else if (f.near_bound && queued <= bound / 4) {
      f.near_bound = false;
      int64_t low = 0, high = 0;
      rd_kafka_query_watermark_offsets(rk, options.topic.c_str(), f.partition, &low, &high,
                                       static_cast<int>(options.metadata_timeout.count()));
    }
  }
  // `partition` fetching from `offset`: as it is when it goes on from there
  // (`goes_on`), else started (again) there.
  Result<Fetching*> fetch_from(int32_t partition, int64_t offset, bool& goes_on) {
    auto it = std::find_if(fetching.begin(), fetching.end(),
                           [&](const Fetching& f) { return f.partition == partition; });
    goes_on = it != fetching.end() && it->next == offset;
    if (goes_on) return &*it;
    if (it != fetching.end()) {
      stop(*it);
      fetching.erase(it);
    }
    if (rd_kafka_consume_start(rkt, partition, offset) != 0)
      return Status::error(Errc::io_error,
                           fmt::format("{}: cannot start reading: {}", where(partition),
                                       rd_kafka_err2str(rd_kafka_last_error())));
    fetching.push_back({partition, offset, {}, 0, nullptr, false});
    fetching.back().queue = rd_kafka_queue_get_partition(rk, options.topic.c_str(), partition);
    return &fetching.back();
  }
  // The next message of `f`, or null when none arrives within `wait`. What it
  // returns stays valid until the next call for `f`.
  rd_kafka_message_t* take_from(Fetching& f, milliseconds wait) {
    if (f.pos == f.batch.size()) {
      clear(f);
      f.batch.resize(kBatch);
      // What is there, without waiting; else the first to arrive.
      ssize_t n = rd_kafka_consume_batch(rkt, f.partition, 0, f.batch.data(), kBatch);
      if (n <= 0)
        n = rd_kafka_consume_batch(rkt, f.partition, static_cast<int>(wait.count()), f.batch.data(),
                                   1);
      f.batch.resize(n > 0 ? static_cast<size_t>(n) : 0);
      rd_kafka_poll(rk, 0);  // serve error callbacks
      if (f.batch.empty()) return nullptr;
      last_progress = Clock::now();
      size_t bytes = 0;
      for (const rd_kafka_message_t* m : f.batch) bytes += m->len + m->key_len;
      wake_when_drained(f, bytes, f.batch.size());
    }
    return f.batch[f.pos++];
  }

  // The next message from the queue, or null when none arrives within `wait`.
  rd_kafka_message_t* take(milliseconds wait) {
    if (batch_pos == batch.size()) {
      clear_batch();
      batch.resize(kBatch);
      // What is there, without waiting; else the first to arrive (a wait for
      // a whole batch would hold records back until it filled or timed out).
      ssize_t n = rd_kafka_consume_batch_queue(queue, 0, batch.data(), kBatch);
      if (n <= 0)
        n = rd_kafka_consume_batch_queue(queue, static_cast<int>(wait.count()), batch.data(), 1);
      batch.resize(n > 0 ? static_cast<size_t>(n) : 0);
      rd_kafka_poll(rk, 0);  // serve error callbacks
      if (batch.empty()) return nullptr;
    }
    return batch[batch_pos++];
  }
  Status message_error(const rd_kafka_message_t* m) {
    // auto.offset.reset=error: the offset to fetch is gone.
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
      return Status::error(Errc::io_error,
                           fmt::format("{}: offset {} is no longer in the topic (deleted by its "
                                       "retention?) before it was read",
                                       where(m->partition), m->offset));
    return Status::error(Errc::io_error,
                         fmt::format("{}: {}", where(m->partition), rd_kafka_message_errstr(m)));
  }
  static void fill(const rd_kafka_message_t* m, Record& out) {
    out.offset = m->offset;
    out.partition = m->partition;
    rd_kafka_timestamp_type_t type;
    const int64_t ts = rd_kafka_message_timestamp(m, &type);
    out.timestamp_ms = ts >= 0 ? ts : 0;
    out.value = {static_cast<const char*>(m->payload), m->len};
    out.key = m->key ? std::string_view(static_cast<const char*>(m->key), m->key_len)
                     : std::string_view();
  }

  Status connect();
  Result<bool> next(Record& out);
};

Status KafkaReader::Impl::connect() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_opaque(conf, &diagnostics);
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_conf_set_log_cb(conf, on_log);
  Status s = set_property(conf, "bootstrap.servers", options.brokers);
  if (s.ok()) s = set_property(conf, "client.id", "questlog");
  if (s.ok()) s = set_property(conf, "enable.partition.eof", "true");
  // An offset the topic no longer holds (retention deleted it before it was
  // read) is an error to report, not a jump to the end of the partition.
  if (s.ok()) s = set_property(conf, "auto.offset.reset", "error");
  // Fetch sizes stay librdkafka's (1 MiB a partition): larger ones measured no
  // faster on a loopback broker, and 32 MiB ones slower.
  if (s.ok()) s = apply_properties(conf, options.properties);
  if (!s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s;
  }
  diagnostics.debug.store(debug_enabled(conf), std::memory_order_relaxed);
  if (auto n = parse_int(get_property(conf, "queued.min.messages"))) queued_min_messages = *n;
  if (auto n = parse_int(get_property(conf, "queued.max.messages.kbytes")))
    queued_max_bytes = *n << 10;
  char err[512] = {};
  rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);  // owns conf on success
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return Status::error(Errc::invalid_argument, fmt::format("--kafka {}: {}", options.brokers,
                                                             static_cast<const char*>(err)));
  }
  rkt = rd_kafka_topic_new(rk, options.topic.c_str(), nullptr);
  queue = rd_kafka_queue_new(rk);
  if (!rkt || !queue)
    return Status::error(Errc::io_error,
                         fmt::format("{}: {}", name(), rd_kafka_err2str(rd_kafka_last_error())));

  // The topic's partitions, retried in short slices so that a refused
  // connection ends the wait early.
  const auto deadline = Clock::now() + options.metadata_timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (diagnostics.down())
      return Status::error(Errc::io_error, fmt::format("--kafka {}: no broker reachable{}",
                                                       options.brokers, because()));
    if (left.count() <= 0)
      return Status::error(
          Errc::io_error, fmt::format("--kafka {}: no broker answered within {}{}", options.brokers,
                                      millis(options.metadata_timeout), because()));
    const TopicMetadata md =
        topic_metadata(rk, rkt, static_cast<int>(std::min(left, milliseconds(500)).count()));
    rd_kafka_poll(rk, 0);
    if (md.topic_error) {
      if (!md.partitions.empty()) {
        for (int32_t id : md.partitions) partitions.push_back({id, 0, 0});
        break;
      }
      if (md.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        return Status::error(Errc::not_found, fmt::format("topic {} does not exist on {}",
                                                          options.topic, options.brokers));
      if (md.err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        return Status::error(Errc::io_error,
                             fmt::format("{}: {}", name(), rd_kafka_err2str(md.err)));
      // Leader not available yet (a topic being created): ask again.
      std::this_thread::sleep_for(milliseconds(100));
    } else if (md.err != RD_KAFKA_RESP_ERR__TIMED_OUT && md.err != RD_KAFKA_RESP_ERR__TRANSPORT) {
      return Status::error(Errc::io_error, fmt::format("--kafka {}: {}{}", options.brokers,
                                                       rd_kafka_err2str(md.err), because()));
    }
  }

  last_metadata = Clock::now();
  for (PartitionRange& p : partitions) {
    const auto left = std::max(milliseconds(1),
                               std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
        rk, options.topic.c_str(), p.partition, &p.start, &p.end, static_cast<int>(left.count()));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
      return Status::error(Errc::io_error,
                           fmt::format("{}: cannot read its offsets: {}{}", where(p.partition),
                                       rd_kafka_err2str(e), because()));
  }
  return {};
}

Result<bool> KafkaReader::Impl::next(Record& out) {
  for (;;) {
    if (!current) {
      if (next_range == ranges.size()) return false;
      const PartitionRange r = ranges[next_range++];
      if (r.start >= r.end) continue;
      auto f = fetch_from(r.partition, r.start, continued);
      if (!f.ok()) return f.status();
      current = *f;
      current_end = r.end;
      last_progress = Clock::now();
    }
    Fetching& f = *current;
    rd_kafka_message_t* m = take_from(f, milliseconds(100));
    if (!m) {
      if (Clock::now() - last_progress > options.stall_timeout)
        return Status::error(
            Errc::io_error,
            fmt::format("{}: nothing read for {} at offset {}{}", where(f.partition),
                        millis(options.stall_timeout), f.next, because()));
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // At the partition's end (or the last stable offset): nothing more of the
      // range to read, unless the end was reached before this read asked for more.
      if (continued && m->offset < current_end) continue;
      f.next = std::max(f.next, m->offset);
      current = nullptr;
      continue;
    }
    if (m->err) return message_error(m);
    if (m->offset < f.next) continue;  // left over from an earlier start
    if (m->offset >= current_end) {
      --f.pos;  // the next range of this partition starts with it
      f.next = current_end;
      current = nullptr;
      continue;
    }
    f.next = m->offset + 1;
    fill(m, out);
    if (f.next >= current_end) current = nullptr;  // `m` stays until the next take_from(f)
    return true;
  }
}

KafkaReader::KafkaReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaReader::~KafkaReader() = default;

Result<std::unique_ptr<KafkaReader>> KafkaReader::open(const KafkaReaderOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (Status s = impl->connect(); !s.ok()) return s;
  return std::unique_ptr<KafkaReader>(new KafkaReader(std::move(impl)));
}

std::string KafkaReader::name() const { return impl_->name(); }

std::string KafkaReader::broker_trouble() const { return impl_->diagnostics.reason(); }

const std::vector<PartitionRange>& KafkaReader::partitions() const { return impl_->partitions; }

Status KafkaReader::read(const std::vector<PartitionRange>& ranges) {
  Impl& m = *impl_;
  m.clear_batch();
  m.stop_all();
  auto clipped = clip_ranges(m.partitions, ranges, m.name());
  if (!clipped.ok()) return clipped.status();
  m.ranges = std::move(clipped).value();
  m.next_range = 0;
  m.current = nullptr;
  return {};
}

Result<bool> KafkaReader::refresh() {
  Impl& m = *impl_;
  m.ranges.clear();
  m.next_range = 0;
  m.current = nullptr;
  std::vector<PartitionRange> now = m.partitions;
  if (Clock::now() - m.last_metadata >= kListPartitionsEvery) {
    // A failed request adds none; the next refresh asks again.
    const TopicMetadata md = topic_metadata(
        m.rk, m.rkt, static_cast<int>(std::min(m.options.metadata_timeout, kListWait).count()));
    if (!md.partitions.empty()) {
      m.last_metadata = Clock::now();
      for (int32_t id : md.partitions) {
        if (std::none_of(now.begin(), now.end(),
                         [&](const PartitionRange& p) { return p.partition == id; }))
          now.push_back({id, 0, 0});
      }
      std::sort(now.begin(), now.end(), [](const PartitionRange& a, const PartitionRange& b) {
        return a.partition < b.partition;
      });
    }
  }
  for (PartitionRange& p : now) {
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
        m.rk, m.options.topic.c_str(), p.partition, &p.start, &p.end,
        static_cast<int>(m.options.metadata_timeout.count()));
    rd_kafka_poll(m.rk, 0);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
      return Status::error(Errc::io_error,
                           fmt::format("{}: cannot read its offsets: {}{}", m.where(p.partition),
                                       rd_kafka_err2str(e), m.because()));
  }
  m.partitions = std::move(now);
  return true;
}

Result<bool> KafkaReader::next(Record& out) { return impl_->next(out); }

Status KafkaReader::follow(const std::vector<PartitionRange>& from) {
  Impl& m = *impl_;
  m.clear_batch();
  m.stop_all();
  m.stop_fetching();
  m.followed.clear();
  for (const PartitionRange& r : from) {
    if (Status s = m.start(r.partition, r.start); !s.ok()) return s;
    m.followed.push_back(r.partition);
  }
  m.at_end.assign(m.followed.size(), false);
  m.ends = 0;
  return {};
}

int KafkaReader::follow_new_partitions(std::chrono::milliseconds wait) {
  Impl& m = *impl_;
  const TopicMetadata md = topic_metadata(m.rk, m.rkt, static_cast<int>(wait.count()));
  int added = 0;
  for (int32_t id : md.partitions) {
    if (std::find(m.followed.begin(), m.followed.end(), id) != m.followed.end()) continue;
    if (!m.start(id, RD_KAFKA_OFFSET_BEGINNING).ok()) continue;  // asked again next time
    m.followed.push_back(id);
    m.at_end.push_back(false);
    m.partitions.push_back({id, 0, 0});
    ++added;
  }
  return added;
}

Result<KafkaReader::Polled> KafkaReader::poll(Record& out, std::chrono::milliseconds wait) {
  Impl& m = *impl_;
  const auto deadline = Clock::now() + wait;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    rd_kafka_message_t* msg = m.take(std::max(left, milliseconds(0)));
    if (!msg) return Polled::idle;
    auto it = std::find(m.followed.begin(), m.followed.end(), msg->partition);
    if (it == m.followed.end()) continue;
    const size_t i = static_cast<size_t>(it - m.followed.begin());
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (!m.at_end[i]) {
        m.at_end[i] = true;
        if (++m.ends == m.followed.size()) return Polled::at_end;
      }
      continue;
    }
    if (msg->err) return m.message_error(msg);
    if (m.at_end[i]) {
      m.at_end[i] = false;
      --m.ends;
    }
    Impl::fill(msg, out);
    return Polled::record;
  }
}

}  // namespace questlog::log::kafka
