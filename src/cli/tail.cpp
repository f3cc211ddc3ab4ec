#include "cli/tail.h"

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "cli/fail.h"
#include "cli/log_path.h"
#include "log/embedded/log_reader.h"

namespace questlog::cli {

void add_tail(CLI::App& app, TailArgs& a) {
  auto* c = app.add_subcommand("tail", "Print events as stored, one per line (like kcat -C)");
  c->add_option("--data", a.data, "Directory of the embedded event log")->capture_default_str();
  c->add_option("-t,--topic", a.topic, "Topic to read")->capture_default_str();
  c->add_option("-b,--kafka", a.kafka, "Kafka bootstrap brokers (instead of the embedded log)");
  c->add_option("-o", a.offset, "Start at: beginning, end, an offset N, or -N for N before the end")
      ->capture_default_str();
  c->add_flag("-e", a.exit_at_end, "Exit at the end of the log instead of waiting for more");
}

namespace {

// kcat's -o: beginning | end | N | -N.
Result<int64_t> start_offset(log::embedded::LogReader& reader, const std::string& spec) {
  auto bad = [&] {
    return Status::error(Errc::invalid_argument,
                         "-o " + spec + ": expected beginning, end, an offset N or -N");
  };
  if (spec == "beginning") return reader.start_offset();
  if (spec == "end") return reader.end_offset();
  int64_t n = 0;
  try {
    size_t used = 0;
    n = std::stoll(spec, &used);
    if (used != spec.size()) return bad();
  } catch (const std::exception&) {
    return bad();
  }
  auto first = reader.start_offset();
  if (!first.ok()) return first;
  if (n >= 0) return std::max(n, *first);
  auto end = reader.end_offset();
  if (!end.ok()) return end;
  return std::max(*end + n, *first);
}

}  // namespace

int run_tail(const TailArgs& a) {
  if (!a.kafka.empty()) return fail("--kafka: reading from Kafka is not built yet");
  if (Status s = check_topic(a.topic); !s.ok()) return fail(s.message());
  signal(SIGPIPE, SIG_IGN);
  const auto dir = partition_dir(a.data, a.topic);
  const auto poll = std::chrono::milliseconds(100);

  auto opened = log::embedded::LogReader::open(dir);
  bool said_waiting = false;
  while (!opened.ok() && opened.status().code() == Errc::not_found && !a.exit_at_end) {
    if (!said_waiting)
      std::fprintf(stderr, "questlog: waiting for a log to appear in %s\n", dir.c_str());
    said_waiting = true;
    std::this_thread::sleep_for(poll);
    opened = log::embedded::LogReader::open(dir);
  }
  if (!opened.ok()) return fail(opened.status().message());
  auto& reader = *opened.value();

  auto from = start_offset(reader, a.offset);
  if (!from.ok()) return fail(from.status().message());
  if (Status s = reader.seek(*from); !s.ok()) return fail(s.message());

  static char out_buf[1 << 16];
  std::setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
  log::Record rec;
  for (;;) {
    auto more = reader.next(rec);
    if (!more.ok()) return fail(more.status().message());
    if (*more) {
      std::fwrite(rec.value.data(), 1, rec.value.size(), stdout);
      std::fputc('\n', stdout);
      if (!std::ferror(stdout)) continue;
    } else {
      if (std::fflush(stdout) == 0) {
        if (a.exit_at_end) return 0;
        std::this_thread::sleep_for(poll);
        continue;
      }
    }
    if (errno == EPIPE) return 0;  // the reader went away, as with `| head`
    return fail(std::string("stdout: ") + std::strerror(errno));
  }
}

}  // namespace questlog::cli
