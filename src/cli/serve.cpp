#include "cli/serve.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "cli/fail.h"
#include "cli/log_path.h"
#include "log/embedded/embedded_event_log.h"
#include "log/embedded/log_writer.h"
#include "log/kafka/kafka_config.h"
#include "log/kafka/kafka_event_log.h"
#include "util/say.h"

namespace questlog::cli {

namespace {

// --durability's names: the one place they are spelled.
const std::map<std::string, log::Durability> kDurabilityNames{
    {"write", log::Durability::write},
    {"fsync", log::Durability::fsync},
};

const char* durability_name(log::Durability d) {
  for (const auto& [name, value] : kDurabilityNames)
    if (value == d) return name.c_str();
  return "?";
}

}  // namespace

void add_serve(CLI::App& app, ServeArgs& a) {
  auto* c =
      app.add_subcommand("serve", "Serve the game API; every request becomes one logged event");
  c->add_option("--listen", a.server.listen, "HOST:PORT to listen on")->capture_default_str();
  c->add_option("--routes", a.routes, "Routes file (TOML); default: the seed's game API");
  c->add_option("--data", a.data, "Directory of the embedded event log")->capture_default_str();
  c->add_option("-t,--topic", a.topic, "Topic to append events to")->capture_default_str();
  c->add_option("-b,--kafka", a.kafka, "Kafka bootstrap brokers (instead of the embedded log)");
  c->add_option("-X", a.kafka_props, "librdkafka property prop=value (with --kafka)");
  c->add_flag("--unsafe-producer", a.unsafe_producer,
              "With --kafka: accept -X settings that can lose acknowledged events "
              "(acks other than all, message.timeout.ms=0), warning instead of refusing");
  c->add_option("--durability", a.durability,
                "When a request is acknowledged: write (in the file; survives a crash of the "
                "process) or fsync (on disk; survives a crash of the machine)")
      ->transform(CLI::CheckedTransformer(kDurabilityNames).description(""))
      // Runs first (transform puts it in front): the error names the choices.
      ->transform(CLI::IsMember(kDurabilityNames).description(""))
      ->type_name("{write,fsync}")
      ->default_str(durability_name(a.durability));
  c->add_option("--threads", a.server.threads, "Event loops (0: one per core)")
      ->capture_default_str();
  c->add_option("--max-connections", a.server.max_connections, "Open connections at most")
      ->capture_default_str();
  c->add_option("--segment-bytes", a.segment_bytes, "Roll a log segment at this size")
      ->check(CLI::Range(uint64_t{4096}, uint64_t{1} << 40))
      ->capture_default_str();
  c->add_option("--max-unsynced", a.max_unsynced,
                "With fsync: events waiting for fsync at most, past it 503")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  auto ms = [](std::chrono::milliseconds& d) {
    return [&d](unsigned v) { d = std::chrono::milliseconds(v); };
  };
  c->add_option_function<unsigned>("--read-timeout-ms", ms(a.server.read_timeout),
                                   "A started request must arrive whole within this, else 408 "
                                   "[10000]");
  c->add_option_function<unsigned>("--idle-timeout-ms", ms(a.server.idle_timeout),
                                   "Close a keep-alive connection idle this long [75000]");
}

namespace {

Result<http::RouteTable> load_routes(const ServeArgs& a) {
  if (a.routes.empty()) return http::RouteTable::defaults();
  return http::RouteTable::load(a.routes);
}

// Binds, and says so when the open-file limit lowered --max-connections.
Status listen(http::Server& server) {
  Status s = server.listen();
  if (s.ok() && !server.limit_note().empty())
    say(stderr, "questlog: warning: {}\n", server.limit_note());
  return s;
}

// SIGINT/SIGTERM are taken by one thread (see serve_until_stopped), not by
// whichever is running.
sigset_t block_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return stop_signals;
}

// Serves until SIGINT/SIGTERM, then closes the log; the exit code.
int serve_until_stopped(http::Server& server, log::EventLog& event_log, sigset_t stop_signals) {
  std::thread signals([&server, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    say(stderr, "questlog: stopping ({}): finishing requests in flight\n",
        sig == SIGINT ? "SIGINT" : "SIGTERM");
    server.stop();
    sigwait(&stop_signals, &sig);
    std::fputs("questlog: second signal: exiting now (acknowledged events are in the log)\n",
               stderr);
    _exit(130);
  });
  signals.detach();

  server.run();
  Status closed = event_log.close();
  if (!closed.ok()) return fail(closed);
  std::fputs("questlog: stopped\n", stderr);
  return 0;
}

// Refuses options that belong to the other log.
Status check_log_options(const ServeArgs& a) {
  if (!a.kafka.empty()) {
    if (a.durability != log::Durability::write)
      return Status::error(Errc::invalid_argument,
                           "--durability is for the embedded log; with --kafka an event is "
                           "acknowledged once every in-sync replica has it (acks=all)");
    return Status();
  }
  if (!a.kafka_props.empty()) return Status::error(Errc::invalid_argument, "-X is for --kafka");
  if (a.unsafe_producer)
    return Status::error(Errc::invalid_argument, "--unsafe-producer is for --kafka");
  return Status();
}

// The event log serve appends to, and what the start line says of it.
struct OpenedLog {
  std::unique_ptr<log::EventLog> log;
  std::string description;  // "Kafka B, topic T" or "DIR from offset N; durability: D"
};

Result<OpenedLog> open_kafka(const ServeArgs& a) {
  log::kafka::ProducerOptions po;
  po.brokers = a.kafka;
  po.topic = a.topic;
  po.props = a.kafka_props;
  po.unsafe = a.unsafe_producer;
  auto producer = log::kafka::KafkaEventLog::open(po);
  if (!producer.ok()) return producer.status();
  return OpenedLog{std::move(producer).value(),
                   fmt::format("Kafka {}, topic {}", a.kafka, a.topic)};
}

Result<OpenedLog> open_embedded(const ServeArgs& a) {
  log::embedded::WriterOptions wo;
  wo.dir = partition_dir(a.data, a.topic);
  wo.segment_bytes = a.segment_bytes;
  // Under fsync every append waits for a sync, which is twice as fast into
  // space already on disk; under write nothing waits for one.
  if (a.durability == log::Durability::fsync)
    wo.preallocation = log::embedded::Preallocation::ahead;
  auto writer = log::embedded::LogWriter::open(wo);
  if (!writer.ok()) return writer.status();
  const auto& recovery = (*writer)->recovery();
  // Damage is loud but not fatal: every valid record is kept, and ingest goes on.
  if (!recovery.damage.empty()) say(stderr, "questlog: {}\n", recovery.damage);
  if (recovery.truncated_bytes > 0) say(stderr, "questlog: {}\n", recovery.detail);
  std::string description = fmt::format("{} from offset {}; durability: {}", wo.dir.string(),
                                        recovery.next_offset, durability_name(a.durability));
  log::embedded::EventLogOptions lo;
  lo.durability = a.durability;
  lo.max_unsynced_events = a.max_unsynced;
  return OpenedLog{std::make_unique<log::embedded::EmbeddedEventLog>(std::move(writer).value(), lo),
                   std::move(description)};
}

}  // namespace

int run_serve(const ServeArgs& a) {
  if (log::kafka::show_properties_if_asked(a.kafka_props)) return 0;
  if (Status s = check_topic(a.topic); !s.ok()) return fail(s);
  auto routes = load_routes(a);
  if (!routes.ok()) return fail(routes.status());
  if (Status s = check_log_options(a); !s.ok()) return fail(s);
  const sigset_t stop_signals = block_stop_signals();
  auto opened = a.kafka.empty() ? open_embedded(a) : open_kafka(a);
  if (!opened.ok()) return fail(opened.status());
  log::EventLog& event_log = *opened->log;

  http::Server server(a.server, std::move(routes).value(), event_log);
  if (Status s = listen(server); !s.ok()) return fail(s);
  // A normal start answers its first request from the log, not with a 503.
  const bool ready = event_log.wait_ready(3000);
  say(stderr, "questlog: serving http://{} (routes: {}; log: {}{})\n", server.local_address(),
      a.routes.empty() ? "built-in" : a.routes, opened->description,
      ready ? "" : ", not reachable yet: answering 503 until it is");
  return serve_until_stopped(server, event_log, stop_signals);
}

}  // namespace questlog::cli
