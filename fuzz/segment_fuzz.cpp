// Segment bytes -> what a reader, and a writer's recovery, make of them,
// through the file layer on a directory of its own (on /dev/shm when there is
// one). The input is one segment, or several cut by kCut, each followed by one
// byte: how far the next segment's base offset is past the one before.
//
// What must hold: a reader returns records in increasing offset order, or an
// error, never a crash; a writer opens whatever it finds (recovering it) unless
// it says why, and a record it then appends is the last one a reader sees (in a
// log a reader could read, skipping damage, before).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "log/embedded/format.h"
#include "log/embedded/log_reader.h"
#include "log/embedded/log_writer.h"

using namespace questlog;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kCut = "\xffSEG";
constexpr int kMaxRecords = 10000;

const fs::path& dir() {
  static const fs::path d = [] {
    fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path p = base / ("questlog-fuzz-segment-" + std::to_string(getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    std::atexit([] { fs::remove_all(dir()); });
    return p;
  }();
  return d;
}

// Reads the whole log; the offset after the last record read, or -1 on an error.
int64_t read_all(bool skip_damaged, int64_t* last_offset, bool verbose = false) {
  log::embedded::ReaderOptions options;
  options.skip_damaged = skip_damaged;
  auto reader = log::embedded::LogReader::open(dir(), options);
  if (!reader.ok()) {
    if (verbose) std::fprintf(stderr, "open: %s\n", reader.status().message().c_str());
    return -1;
  }
  (void)(*reader)->start_offset();
  (void)(*reader)->end_offset();
  log::Record r;
  int64_t next = -1;
  for (int i = 0; i < kMaxRecords; ++i) {
    auto more = (*reader)->next(r);
    if (!more.ok()) {
      if (verbose) std::fprintf(stderr, "next: %s\n", more.status().message().c_str());
      return -1;
    }
    if (!*more) break;
    if (r.offset < next) std::abort();  // offsets only go up
    next = r.offset + 1;
    if (last_offset) *last_offset = r.offset;
  }
  (void)(*reader)->take_skipped();
  return next;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path& d = dir();
  for (const auto& entry : fs::directory_iterator(d)) fs::remove_all(entry.path());

  std::string_view in(reinterpret_cast<const char*>(data), size);
  int64_t base = 0;
  for (int segment = 0; segment < 4; ++segment) {
    size_t cut = in.find(kCut);
    std::string_view bytes = in.substr(0, cut);
    std::ofstream(d / log::embedded::format::segment_file_name(base), std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (cut == std::string_view::npos || cut + kCut.size() >= in.size()) break;
    base += static_cast<unsigned char>(in[cut + kCut.size()]);
    in.remove_prefix(cut + kCut.size() + 1);
  }

  read_all(false, nullptr);
  // A log that cannot be read even skipping damage is only held to not
  // crashing. (The writer refuses one kind of it, a sealed segment whose last
  // record holds an offset the next one starts with; damage to a sealed
  // segment's end hides the same from it.)
  const bool readable = read_all(true, nullptr) >= 0;

  log::embedded::WriterOptions options;
  options.dir = d;
  options.segment_bytes = 4096;
  int64_t appended = -1;
  {
    auto writer = log::embedded::LogWriter::open(options);
    if (!writer.ok()) return 0;
    const std::string_view value = R"({"event_type":"fuzz"})";
    auto at = (*writer)->append({&value, 1}, 1700000000000);
    if (!at.ok()) return 0;
    appended = *at;
  }
  int64_t last = -1;
  if (readable && (read_all(true, &last, true) < 0 || last != appended)) {
    std::fprintf(stderr, "appended at %lld, last record read %lld\n",
                 static_cast<long long>(appended), static_cast<long long>(last));
    std::abort();
  }
  return 0;
}
