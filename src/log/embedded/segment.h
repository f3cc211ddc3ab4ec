// The parts of a partition directory that LogWriter and LogReader share: its
// segment files, and a sequential, checksum-verifying reader of one segment.
// All I/O goes through the io::FileSystem passed in, which must outlive what
// is opened with it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "log/embedded/format.h"
#include "log/record.h"
#include "util/status.h"

namespace questlog::log::embedded {

struct SegmentFile {
  int64_t base_offset = 0;  // offset of the segment's first record
  std::filesystem::path path;
};

inline SegmentFile segment_in(const std::filesystem::path& dir, int64_t base_offset) {
  return {base_offset, dir / format::segment_file_name(base_offset)};
}

// The segment files in `dir` by increasing base offset; other files are ignored.
// Errc::not_found when `dir` does not exist.
Result<std::vector<SegmentFile>> list_segments(io::FileSystem& fs,
                                               const std::filesystem::path& dir);

// The offset of the record that ends `file` at its last byte, found by looking
// back from the end (a sealed segment is exactly its records, so this is the
// greatest offset it holds, whatever its size). Nothing when no valid record
// ends there: an empty segment, or one that ends in damage or zeros.
Result<std::optional<int64_t>> last_offset_of(io::FileSystem& fs, const SegmentFile& file);

// Bytes [begin, end) of a segment that hold no valid record, between a record
// that was not accepted and the next valid one (or the end of the file), and
// the offsets [first_offset, end_offset) lost with them (none when equal).
struct Damage {
  uint64_t begin = 0;
  uint64_t end = 0;
  int64_t first_offset = 0;
  int64_t end_offset = 0;
  std::string why;  // what reading met at `begin`: "checksum mismatch in the record at byte 120"
};

// Reads one segment's records in order, through a large buffer, accepting a
// record only when it is whole, its checksum matches and its offset is the next
// one. May run while a writer appends to the file: whatever follows the last
// accepted record is read again on the next call, so a record that was torn or
// missing then is seen once it is complete.
class SegmentReader {
 public:
  enum class Outcome {
    record,        // `out` holds the next record
    end,           // the file ends after the last accepted record, or only zeros follow it
    truncated,     // the file ends inside a record
    bad_length,    // a length field above format::kMaxPayload
    bad_checksum,  // a whole record whose checksum does not match
    bad_offset,    // a record whose offset is not the next one
  };

  // Opens `file` read-only through `fs`; reading starts at its first byte.
  static Result<SegmentReader> open(io::FileSystem& fs, SegmentFile file);

  // On Outcome::record, `out.value` points into this reader's buffer and stays
  // valid until the next call. Any other outcome leaves `out` alone and the
  // reader where it was. Errors are failed reads.
  Result<Outcome> read(Record& out);

  const SegmentFile& file() const { return file_; }
  // Bytes of the file covered by the records accepted so far.
  uint64_t position() const { return position_; }
  // Offset the next record must carry.
  int64_t next_offset() const { return next_offset_; }

  // One line about a non-record outcome, naming the file and byte position.
  std::string describe(Outcome outcome) const;
  // The same without the file name: "checksum mismatch in the record at byte 120".
  std::string why(Outcome outcome) const;

  // Where valid records resume after a record that was not accepted at
  // position(): the first byte after it where a whole record starts whose
  // checksum matches and whose offset is above the last accepted one, by no
  // more than the bytes passed over (a record takes at least 24, so only
  // garbage exceeds that, and the scan stays linear). Nothing when there is no
  // such record: what follows position() is a torn tail. Only reads; the reader
  // stays where it was.
  struct Resume {
    uint64_t position = 0;
    int64_t offset = 0;
  };
  Result<std::optional<Resume>> find_resume();
  // Reads on from `resume`, which find_resume() returned.
  void resume_at(const Resume& resume);
  // The file's size now.
  Result<uint64_t> size() const;
  // True when the last read() returned Outcome::end at zeros that run to the
  // end of the file (the unwritten rest of a preallocated segment).
  bool at_zero_tail() const { return zero_tail_; }
  // The byte after the last nonzero byte at or after position(), or
  // position() when only zeros follow it. Only reads.
  Result<uint64_t> data_end();
  // Bytes of memory the reader holds for reading ahead.
  size_t buffer_bytes() const { return buffer_.size(); }

 private:
  SegmentReader(SegmentFile file, std::unique_ptr<io::File> data);
  // Makes `n` bytes from position_ available in buffer_; false when the file ends first.
  Result<bool> fill(size_t n);
  const char* at_position() const { return buffer_.data() + (position_ - buffer_start_); }
  Outcome reject(Outcome outcome);
  // Moves to `position` with nothing buffered.
  void restart_at(uint64_t position);
  // True when every byte of the file from `from` to its end is zero.
  Result<bool> zeros_to_end(uint64_t from);

  SegmentFile file_;
  std::unique_ptr<io::File> data_;
  std::vector<char> buffer_;  // holds file bytes [buffer_start_, buffer_start_ + buffered_)
  uint64_t buffer_start_ = 0;
  size_t buffered_ = 0;
  uint64_t position_ = 0;
  int64_t next_offset_ = 0;
  format::RecordHeader rejected_;  // header of the record behind the last bad outcome
  bool zero_tail_ = false;         // the last Outcome::end was at a zero tail
};

}  // namespace questlog::log::embedded
