#include "cli/tail.h"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include "cli/fail.h"
#include "cli/log_path.h"
#include "cli/record_format.h"
#include "log/embedded/log_reader.h"
#include "log/kafka/kafka_config.h"
#include "log/kafka/kafka_reader.h"
#include "log/start_offset.h"
#include "util/say.h"

namespace questlog::cli {

void add_tail(CLI::App& app, TailArgs& a) {
  auto* c = app.add_subcommand("tail", "Print events as stored, one per line (like kcat -C)");
  c->add_option("--data", a.data, "Directory of the embedded event log")->capture_default_str();
  c->add_option("-t,--topic", a.topic, "Topic to read")->capture_default_str();
  c->add_option("-b,--kafka", a.kafka, "Kafka bootstrap brokers (instead of the embedded log)");
  c->add_option("-X", a.properties,
                "librdkafka property for --kafka, prop=value (repeatable; -X list prints them)");
  c->add_option("-o", a.offset,
                "Start at: beginning, end, an offset N, or -N for N before the end (per partition)")
      ->capture_default_str();
  c->add_flag("-e", a.exit_at_end, "Exit at the end of the log instead of waiting for more");
  c->add_flag("--skip-damaged", a.skip_damaged,
              "Read past damaged records and missing segments of the embedded log, naming each "
              "skipped range on stderr (without it, tail stops there with an error)");
  c->add_option("-f", a.format,
                "Output format, kcat's: %s value, %k key (the event id), %o offset, %p "
                "partition, %T timestamp ms, %t topic, %S/%K value/key bytes, \\n \\t "
                "(default: value and a newline)");
  c->add_option("-K", a.key_delimiter,
                "Print each record's key (the event id), this delimiter, then its value (kcat's)");
}

namespace {

const auto kPoll = std::chrono::milliseconds(100);
// How often a following tail asks whether the topic has new partitions.
const auto kPartitionRefresh = std::chrono::seconds(2);

// stdout, block-buffered; what a write failure means for tail.
class Output {
 public:
  // `format` null: the value and a newline.
  Output(const RecordFormat* format, std::string_view topic) : format_(format), topic_(topic) {
    static char buf[1 << 16];
    std::setvbuf(stdout, buf, _IOFBF, sizeof buf);
  }
  // False when stdout failed; see result().
  bool print(const log::Record& r) {
    if (format_ == nullptr) {
      std::fwrite(r.value.data(), 1, r.value.size(), stdout);
      std::fputc('\n', stdout);
    } else {
      line_.clear();
      format_->write(r, topic_, line_);
      std::fwrite(line_.data(), 1, line_.size(), stdout);
    }
    return !std::ferror(stdout);
  }
  bool flush() { return std::fflush(stdout) == 0; }
  // After print() or flush() failed: the exit status.
  int result() {
    if (errno == EPIPE) return 0;  // the reader went away, as with `| head`
    return fail(std::string("stdout: ") + std::strerror(errno));
  }

 private:
  const RecordFormat* format_;
  std::string_view topic_;
  std::string line_;
};

// Names the ranges `reader` skipped on stderr; adds them to `ranges` and `offsets`.
void report_skipped(log::embedded::LogReader& reader, uint64_t& ranges, int64_t& offsets) {
  for (const log::SkippedRange& r : reader.take_skipped()) {
    ++ranges;
    offsets += r.end - r.start;
    say(stderr, "questlog: skipped {}: {}\n", log::describe_offsets(r.start, r.end), r.where);
  }
}

int tail_embedded(const TailArgs& a, const log::StartOffset& spec, const RecordFormat* format) {
  const auto dir = partition_dir(a.data, a.topic);
  const log::embedded::ReaderOptions options{.skip_damaged = a.skip_damaged};
  auto opened = log::embedded::LogReader::open(dir, options);
  bool said_waiting = false;
  while (!opened.ok() && opened.status().code() == Errc::not_found && !a.exit_at_end) {
    if (!said_waiting) say(stderr, "questlog: waiting for a log to appear in {}\n", dir.string());
    said_waiting = true;
    std::this_thread::sleep_for(kPoll);
    opened = log::embedded::LogReader::open(dir, options);
  }
  if (!opened.ok()) return fail(opened.status().message());
  auto& reader = *opened.value();

  auto first = reader.start_offset();
  if (!first.ok()) return fail(first.status());
  int64_t end = 0;
  if (spec.kind == log::StartOffset::Kind::end || spec.kind == log::StartOffset::Kind::from_end) {
    auto e = reader.end_offset();
    if (!e.ok()) return fail(e.status());
    end = *e;
  }
  if (Status s = reader.seek(log::resolve(spec, *first, end)); !s.ok()) return fail(s);

  Output out(format, a.topic);
  log::Record rec;
  uint64_t skipped_ranges = 0;
  int64_t skipped_offsets = 0;
  for (;;) {
    auto more = reader.next(rec);
    if (a.skip_damaged) report_skipped(reader, skipped_ranges, skipped_offsets);
    if (!more.ok()) {
      // Every record before the damage is printed first.
      if (!out.flush()) return out.result();
      if (more.status().code() != Errc::corruption) return fail(more.status());
      return fail(fmt::format("{} (--skip-damaged reads past it)", more.status().message()));
    }
    if (*more) {
      if (!out.print(rec)) return out.result();
    } else {
      if (!out.flush()) return out.result();
      if (a.exit_at_end) {
        if (skipped_ranges > 0)
          say(stderr, "questlog: skipped {} damaged range{} ({} offset{})\n", skipped_ranges,
              skipped_ranges == 1 ? "" : "s", skipped_offsets, skipped_offsets == 1 ? "" : "s");
        return 0;
      }
      std::this_thread::sleep_for(kPoll);
    }
  }
}

int tail_kafka(const TailArgs& a, const log::StartOffset& spec, const RecordFormat* format) {
  log::kafka::KafkaReaderOptions o;
  o.brokers = a.kafka;
  o.topic = a.topic;
  o.properties = a.properties;
  auto opened = log::kafka::KafkaReader::open(o);
  bool said_waiting = false;
  while (!opened.ok() && opened.status().code() == Errc::not_found && !a.exit_at_end) {
    if (!said_waiting)
      say(stderr, "questlog: waiting for topic {} to appear on {}\n", a.topic, a.kafka);
    said_waiting = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    opened = log::kafka::KafkaReader::open(o);
  }
  if (!opened.ok()) return fail(opened.status());
  auto& reader = *opened.value();

  // -o applies to every partition, as in kcat; an offset past a partition's
  // end starts at its end.
  std::vector<log::PartitionRange> from = reader.partitions();
  for (log::PartitionRange& p : from) p.start = std::min(log::resolve(spec, p.start, p.end), p.end);
  if (Status s = reader.follow(from); !s.ok()) return fail(s);

  Output out(format, a.topic);
  log::Record rec;
  auto last_record = std::chrono::steady_clock::now();
  auto last_refresh = last_record;
  for (;;) {
    // Partitions added to the topic while we follow it are followed too.
    if (!a.exit_at_end && std::chrono::steady_clock::now() - last_refresh >= kPartitionRefresh) {
      if (int added = reader.follow_new_partitions(std::chrono::milliseconds(500)); added > 0)
        say(stderr, "questlog: following {} new partition{} of topic {}\n", added,
            added == 1 ? "" : "s", a.topic);
      last_refresh = std::chrono::steady_clock::now();
    }
    auto polled = reader.poll(rec, kPoll);
    if (!polled.ok()) return fail(polled.status());
    if (*polled == log::kafka::KafkaReader::Polled::record) {
      last_record = std::chrono::steady_clock::now();
      if (!out.print(rec)) return out.result();
      continue;
    }
    if (!out.flush()) return out.result();
    if (!a.exit_at_end) continue;
    if (*polled == log::kafka::KafkaReader::Polled::at_end) return 0;
    // With -e, the end must come: a broker gone for good ends the wait.
    if (std::chrono::steady_clock::now() - last_record > o.stall_timeout) {
      const std::string why = reader.broker_trouble();
      return fail(fmt::format("{}: nothing read for {} s before the end{}", reader.name(),
                              o.stall_timeout.count() / 1000,
                              why.empty() ? "" : fmt::format(" ({})", why)));
    }
  }
}

}  // namespace

int run_tail(const TailArgs& a) {
  if (log::kafka::show_properties_if_asked(a.properties)) return 0;
  if (!a.properties.empty() && a.kafka.empty())
    return fail("-X: librdkafka properties need --kafka");
  if (a.skip_damaged && !a.kafka.empty())
    return fail("--skip-damaged is for the embedded log (Kafka checks its own records)");
  if (Status s = check_topic(a.topic); !s.ok()) return fail(s.message());
  auto spec = log::parse_start_offset(a.offset);
  if (!spec.ok()) return fail(spec.status());
  if (!a.format.empty() && !a.key_delimiter.empty())
    return fail("-f and -K: give one (-K D is -f '%kD%s\\n')");
  std::optional<RecordFormat> format;
  if (!a.format.empty() || !a.key_delimiter.empty()) {
    std::string f = a.format;
    if (f.empty()) {  // the delimiter as written, its % doubled so it stays text
      f = "%k";
      for (char c : a.key_delimiter) f += c == '%' ? std::string("%%") : std::string(1, c);
      f += "%s\\n";
    }
    auto parsed = RecordFormat::parse(f);
    if (!parsed.ok()) return fail(parsed.status());
    format = std::move(parsed).value();
  }
  signal(SIGPIPE, SIG_IGN);
  const RecordFormat* fmt = format ? &*format : nullptr;
  return a.kafka.empty() ? tail_embedded(a, *spec, fmt) : tail_kafka(a, *spec, fmt);
}

}  // namespace questlog::cli
