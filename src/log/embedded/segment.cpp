#include "log/embedded/segment.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace questlog::log::embedded {
namespace {

namespace fs = std::filesystem;

// Reads come in chunks of up to this size: large enough that a reader makes
// one system call per thousands of small records.
constexpr size_t kChunkBytes = 1 << 20;
// A reader's buffer starts at the size of what the file holds, but no smaller
// than this, and doubles as the file gives more, up to kChunkBytes: a short
// segment (a new one, a test's, a fuzz input) costs no 1 MiB to allocate and zero.
constexpr size_t kFirstChunkBytes = 4096;

// The length of the run of zero bytes at p[0, n).
size_t zero_run(const char* p, size_t n) {
  size_t i = 0;
  while (i < n && p[i] == 0) ++i;
  return i;
}

// memcmp of the bytes against themselves one further on: as fast as memcmp.
bool all_zero(const char* p, size_t n) {
  return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

}  // namespace

Result<std::vector<SegmentFile>> list_segments(io::FileSystem& fs, const fs::path& dir) {
  auto entries = fs.list(dir);
  if (!entries.ok()) return entries.status();
  std::vector<SegmentFile> segments;
  for (const io::DirEntry& e : *entries) {
    if (auto base = format::parse_segment_file_name(e.name))
      segments.push_back({*base, dir / e.name});
  }
  std::sort(segments.begin(), segments.end(), [](const SegmentFile& a, const SegmentFile& b) {
    return a.base_offset < b.base_offset;
  });
  return segments;
}

Result<std::optional<int64_t>> last_offset_of(io::FileSystem& fs, const SegmentFile& file) {
  auto data = fs.open(file.path, io::OpenMode::read);
  if (!data.ok()) return data.status();
  auto size = (*data)->size();
  if (!size.ok()) return size.status();
  // Most records are small: look at the last 4 KiB first, then as far back as
  // the largest record can reach.
  std::vector<char> tail;
  for (uint64_t window :
       {uint64_t{4096}, uint64_t{format::record_size(format::kMaxPayload, format::kMaxKey)}}) {
    const size_t n = static_cast<size_t>(std::min(window, *size));
    if (n < format::kHeaderSize || n <= tail.size()) break;
    tail.resize(n);
    auto got = (*data)->read_at(*size - n, tail.data(), n);
    if (!got.ok()) return got.status();
    if (*got != n) break;  // the file shrank meanwhile: no sealed segment does
    // The record nearest the end that ends exactly at it, its checksum matching.
    for (size_t at = n - format::kHeaderSize + 1; at-- > 0;) {
      format::RecordHeader h = format::decode_header(tail.data() + at);
      if (h.length > format::kMaxPayload || h.offset < file.base_offset) continue;
      if (h.keyed) {
        if (at + format::kKeyedHeaderSize > n) continue;
        format::decode_key_length(h, tail.data() + at);
      }
      if (at + format::stored_size(h) != n) continue;
      if (format::checksum_matches(h, tail.data() + at)) return std::optional<int64_t>(h.offset);
    }
  }
  return std::optional<int64_t>();
}

SegmentReader::SegmentReader(SegmentFile file, std::unique_ptr<io::File> data)
    : file_(std::move(file)), data_(std::move(data)), next_offset_(file_.base_offset) {}

Result<SegmentReader> SegmentReader::open(io::FileSystem& fs, SegmentFile file) {
  auto data = fs.open(file.path, io::OpenMode::read);
  if (!data.ok()) return data.status();
  return SegmentReader(std::move(file), std::move(data).value());
}

Result<bool> SegmentReader::fill(size_t n) {
  size_t have = buffer_start_ + buffered_ - position_;
  if (have >= n) return true;
  // Keep only the unread bytes, at the front, and read after them.
  size_t consumed = position_ - buffer_start_;
  if (consumed > 0 && have > 0) std::memmove(buffer_.data(), buffer_.data() + consumed, have);
  buffer_start_ = position_;
  buffered_ = have;
  if (buffer_.size() < kChunkBytes || buffer_.size() < n) {
    auto file_size = data_->size();
    if (!file_size.ok()) return file_size.status();
    const uint64_t left = *file_size > buffer_start_ ? *file_size - buffer_start_ : 0;
    size_t want = std::max<size_t>(n, static_cast<size_t>(std::min<uint64_t>(left, kChunkBytes)));
    if (want > kChunkBytes) {
      want = (want + kChunkBytes - 1) / kChunkBytes * kChunkBytes;
    } else if (want > buffer_.size()) {
      want = std::max({want, kFirstChunkBytes, std::min(kChunkBytes, 2 * buffer_.size())});
    }
    if (want > buffer_.size()) buffer_.resize(want);
  }
  // One read fills the buffer, or stops short at the end of the file.
  auto got = data_->read_at(buffer_start_ + buffered_, buffer_.data() + buffered_,
                            buffer_.size() - buffered_);
  if (!got.ok()) return got.status();
  buffered_ += *got;
  return buffered_ >= n;
}

SegmentReader::Outcome SegmentReader::reject(Outcome outcome) {
  // Forget what follows position_: the writer may still be writing it, or may cut it.
  buffered_ = position_ - buffer_start_;
  return outcome;
}

Result<SegmentReader::Outcome> SegmentReader::read(Record& out) {
  zero_tail_ = false;
  auto header = fill(format::kHeaderSize);
  if (!header.ok()) return header.status();
  if (!*header) {
    bool nothing = buffer_start_ + buffered_ == position_;
    if (!nothing && all_zero(at_position(), buffer_start_ + buffered_ - position_)) {
      zero_tail_ = true;
      return reject(Outcome::end);
    }
    return reject(nothing ? Outcome::end : Outcome::truncated);
  }
  if (all_zero(at_position(), format::kHeaderSize)) {
    // No record is all zeros (their checksum is not 0): if only zeros follow,
    // this is the unwritten rest of a preallocated segment.
    auto zeros = zeros_to_end(position_);
    if (!zeros.ok()) return zeros.status();
    if (*zeros) {
      zero_tail_ = true;
      return reject(Outcome::end);
    }
  }
  format::RecordHeader h = format::decode_header(at_position());
  rejected_ = h;
  if (h.length > format::kMaxPayload) return reject(Outcome::bad_length);
  if (h.keyed) {
    auto keyed = fill(format::kKeyedHeaderSize);
    if (!keyed.ok()) return keyed.status();
    if (!*keyed) return reject(Outcome::truncated);
    format::decode_key_length(h, at_position());
  }
  size_t size = format::stored_size(h);
  if (size > buffer_.size()) {
    // Room for a record this large only once the file holds it: a damaged or
    // torn length field may claim up to kMaxPayload bytes the file does not have.
    auto file_size = data_->size();
    if (!file_size.ok()) return file_size.status();
    if (*file_size < position_ + size) return reject(Outcome::truncated);
  }
  auto whole = fill(size);
  if (!whole.ok()) return whole.status();
  if (!*whole) return reject(Outcome::truncated);
  const char* p = at_position();
  if (!format::checksum_matches(h, p)) return reject(Outcome::bad_checksum);
  if (h.offset != next_offset_) return reject(Outcome::bad_offset);
  out.offset = h.offset;
  out.timestamp_ms = h.timestamp_ms;
  const size_t key_at = format::header_size(h);
  out.key = std::string_view(p + key_at, h.key_length);
  out.value = std::string_view(p + key_at + h.key_length, h.length);
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
    // A record's header is never all zeros: pass over a run of them at once.
    const size_t zeros = zero_run(at_position(), buffer_start_ + buffered_ - position_);
    if (zeros >= format::kHeaderSize) {
      position_ += zeros - format::kHeaderSize;  // the loop steps one more
      continue;
    }
    format::RecordHeader h = format::decode_header(at_position());
    // Cheap checks first: garbage rarely passes the offset window, so the
    // checksum runs at few positions.
    if (h.offset <= last || static_cast<uint64_t>(h.offset - 1 - last) > position_ - bad) continue;
    if (h.length > format::kMaxPayload) continue;
    if (h.keyed) {
      if (position_ + format::kKeyedHeaderSize > *file_size) continue;
      auto keyed = fill(format::kKeyedHeaderSize);
      if (!keyed.ok()) {
        failed = keyed.status();
        break;
      }
      format::decode_key_length(h, at_position());
    }
    if (position_ + format::stored_size(h) > *file_size) continue;
    auto whole = fill(format::stored_size(h));
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

Result<bool> SegmentReader::zeros_to_end(uint64_t from) {
  auto file_size = size();
  if (!file_size.ok()) return file_size.status();
  const uint64_t left = *file_size > from ? *file_size - from : 0;
  std::vector<char> chunk(std::clamp<size_t>(
      static_cast<size_t>(std::min<uint64_t>(left, kChunkBytes)), 1, kChunkBytes));
  for (uint64_t at = from;;) {
    auto got = data_->read_at(at, chunk.data(), chunk.size());
    if (!got.ok()) return got.status();
    if (*got == 0) return true;
    if (!all_zero(chunk.data(), *got)) return false;
    at += *got;
  }
}

Result<uint64_t> SegmentReader::data_end() {
  auto file_size = size();
  if (!file_size.ok()) return file_size.status();
  std::vector<char> chunk(static_cast<size_t>(
      std::min<uint64_t>(*file_size > position_ ? *file_size - position_ : 0, kChunkBytes)));
  uint64_t end = *file_size;
  while (end > position_) {
    const uint64_t begin = std::max<uint64_t>(position_, end > kChunkBytes ? end - kChunkBytes : 0);
    const size_t n = static_cast<size_t>(end - begin);
    auto got = data_->read_at(begin, chunk.data(), n);
    if (!got.ok()) return got.status();
    if (*got < n) {  // the file shrank meanwhile
      end = begin + *got;
      continue;
    }
    for (size_t i = n; i > 0; --i)
      if (chunk[i - 1] != 0) return begin + i;
    end = begin;
  }
  return position_;
}

void SegmentReader::resume_at(const Resume& resume) {
  restart_at(resume.position);
  next_offset_ = resume.offset;
}

Result<uint64_t> SegmentReader::size() const { return data_->size(); }

std::string SegmentReader::describe(Outcome outcome) const {
  return fmt::format("{}: {}", file_.path.string(), why(outcome));
}

std::string SegmentReader::why(Outcome outcome) const {
  switch (outcome) {
    case Outcome::record:
      return fmt::format("record at byte {}", position_);
    case Outcome::end:
      if (zero_tail_) return fmt::format("only zeros from byte {} to the end", position_);
      return fmt::format("ends at byte {}", position_);
    case Outcome::truncated:
      return fmt::format("file ends inside the record at byte {}", position_);
    case Outcome::bad_length:
      // The length word as written (with the key flag, if set): what a reader of the bytes sees.
      return fmt::format("record at byte {} claims {} payload bytes (limit {})", position_,
                         rejected_.length | (rejected_.keyed ? format::kKeyFlag : 0u),
                         format::kMaxPayload);
    case Outcome::bad_checksum:
      return fmt::format("checksum mismatch in the record at byte {}", position_);
    case Outcome::bad_offset:
      return fmt::format("record at byte {} has offset {}, expected {}", position_,
                         rejected_.offset, next_offset_);
  }
  return fmt::format("unknown outcome at byte {}", position_);
}

}  // namespace questlog::log::embedded
