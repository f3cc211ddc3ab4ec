#include "cli/extract.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "cli/fail.h"
#include "cli/lake_args.h"
#include "cli/log_path.h"
#include "extract/extract.h"
#include "extract/follow.h"
#include "extract/job.h"
#include "io/webhdfs_uri.h"
#include "log/kafka/kafka_config.h"
#include "log/kafka/kafka_reader.h"

namespace questlog::cli {
namespace {

// SIGTERM and SIGINT, blocked in every thread (so that threads started later
// inherit it) and taken with sigtimedwait between micro-batches.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

bool wait_for_stop(std::chrono::milliseconds d) {
  const sigset_t set = stop_signals();
  timespec ts{static_cast<time_t>(d.count() / 1000),
              static_cast<long>(d.count() % 1000) * 1'000'000};
  const auto until = std::chrono::steady_clock::now() + d;
  for (;;) {
    if (sigtimedwait(&set, nullptr, &ts) > 0) return true;
    if (errno != EINTR) return false;  // EAGAIN: the time is up
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    ts = {static_cast<time_t>(left.count() / 1'000'000'000),
          static_cast<long>(left.count() % 1'000'000'000)};
  }
}

}  // namespace

void add_extract(CLI::App& app, ExtractArgs& a) {
  auto* c = app.add_subcommand(
      "extract", "Run an extract job (TOML): events from the log into Parquet tables");
  c->add_option("job", a.job, "Job file, e.g. jobs/separate_events.toml")->required();
  c->add_option("--data", a.data, "Directory of the embedded event log")->capture_default_str();
  c->add_option("--lake", a.lake, kLakeHelp)->capture_default_str();
  c->add_option("-b,--kafka", a.kafka, "Kafka bootstrap brokers (instead of the embedded log)");
  c->add_option("-X", a.properties,
                "prop=value: a librdkafka property for --kafka (-X list prints them), or "
                "user.name=NAME, the HDFS user of a webhdfs:// lake (default: $HADOOP_USER_NAME, "
                "else the local user); repeatable");
  c->add_option("--show", a.show, "Rows every table prints, like show(N) (overrides the job)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--threads", a.threads, "Threads parsing records (0: one per core)")
      ->capture_default_str();
  c->add_flag("--strict", a.strict,
              "Fail on the first record that is not a JSON object instead of keeping it in "
              "_rejected");
  c->add_flag("--skip-damaged", a.skip_damaged,
              "Read past damaged records and missing segments of the log, and offsets an "
              "incremental table needs that the log no longer holds, naming each range on "
              "stderr (incremental tables count them as read); without it the job fails there "
              "and writes no table");
  auto* follow =
      c->add_flag("--follow", a.follow,
                  "Keep reading as the log grows and commit a micro-batch to every table each "
                  "--trigger, until SIGTERM or Ctrl-C (which finish the micro-batch in flight); "
                  "tables: Delta (append, incremental) or plain incremental");
  c->add_option("--trigger", a.trigger, "With --follow: how often to commit (500ms, 1s, 2m)")
      ->capture_default_str()
      ->needs(follow);
  c->add_option("--dedup-window", a.dedup_window,
                "With --follow: how long event ids are kept to drop a duplicate (a resend or a "
                "client's retry); memory is about 15-30 bytes an event within it")
      ->capture_default_str()
      ->needs(follow);
}

int run_extract(const ExtractArgs& a) {
  if (a.follow) {
    // Taken between micro-batches (wait_for_stop), from the start.
    const sigset_t set = stop_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }
  if (log::kafka::show_properties_if_asked(a.properties)) return 0;
  std::vector<std::string> kafka_properties = a.properties;
  std::string hdfs_user;
  if (Status s = take_webhdfs_user(kafka_properties, hdfs_user); !s.ok()) return fail(s);
  if (!hdfs_user.empty() && !io::is_uri(a.lake))
    return fail("-X user.name: is the HDFS user of a webhdfs:// lake; --lake " + a.lake +
                " is a directory");
  if (!kafka_properties.empty() && a.kafka.empty())
    return fail("-X: librdkafka properties need --kafka");
  auto job = extract::load_job(a.job);
  if (!job.ok()) return fail(job.status());
  if (Status s = check_topic(job->topic); !s.ok())
    return fail(Status::error(Errc::invalid_argument, a.job + ": " + s.message()));
  signal(SIGPIPE, SIG_IGN);

  extract::ExtractOptions o;
  o.log_dir = partition_dir(a.data, job->topic);
  if (!a.kafka.empty()) {
    log::kafka::KafkaReaderOptions k;
    k.brokers = a.kafka;
    k.topic = job->topic;
    k.properties = kafka_properties;
    o.open_source = [k]() -> Result<std::unique_ptr<log::RecordSource>> {
      auto reader = log::kafka::KafkaReader::open(k);
      if (!reader.ok()) return reader.status();
      return std::unique_ptr<log::RecordSource>(std::move(reader).value());
    };
  }
  o.lake = a.lake;
  o.lake_options.user = hdfs_user;
  o.lake_options.note = [](const std::string& line) {
    std::fprintf(stderr, "questlog: %s\n", line.c_str());
  };
  if (a.show >= 0) o.show = a.show;
  o.strict = a.strict;
  o.skip_damaged = a.skip_damaged;
  if (a.threads > 0) o.threads = a.threads;
  o.progress = ::isatty(STDERR_FILENO) == 1;
  if (a.follow) {
    extract::FollowOptions f;
    auto trigger = extract::parse_duration(a.trigger);
    if (!trigger.ok()) return fail("--trigger: " + trigger.status().message());
    f.trigger = *trigger;
    auto window = extract::parse_duration(a.dedup_window);
    if (!window.ok()) return fail("--dedup-window: " + window.status().message());
    f.dedup_window = *window;
    f.status_line = o.progress;
    f.wait_for_stop = wait_for_stop;
    auto followed = extract::run_follow(*job, o, f);
    if (!followed.ok()) return fail(followed.status());
    std::fprintf(stderr,
                 "questlog: stopped following: read %llu records in %llu micro-batches, %llu "
                 "table commits; event ids held for --dedup-window %s: %.1f MiB\n",
                 static_cast<unsigned long long>(followed->records),
                 static_cast<unsigned long long>(followed->batches),
                 static_cast<unsigned long long>(followed->commits), a.dedup_window.c_str(),
                 static_cast<double>(followed->id_memory_bytes) / (1 << 20));
    return 0;
  }
  auto report = extract::run_extract(*job, o);
  if (!report.ok()) return fail(report.status());
  extract::print_report(*report, stderr);
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    if (errno == EPIPE) return 0;  // the reader went away, as with `| head`; tables are written
    return fail(errno_status("stdout", errno));
  }
  return 0;
}

}  // namespace questlog::cli
