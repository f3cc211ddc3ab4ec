#include "log/embedded/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace questlog::log::embedded {
namespace {

namespace fs = std::filesystem;

// Reads come in chunks of this size: large enough that a reader makes one
// system call per thousands of small records.
constexpr size_t kChunkBytes = 1 << 20;

}  // namespace

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

Result<Fd> open_file(const fs::path& path, int flags, unsigned mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return Status::error(Errc::not_found, path.string() + ": " + std::strerror(err));
    }
    return errno_status(path.string() + ": open", err);
  }
  return Fd(fd);
}

Result<std::vector<SegmentFile>> list_segments(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    Errc code = ec == std::errc::no_such_file_or_directory ? Errc::not_found : Errc::io_error;
    return Status::error(code, dir.string() + ": " + ec.message());
  }
  std::vector<SegmentFile> segments;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    fs::path name = it->path().filename();
    if (auto base = format::parse_segment_file_name(name.native())) {
      segments.push_back({*base, it->path()});
    }
  }
  if (ec) return Status::error(Errc::io_error, dir.string() + ": " + ec.message());
  std::sort(segments.begin(), segments.end(), [](const SegmentFile& a, const SegmentFile& b) {
    return a.base_offset < b.base_offset;
  });
  return segments;
}

SegmentReader::SegmentReader(SegmentFile file, Fd fd)
    : file_(std::move(file)), fd_(std::move(fd)), next_offset_(file_.base_offset) {}

Result<SegmentReader> SegmentReader::open(SegmentFile file) {
  auto fd = open_file(file.path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  return SegmentReader(std::move(file), std::move(fd.value()));
}

Result<bool> SegmentReader::fill(size_t n) {
  size_t have = buffer_start_ + buffered_ - position_;
  if (have >= n) return true;
  // Keep only the unread bytes, at the front, and read after them.
  size_t consumed = position_ - buffer_start_;
  if (consumed > 0 && have > 0) std::memmove(buffer_.data(), buffer_.data() + consumed, have);
  buffer_start_ = position_;
  buffered_ = have;
  if (buffer_.size() < n)
    buffer_.resize(std::max(kChunkBytes, (n + kChunkBytes - 1) / kChunkBytes * kChunkBytes));
  while (buffered_ < n) {
    ssize_t got = ::pread(fd_.get(), buffer_.data() + buffered_, buffer_.size() - buffered_,
                          static_cast<off_t>(buffer_start_ + buffered_));
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno_status(file_.path.string() + ": read", errno);
    }
    if (got == 0) return false;
    buffered_ += static_cast<size_t>(got);
  }
  return true;
}

SegmentReader::Outcome SegmentReader::reject(Outcome outcome) {
  // Forget what follows position_: the writer may still be writing it, or may cut it.
  buffered_ = position_ - buffer_start_;
  return outcome;
}

Result<SegmentReader::Outcome> SegmentReader::read(Record& out) {
  auto header = fill(format::kHeaderSize);
  if (!header.ok()) return header.status();
  if (!*header) {
    bool nothing = buffer_start_ + buffered_ == position_;
    return reject(nothing ? Outcome::end : Outcome::truncated);
  }
  format::RecordHeader h = format::decode_header(at_position());
  rejected_ = h;
  if (h.length > format::kMaxPayload) return reject(Outcome::bad_length);
  size_t size = format::record_size(h.length);
  auto whole = fill(size);
  if (!whole.ok()) return whole.status();
  if (!*whole) return reject(Outcome::truncated);
  const char* p = at_position();
  if (!format::checksum_matches(h, p)) return reject(Outcome::bad_checksum);
  if (h.offset != next_offset_) return reject(Outcome::bad_offset);
  out.offset = h.offset;
  out.timestamp_ms = h.timestamp_ms;
  out.value = std::string_view(p + format::kHeaderSize, h.length);
  position_ += size;
  ++next_offset_;
  return Outcome::record;
}

void SegmentReader::restart_at(uint64_t position) {
  position_ = position;
  buffer_start_ = position;
  buffered_ = 0;
}

Result<std::optional<SegmentReader::Resume>> SegmentReader::find_resume() {
  const uint64_t bad = position_;
  const int64_t last = next_offset_ - 1;  // the last accepted offset (base - 1: none)
  auto file_size = size();
  if (!file_size.ok()) return file_size.status();
  std::optional<Resume> found;
  Status failed;
  restart_at(bad + 1);
  for (;; ++position_) {
    auto header = fill(format::kHeaderSize);
    if (!header.ok()) {
      failed = header.status();
      break;
    }
    if (!*header) break;  // not even a header left
    const format::RecordHeader h = format::decode_header(at_position());
    // Cheap checks first: garbage rarely passes the offset window, so the
    // checksum runs at few positions.
    if (h.offset <= last || static_cast<uint64_t>(h.offset - 1 - last) > position_ - bad) continue;
    if (h.length > format::kMaxPayload) continue;
    if (position_ + format::record_size(h.length) > *file_size) continue;
    auto whole = fill(format::record_size(h.length));
    if (!whole.ok()) {
      failed = whole.status();
      break;
    }
    if (!*whole || !format::checksum_matches(h, at_position())) continue;
    found = Resume{position_, h.offset};
    break;
  }
  restart_at(bad);
  if (!failed.ok()) return failed;
  return found;
}

void SegmentReader::resume_at(const Resume& resume) {
  restart_at(resume.position);
  next_offset_ = resume.offset;
}

Result<uint64_t> SegmentReader::size() const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return errno_status(file_.path.string() + ": fstat", errno);
  return static_cast<uint64_t>(st.st_size);
}

std::string SegmentReader::describe(Outcome outcome) const {
  return file_.path.string() + ": " + why(outcome);
}

std::string SegmentReader::why(Outcome outcome) const {
  std::string at = " at byte " + std::to_string(position_);
  switch (outcome) {
    case Outcome::record:
      return "record" + at;
    case Outcome::end:
      return "ends" + at;
    case Outcome::truncated:
      return "file ends inside the record" + at;
    case Outcome::bad_length:
      return "record" + at + " claims " + std::to_string(rejected_.length) +
             " payload bytes (limit " + std::to_string(format::kMaxPayload) + ")";
    case Outcome::bad_checksum:
      return "checksum mismatch in the record" + at;
    case Outcome::bad_offset:
      return "record" + at + " has offset " + std::to_string(rejected_.offset) + ", expected " +
             std::to_string(next_offset_);
  }
  return "unknown outcome" + at;
}

}  // namespace questlog::log::embedded
