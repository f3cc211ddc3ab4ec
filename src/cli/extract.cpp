#include "cli/extract.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "cli/fail.h"
#include "cli/lake_args.h"
#include "cli/log_path.h"
#include "extract/extract.h"
#include "extract/job.h"
#include "io/webhdfs_uri.h"
#include "log/kafka/kafka_config.h"
#include "log/kafka/kafka_reader.h"

namespace questlog::cli {

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
}

int run_extract(const ExtractArgs& a) {
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
  auto report = extract::run_extract(*job, o);
  if (!report.ok()) return fail(report.status());
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    if (errno == EPIPE) return 0;  // the reader went away, as with `| head`; tables are written
    return fail(errno_status("stdout", errno));
  }
  return 0;
}

}  // namespace questlog::cli
