// The file a FileWriter appends to: a POSIX descriptor, unbuffered (callers
// append whole column chunks), that knows its own length.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

#include "util/status.h"

namespace questlog::parquet {

class OutputFile {
 public:
  OutputFile() = default;
  ~OutputFile();  // closes without syncing
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Creates or truncates `path`.
  Status open(const std::filesystem::path& path);
  // Appends all of `bytes` (retrying short writes and EINTR).
  Status append(std::span<const uint8_t> bytes);
  // Bytes appended so far: the offset of the next byte.
  uint64_t offset() const { return offset_; }
  // fsync, then close. The file is complete on disk once this returns ok.
  Status sync_and_close();

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t offset_ = 0;
};

}  // namespace questlog::parquet
