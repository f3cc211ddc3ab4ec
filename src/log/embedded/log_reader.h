// Reads an embedded log partition, from this process or another, while a writer
// may be appending. Takes no lock. A reader sees a consistent prefix: whole,
// checksummed records in offset order, never a torn one. It never ends quietly
// short of the log's end: damage, or a segment missing between two others, is
// Errc::corruption naming the segment, byte and offset, unless it was opened to
// skip such ranges (docs/formats.md, "Reading while a writer appends").
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "io/file_system.h"
#include "log/record.h"
#include "log/record_source.h"
#include "util/status.h"

namespace questlog::log::embedded {

struct ReaderOptions {
  // Read past damaged records and missing segments instead of failing there;
  // take_skipped() names each range passed over.
  bool skip_damaged = false;
  // Where the log's files are read (a test puts an io::FaultFileSystem here);
  // must outlive the reader.
  std::reference_wrapper<io::FileSystem> file_system = io::local_file_system();
};

class LogReader {
 public:
  // Fails with Errc::not_found when `dir` holds no log.
  static Result<std::unique_ptr<LogReader>> open(const std::filesystem::path& dir,
                                                 ReaderOptions options = {});

  ~LogReader();
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;

  // First offset present in the log.
  Result<int64_t> start_offset();
  // Offset after the last valid record visible now (past any damage in the
  // last segment: what a reader must reach to have read everything).
  Result<int64_t> end_offset();

  // The next call to next() returns the record at `offset`, or the first one after
  // it if it is past the end (it is returned once it arrives).
  Status seek(int64_t offset);

  // Reads the next whole record into `out`. Returns false at the current end of
  // the log; call again later to follow it as it grows (new segments included).
  // `out.value` stays valid until the next call. A record that is not accepted
  // with valid records after it, in any segment, and a gap in the offsets
  // between segments are Errc::corruption (or skipped, see ReaderOptions), unless
  // they lie wholly before the offset asked for with seek(). A torn record at the
  // end of the last segment is "not there yet": the writer may be writing it.
  Result<bool> next(Record& out);

  // The ranges skipped since the last call, in order (offsets at or after the
  // one asked for with seek()). Always empty without skip_damaged.
  std::vector<SkippedRange> take_skipped();

  struct Impl;

 private:
  explicit LogReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace questlog::log::embedded
