#include "parquet/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace questlog::parquet {

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status OutputFile::open(const std::filesystem::path& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return errno_status(path.string(), errno);
  offset_ = 0;
  return {};
}

Status OutputFile::append(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(path_.string(), errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
    offset_ += static_cast<uint64_t>(n);
  }
  return {};
}

Status OutputFile::sync_and_close() {
  if (::fsync(fd_) != 0) return errno_status(path_.string() + ": fsync", errno);
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return errno_status(path_.string() + ": close", errno);
  return {};
}

}  // namespace questlog::parquet
