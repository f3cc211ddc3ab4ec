// The file a FileWriter appends to: an io::File written from its first byte,
// unbuffered (callers append whole column chunks), that knows its own length.
// One thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "io/file_system.h"
#include "util/status.h"

namespace questlog::parquet {

class OutputFile {
 public:
  // Writes `file` from byte 0 (it should be empty: opened with OpenMode::truncate).
  explicit OutputFile(std::unique_ptr<io::File> file) : file_(std::move(file)) {}
  // Creates or truncates `path` in `fs`.
  static Result<OutputFile> create(io::FileSystem& fs, const std::filesystem::path& path);

  // Appends all of `bytes` (io::File::write_at retries short writes and EINTR).
  Status append(std::span<const uint8_t> bytes);
  // Bytes appended so far: the offset of the next byte.
  uint64_t offset() const { return offset_; }
  // Syncs, then closes. The file is complete on disk once this returns ok.
  Status sync_and_close();
  // The file's path as messages name it.
  const std::string& name() const { return file_->name(); }

 private:
  std::unique_ptr<io::File> file_;
  uint64_t offset_ = 0;
};

}  // namespace questlog::parquet
