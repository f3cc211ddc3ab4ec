// Reads an embedded log partition, from this process or another, while a writer
// may be appending. Takes no lock. A reader sees a consistent prefix: whole,
// checksummed records in offset order, never a torn one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "log/record.h"
#include "util/status.h"

namespace questlog::log::embedded {

class LogReader {
 public:
  // Fails with Errc::not_found when `dir` holds no log.
  static Result<std::unique_ptr<LogReader>> open(const std::filesystem::path& dir);

  ~LogReader();
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;

  // First offset present in the log.
  Result<int64_t> start_offset();
  // Offset after the last whole record visible now.
  Result<int64_t> end_offset();

  // The next call to next() returns the record at `offset`, or the first one after
  // it if it is past the end (it is returned once it arrives).
  Status seek(int64_t offset);

  // Reads the next whole record into `out`. Returns false at the current end of
  // the log; call again later to follow it as it grows (new segments included).
  // `out.value` stays valid until the next call. A record that fails its checksum
  // before the end of a sealed segment is Errc::corruption.
  Result<bool> next(Record& out);

  struct Impl;

 private:
  explicit LogReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace questlog::log::embedded
