#include "extract/follow.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "extract/extract_phases.h"
#include "log/embedded/embedded_source.h"
#include "log/record_source.h"
#include "util/say.h"

namespace questlog::extract {
namespace {

using Clock = std::chrono::steady_clock;
using namespace phases;

// A Delta table that got no rows for this long while its offsets moved gets a
// commit of them alone.
constexpr auto kOffsetsAloneEvery = std::chrono::minutes(1);

std::string wall_clock(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The live status line of a follower on a terminal.
class StatusLine {
 public:
  StatusLine(bool on, std::FILE* err) : on_(on), err_(err) {}

  // After a micro-batch that began at `began` and read `records` (lag: what
  // was left to read then, and the age of its oldest record).
  void update(Clock::time_point began, uint64_t records, int64_t lag_records, double lag_seconds) {
    // Since the micro-batch before (the first: since this one began).
    const double secs =
        std::chrono::duration<double>(last_began_ ? began - *last_began_ : Clock::now() - began)
            .count();
    if (secs > 0) rate_ = static_cast<double>(records) / secs;
    last_began_ = began;
    if (!on_) return;
    std::string last = last_commit_.empty() ? "none yet" : last_commit_;
    say(err_,
        "\rquestlog: following: {:.0f} records/s, lag {} records ({:.1f} s), last commit "
        "{}\x1b[K",
        rate_, lag_records, lag_seconds, last);
    std::fflush(err_);
    shown_ = true;
  }
  void committed(const std::string& what) { last_commit_ = what; }
  // Puts the cursor on a line of its own before other output.
  void clear() {
    if (shown_) std::fputs("\r\x1b[K", err_);
    shown_ = false;
  }

 private:
  bool on_;
  std::FILE* err_;
  std::optional<Clock::time_point> last_began_;
  double rate_ = 0;
  std::string last_commit_;
  bool shown_ = false;
};

// Fills `ids` with the ids of the records a window of time before where each
// partition's range starts (what earlier runs committed), so that a retry
// whose first copy went into a table before this follower started is still
// dropped. The window's first offset is found by bisecting on timestamps
// (ingest times grow with offsets, near enough). Returns how many records it
// read; leaves `source` to be read() again.
Result<int64_t> seed_ids(log::RecordSource& source, const Pass& pass, int64_t window_ms,
                         SeenIds& ids) {
  int64_t seeded = 0;
  log::Record rec;
  for (size_t i = 0; i < pass.ranges.size(); ++i) {
    const log::PartitionRange& r = pass.ranges[i];
    const int64_t held_start = source.partitions()[i].start;
    if (r.start <= held_start) continue;
    // The timestamp of the record at `offset`; nullopt when there is none.
    auto timestamp_at = [&](int64_t offset) -> Result<std::optional<int64_t>> {
      if (Status s = source.read({{r.partition, offset, offset + 1}}); !s.ok()) return s;
      auto more = source.next(rec);
      if (!more.ok()) return more.status();
      if (!*more) return std::optional<int64_t>();
      return std::optional<int64_t>(rec.timestamp_ms);
    };
    auto newest = timestamp_at(r.start - 1);
    if (!newest.ok()) return newest.status();
    if (!*newest) continue;
    int64_t lo = held_start, hi = r.start - 1;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      auto ts = timestamp_at(mid);
      if (!ts.ok()) return ts.status();
      if (!*ts || **ts < **newest - window_ms)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (Status s = source.read({{r.partition, lo, r.start}}); !s.ok()) return s;
    for (;;) {
      auto more = source.next(rec);
      if (!more.ok()) return more.status();
      if (!*more) break;
      ++seeded;
      if (!rec.key.empty()) ids.insert(rec.partition, rec.key, rec.timestamp_ms, 0);
    }
  }
  return seeded;
}

// 500ms, 5s, 2m, 1h: as --trigger takes it.
std::string describe(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  const std::string unit = text.substr(digits);
  const std::string bad = fmt::format("\"{}\" is not a duration (500ms, 1s, 2m, 1h)", text);
  if (digits == 0 || digits > 9) return Status::error(Errc::invalid_argument, bad);
  const int64_t n = std::stoll(text.substr(0, digits));
  int64_t ms = 0;
  if (unit == "ms")
    ms = n;
  else if (unit == "s")
    ms = n * 1000;
  else if (unit == "m")
    ms = n * 60'000;
  else if (unit == "h")
    ms = n * 3'600'000;
  else
    return Status::error(Errc::invalid_argument, bad);
  if (ms <= 0)
    return Status::error(Errc::invalid_argument, fmt::format("{}: it must be above 0", bad));
  return std::chrono::milliseconds(ms);
}

Status check_followable(const Job& job) {
  if (job.ending.kind == OffsetSpec::Kind::at)
    return Status::error(Errc::invalid_argument,
                         fmt::format("{}: ending_offsets = {}: --follow reads on as the log grows "
                                     "(remove ending_offsets to follow)",
                                     job.source, job.ending.offset));
  for (const TableSpec& t : job.tables) {
    if (t.path.empty())
      return Status::error(Errc::invalid_argument,
                           fmt::format("{}: table {} has no path: --follow writes tables and "
                                       "prints none (run the job without --follow to print it)",
                                       job.source, t.name));
    if (t.mode == Mode::overwrite)
      return Status::error(
          Errc::invalid_argument,
          fmt::format("{}: table {}: mode = \"overwrite\" cannot be followed (every micro-batch "
                      "would replace the table); use mode = \"append\" with format = \"delta\", "
                      "or mode = \"incremental\"",
                      job.source, t.name));
    if (t.mode == Mode::append && t.format == TableFormat::parquet)
      return Status::error(
          Errc::invalid_argument,
          fmt::format("{}: table {}: a plain Parquet table in mode = \"append\" cannot be "
                      "followed exactly once (a crash after a publish would publish its rows "
                      "again); use format = \"delta\", or mode = \"incremental\"",
                      job.source, t.name));
  }
  return {};
}

Result<FollowReport> run_follow(Job& job, const ExtractOptions& options,
                                const FollowOptions& follow) {
  if (Status s = check_followable(job); !s.ok()) return s;
  ExtractOptions o = options;
  o.follow = true;
  auto open_source = [&]() -> Result<std::unique_ptr<log::RecordSource>> {
    if (o.open_source) return o.open_source();
    return log::embedded::open_source(o.log_dir, {.skip_damaged = o.skip_damaged});
  };

  Opened opened;
  if (Status s = open_lake(o, opened); !s.ok()) return s;
  // One source for as long as it works (a Kafka consumer keeps its connection
  // and goes on fetching between micro-batches); a new one after it failed.
  std::unique_ptr<log::RecordSource> source;
  bool just_opened = false;  // no refresh() needed before the next micro-batch
  std::string source_name;
  for (bool said_waiting = false;;) {
    // A log that is not there yet (no serve has run, a topic not yet made) is
    // waited for, as tail waits; other failures to open it end the follow.
    auto first = open_source();
    if (first.ok()) {
      if (Status s = check_partitions(job, **first, true); !s.ok()) return s;
      source = std::move(first).value();
      just_opened = true;
      source_name = source->name();
      break;
    }
    if (first.status().code() != Errc::not_found) return first.status();
    if (!said_waiting)
      say(o.err, "questlog: waiting for the log to appear ({})\n", first.status().message());
    said_waiting = true;
    if (follow.wait_for_stop(follow.trigger)) return FollowReport();
  }
  if (Status s = open_tables(job, o, opened); !s.ok()) return s;
  say(o.err,
      "questlog: following {} into {} {}, a micro-batch every {}; stop with "
      "Ctrl-C or SIGTERM\n",
      source_name, opened.tables.size(), opened.tables.size() == 1 ? "table" : "tables",
      describe(follow.trigger));
  std::fflush(o.err);

  FollowReport report;
  SeenIds ids(follow.dedup_window.count());
  std::map<int32_t, int64_t> position;  // per partition: read up to here
  bool have_position = false;
  bool ids_seeded = false;
  std::vector<Clock::time_point> last_commit(opened.tables.size(), Clock::now());
  StatusLine status(follow.status_line, o.err);
  std::string source_trouble;  // said once until the log opens again
  size_t partitions = 0;       // the source had at the last micro-batch
  Clock::time_point next = Clock::now();
  // Brings `source` to what the log holds now: refreshed, or opened again
  // after a failure. False when the log cannot be reached now (said once until
  // it can again; the next trigger tries again).
  auto source_now = [&]() -> Result<bool> {
    Status trouble;
    if (just_opened) {
      just_opened = false;
    } else if (source) {
      auto refreshed = source->refresh();
      if (!refreshed.ok()) {
        trouble = refreshed.status();
        source.reset();
      } else if (!*refreshed) {
        source.reset();  // this kind of source sees more by being opened again
      }
    }
    if (!source && trouble.ok()) {
      auto again = open_source();
      if (again.ok())
        source = std::move(again).value();
      else
        trouble = again.status();
    }
    if (trouble.ok()) {
      source_trouble.clear();
      return true;
    }
    if (trouble.code() != Errc::io_error) return trouble;
    if (trouble.message() != source_trouble) {
      status.clear();
      say(o.err, "questlog: {}; trying again every trigger\n", trouble.message());
      source_trouble = trouble.message();
    }
    return false;
  };
  // Records the log no longer holds past where this follower read (a Kafka
  // topic's retention deleted them first): refused as a run refuses a table
  // whose committed offsets the log no longer holds, or with skip_damaged
  // said and gone past (plan_pass starts at the log's start).
  auto check_nothing_deleted = [&]() -> Status {
    for (const log::PartitionRange& held : source->partitions()) {
      auto at = position.find(held.partition);
      if (at == position.end() || at->second >= held.start) continue;
      const std::string gone = log::describe_offsets(at->second, held.start);
      if (!o.skip_damaged)
        return Status::error(
            Errc::invalid_argument,
            fmt::format("{}, partition {}, now starts at offset {} (older records deleted by its "
                        "retention?): {} never reached the tables; --skip-damaged goes on "
                        "without them",
                        source->name(), held.partition, held.start, gone));
      status.clear();
      say(o.err,
          "questlog: skipped {}: {}, partition {}, now starts at offset {} (older records "
          "deleted by its retention?)\n",
          gone, source->name(), held.partition, held.start);
    }
    return {};
  };
  // One micro-batch: what the log holds now past what was read, committed.
  auto micro_batch = [&]() -> Status {
    const auto began = Clock::now();
    next = began + follow.trigger;

    auto reachable = source_now();
    if (!reachable.ok()) return reachable.status();
    if (!*reachable) return {};
    if (have_position && source->partitions().size() != partitions) {
      // New partitions (Kafka): they are read from their start by plan_pass.
      status.clear();
      say(o.err, "questlog: {} now has {} partitions\n", source->name(),
          source->partitions().size());
      if (Status s = check_partitions(job, *source, true); !s.ok()) return s;
    }
    partitions = source->partitions().size();
    if (have_position) {
      if (Status s = check_nothing_deleted(); !s.ok()) return s;
    }
    Pass pass;
    if (Status s = plan_pass(job, o, *source, opened, have_position ? &position : nullptr, pass);
        !s.ok())
      return s;
    if (!ids_seeded) {
      ids_seeded = true;
      // The ids of the window before where the tables are: a restart forgets none.
      auto seeded = seed_ids(*source, pass, follow.dedup_window.count(), ids);
      if (!seeded.ok()) {
        say(o.err,
            "questlog: --dedup-window: could not read the ids of the records before "
            "offset {} ({}); a retry of an event from before it is not dropped\n",
            pass.ranges[0].start, seeded.status().message());
      }
      if (Status s = source->read(pass.ranges); !s.ok()) return s;
    }
    int64_t lag_records = 0;
    for (const log::PartitionRange& r : pass.ranges) lag_records += r.end - r.start;
    if (lag_records == 0) {  // idle: nothing to write
      status.update(began, 0, 0, 0);
      return {};
    }
    for (size_t i = 0; i < opened.tables.size(); ++i)
      opened.tables[i].commit_offsets_alone = began - last_commit[i] >= kOffsetsAloneEvery;

    Scanned scanned;
    if (Status s = scan(job, o, *source, opened, pass, ids, true, scanned); !s.ok()) return s;
    status.clear();
    if (Status s = stage(job, o, opened, pass, scanned); !s.ok()) return s;
    if (Status s = publish(opened); !s.ok()) return s;
    ++report.batches;
    report.records += scanned.records + scanned.duplicates;
    report.duplicates += scanned.duplicates;
    for (size_t i = 0; i < pass.ranges.size(); ++i)
      position[pass.ranges[i].partition] = scanned.read_end[i];
    have_position = true;
    if (scanned.full) next = began;  // more to read: at once

    const double seconds = std::chrono::duration<double>(Clock::now() - began).count();
    ExtractReport batch = report_of(opened, pass, scanned, seconds);
    const int64_t wall = now_ms();
    for (size_t i = 0; i < opened.tables.size(); ++i) {
      const TableRun& t = opened.tables[i];
      if (!t.staged) continue;
      ++report.commits;
      last_commit[i] = began;
      status.committed(fmt::format("{} ({}{})", wall_clock(wall), t.name,
                                   t.version >= 0 ? fmt::format(" version {}", t.version) : ""));
      if (!follow.status_line) say(o.err, "{}\n", table_line(batch.tables[i]));
      if (std::string note = checkpoint_note(batch.tables[i]); !note.empty())
        say(o.err, "{}\n", note);
    }
    if (scanned.duplicates > 0 && !follow.status_line)
      say(o.err, "questlog: dropped {} duplicate record{} (same event id)\n", scanned.duplicates,
          scanned.duplicates == 1 ? "" : "s");
    if (scanned.rejected > 0)
      say(o.err, "questlog: {} record{} rejected ({} {}) -> {}\n", scanned.rejected,
          scanned.rejected == 1 ? "" : "s", scanned.rejected == 1 ? "at" : "the first at",
          scanned.first_reject, batch.rejected_path);
    const double lag_seconds =
        scanned.first_timestamp_ms >= 0
            ? std::max(0.0, static_cast<double>(wall - scanned.first_timestamp_ms) / 1000.0)
            : 0.0;
    status.update(began, scanned.records + scanned.duplicates, lag_records, lag_seconds);
    return {};
  };
  // A stop request is taken between micro-batches; one last micro-batch then
  // commits what the log holds at that moment.
  for (bool stop = false; !stop;) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now());
    stop = follow.wait_for_stop(std::max(wait, std::chrono::milliseconds(0)));
    if (Status s = micro_batch(); !s.ok()) return s;
  }
  status.clear();
  report.id_memory_bytes = ids.memory_bytes();
  close_tables(opened);
  return report;
}

}  // namespace questlog::extract
