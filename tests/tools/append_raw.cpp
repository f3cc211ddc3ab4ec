// append_raw: appends records to an embedded log exactly as given, for tests
// that need records `questlog serve` would never write (not JSON, not objects)
// or many events quickly.
//
//   append_raw DATA_DIR [TOPIC] < lines
//     appends each stdin line (without its '\n') as one record; a line may hold
//     any bytes but '\n'. Prints the first and next offset: "0 12".
//   append_raw --seed N DATA_DIR [TOPIC]
//     appends N events shaped like the seed's ab session (default, sword and
//     knife purchases from two hosts), in batches of 4096.
//   --segment-bytes B (before the other arguments) rolls segments at B bytes
//     instead of serve's default 16 MiB, for tests that need many segments.
//   --keyed (first) gives each record a UUIDv7 key, as serve does (for
//     measuring extract's de-duplication).
//
// Every record of one run is stamped with the current time. Exit status 1 with
// one line on stderr on failure.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "event/event_id.h"
#include "log/embedded/log_writer.h"
#include "util/clock.h"

namespace emb = questlog::log::embedded;

namespace {

constexpr const char* kUsage =
    "usage: append_raw [--keyed] [--segment-bytes B] [--seed N] DATA_DIR [TOPIC] < lines";

int fail(const std::string& what) {
  std::fprintf(stderr, "append_raw: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  long long seed = -1;
  long long segment_bytes = 0;
  int arg = 1;
  if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf("%s\n", kUsage);
    return 0;
  }
  bool keyed = false;
  if (argc > arg && std::strcmp(argv[arg], "--keyed") == 0) {
    keyed = true;
    ++arg;
  }
  if (argc > arg + 1 && std::strcmp(argv[arg], "--segment-bytes") == 0) {
    segment_bytes = std::atoll(argv[arg + 1]);
    arg += 2;
  }
  if (argc > arg + 1 && std::strcmp(argv[arg], "--seed") == 0) {
    seed = std::atoll(argv[arg + 1]);
    arg += 2;
  }
  if (argc - arg < 1 || argc - arg > 2 || argv[arg][0] == '-') return fail(kUsage);
  std::string data = argv[arg];
  std::string topic = argc - arg == 2 ? argv[arg + 1] : "events";

  emb::WriterOptions options;
  options.dir = std::filesystem::path(data) / topic / "0";
  if (segment_bytes > 0) options.segment_bytes = static_cast<uint64_t>(segment_bytes);
  auto writer = emb::LogWriter::open(options);
  if (!writer.ok()) return fail(writer.status().message());
  const int64_t first = (*writer)->next_offset();
  const int64_t now = questlog::now_ms();

  std::vector<std::string> owned;
  std::vector<std::string_view> batch;
  questlog::event::UuidV7Generator ids;
  std::vector<std::string> key_owned;
  std::vector<std::string_view> keys;
  auto flush = [&]() -> bool {
    if (batch.empty()) return true;
    if (keyed) {
      key_owned.resize(batch.size());
      keys.clear();
      for (std::string& k : key_owned) {
        ids.next(k);
        keys.emplace_back(k);
      }
    }
    auto at = (*writer)->append(batch, now, keys);
    if (!at.ok()) {
      fail(at.status().message());
      return false;
    }
    batch.clear();
    owned.clear();
    return true;
  };

  if (seed >= 0) {
    static const char* kHosts[] = {"user1.comcast.com", "user2.att.com"};
    for (long long i = 0; i < seed; ++i) {
      const char* host = kHosts[(i / 7) % 2];
      std::string e;
      switch (i % 5) {
        case 0:
        case 1:
          e = std::string(R"({"event_type":"default","Host":")") + host +
              R"(","User-Agent":"ApacheBench/2.3","Accept":"*/*"})";
          break;
        case 2:
        case 3:
          e = std::string(R"({"event_type":"purchase_sword","Host":")") + host +
              R"(","User-Agent":"ApacheBench/2.3","Accept":"*/*"})";
          break;
        default:
          e = std::string(
                  R"({"event_type":"purchase_knife","description":"very sharp knife","Host":")") +
              host + R"(","User-Agent":"ApacheBench/2.3","Accept":"*/*"})";
      }
      owned.push_back(std::move(e));
      if (owned.size() == 4096) {
        for (const auto& s : owned) batch.emplace_back(s);
        if (!flush()) return 1;
      }
    }
    for (const auto& s : owned) batch.emplace_back(s);
    if (!flush()) return 1;
  } else {
    std::string line;
    while (std::getline(std::cin, line)) owned.push_back(line);
    for (const auto& s : owned) batch.emplace_back(s);
    if (!flush()) return 1;
  }
  std::printf("%lld %lld\n", static_cast<long long>(first),
              static_cast<long long>((*writer)->next_offset()));
  return 0;
}
