#include "cli/extract.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "cli/fail.h"
#include "cli/log_path.h"
#include "extract/extract.h"
#include "extract/job.h"
#include "log/kafka/kafka_config.h"
#include "log/kafka/kafka_reader.h"

namespace questlog::cli {

void add_extract(CLI::App& app, ExtractArgs& a) {
  auto* c = app.add_subcommand(
      "extract", "Run an extract job (TOML): events from the log into Parquet tables");
  c->add_option("job", a.job, "Job file, e.g. jobs/separate_events.toml")->required();
  c->add_option("--data", a.data, "Directory of the embedded event log")->capture_default_str();
  c->add_option("--lake", a.lake, "Directory the tables are written under")->capture_default_str();
  c->add_option("-b,--kafka", a.kafka, "Kafka bootstrap brokers (instead of the embedded log)");
  c->add_option("-X", a.properties,
                "librdkafka property for --kafka, prop=value (repeatable; -X list prints them)");
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
}

int run_extract(const ExtractArgs& a) {
  if (log::kafka::show_properties_if_asked(a.properties)) return 0;
  if (!a.properties.empty() && a.kafka.empty())
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
    k.properties = a.properties;
    o.open_source = [k]() -> Result<std::unique_ptr<log::RecordSource>> {
      auto reader = log::kafka::KafkaReader::open(k);
      if (!reader.ok()) return reader.status();
      return std::unique_ptr<log::RecordSource>(std::move(reader).value());
    };
  }
  o.lake = a.lake;
  if (a.show >= 0) o.show = a.show;
  o.strict = a.strict;
  o.skip_damaged = a.skip_damaged;
  if (a.threads > 0) o.threads = a.threads;
  o.progress = ::isatty(STDERR_FILENO) == 1;
  auto report = extract::run_extract(*job, o);
  if (!report.ok()) return fail(report.status());
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    if (errno == EPIPE) return 0;  // the reader went away, as with `| head`; tables are written
    return fail(errno_status("stdout", errno));
  }
  return 0;
}

}  // namespace questlog::cli
