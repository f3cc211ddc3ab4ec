#include "log/embedded/log_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "log/embedded/segment.h"

namespace questlog::log::embedded {
namespace {

namespace fs = std::filesystem;
using Outcome = SegmentReader::Outcome;

// The segments of `dir`, at least one, or why there are none.
Result<std::vector<SegmentFile>> segments_of(io::FileSystem& fs, const fs::path& dir) {
  auto segments = list_segments(fs, dir);
  if (!segments.ok()) {
    if (segments.status().code() == Errc::not_found) {
      return Status::error(Errc::not_found, fmt::format("{}: no such log directory", dir.string()));
    }
    return segments.status();
  }
  if (segments->empty()) {
    return Status::error(Errc::not_found, fmt::format("{}: no log segments", dir.string()));
  }
  return segments;
}

}  // namespace

struct LogReader::Impl {
  Impl(fs::path d, ReaderOptions o) : dir(std::move(d)), options(o), files(o.file_system) {}

  const fs::path dir;
  const ReaderOptions options;
  io::FileSystem& files;                 // options.file_system
  std::optional<SegmentReader> segment;  // where next() reads
  int64_t skip_below = 0;                // next() passes over records before this offset
  std::vector<SkippedRange> skipped;     // not yet taken

  Result<bool> next(Record& out);
  // The first segment after the current one, if any: the one named for the
  // offset it ends at, or failing that the next in a listing (past a gap).
  Result<std::optional<SegmentFile>> segment_after();
  // What to do about offsets the log cannot give: nothing when they lie before
  // skip_below, else fail with `error` or note them as skipped.
  Status pass(int64_t first, int64_t end, const std::string& error, std::string where);
  // After a record that was not accepted: fails or skips to where valid records
  // resume in this segment (`resume`), or, with none, to `after`.
  Status pass_damage(Outcome outcome, const std::optional<SegmentReader::Resume>& resume,
                     const std::optional<SegmentFile>& after);
  Status move_to(const SegmentFile& file);
};

Result<std::optional<SegmentFile>> LogReader::Impl::segment_after() {
  const int64_t base = segment->file().base_offset;
  // The writer names the next segment for the offset this one ends at, and
  // never rolls an empty one, so that file is the usual answer.
  if (segment->next_offset() > base) {
    SegmentFile named = segment_in(dir, segment->next_offset());
    auto there = files.kind(named.path);
    if (!there.ok()) return there.status();
    if (*there) return std::optional<SegmentFile>(named);
  }
  auto segments = list_segments(files, dir);
  if (!segments.ok()) return segments.status();
  for (const SegmentFile& f : *segments)
    if (f.base_offset > base) return std::optional<SegmentFile>(f);
  return std::optional<SegmentFile>();
}

Status LogReader::Impl::pass(int64_t first, int64_t end, const std::string& error,
                             std::string where) {
  if (end <= skip_below && first < skip_below) return {};  // before what was asked for
  if (!options.skip_damaged) return Status::error(Errc::corruption, error);
  skipped.push_back({0, std::max(first, skip_below), end, std::move(where)});
  return {};
}

Status LogReader::Impl::pass_damage(Outcome outcome,
                                    const std::optional<SegmentReader::Resume>& resume,
                                    const std::optional<SegmentFile>& after) {
  const std::string file = segment->file().path.string();
  const uint64_t at = segment->position();
  const int64_t first = segment->next_offset();
  const std::string why = segment->why(outcome);
  if (resume) {
    Status s = pass(
        first, resume->offset,
        fmt::format("{}: {}, offset {}: the segment is damaged from there to byte {} ({} "
                    "lost; valid records follow)",
                    file, why, first, resume->position, describe_offsets(first, resume->offset)),
        fmt::format("{} bytes {} to {} ({})", file, at, resume->position, why));
    if (!s.ok()) return s;
    segment->resume_at(*resume);
    return {};
  }
  // Damaged to its end (a truncated segment): the offsets up to the next segment are lost.
  auto size = segment->size();
  if (!size.ok()) return size.status();
  if (after->base_offset < first) {
    return Status::error(
        Errc::corruption,
        fmt::format("{}: {}, offset {}, and the next segment starts below it, at {}", file, why,
                    first, after->base_offset));
  }
  Status s =
      pass(first, after->base_offset,
           fmt::format("{}: {}, offset {}, and the next segment starts at offset {}: {} lost", file,
                       why, first, after->base_offset, describe_offsets(first, after->base_offset)),
           fmt::format("{} bytes {} to {} ({})", file, at, *size, why));
  if (!s.ok()) return s;
  return move_to(*after);
}

Status LogReader::Impl::move_to(const SegmentFile& file) {
  auto opened = SegmentReader::open(files, file);
  if (!opened.ok()) return opened.status();
  segment = std::move(opened.value());
  return {};
}

Result<bool> LogReader::Impl::next(Record& out) {
  for (;;) {
    auto got = segment->read(out);
    if (!got.ok()) return got.status();
    if (*got == Outcome::record) {
      if (out.offset < skip_below) continue;
      return true;
    }
    // Nothing more here for now.
    auto after = segment_after();
    if (!after.ok()) return after.status();
    if (!*after) {
      // The last segment. A clean end is the end of the log for now; a record
      // that is not accepted may be one the writer is still writing, unless
      // valid records follow it.
      if (*got == Outcome::end) return false;
      auto resume = segment->find_resume();
      if (!resume.ok()) return resume.status();
      if (!*resume) return false;  // a torn tail: not there yet, or the writer's to cut
      // Read it once more: it may have been completed since we looked.
      got = segment->read(out);
      if (!got.ok()) return got.status();
      if (*got == Outcome::record) {
        if (out.offset < skip_below) continue;
        return true;
      }
      if (Status s = pass_damage(*got, *resume, std::nullopt); !s.ok()) return s;
      continue;
    }
    // A newer segment exists, so this one was sealed before we looked: this
    // read sees everything it will hold.
    got = segment->read(out);
    if (!got.ok()) return got.status();
    if (*got == Outcome::record) {
      if (out.offset < skip_below) continue;
      return true;
    }
    if (*got != Outcome::end) {
      auto resume = segment->find_resume();
      if (!resume.ok()) return resume.status();
      if (Status s = pass_damage(*got, *resume, *after); !s.ok()) return s;
      continue;
    }
    const int64_t end = segment->next_offset();
    const SegmentFile& next = **after;
    if (next.base_offset != end) {
      const std::string file = segment->file().path.string();
      const std::string ends =
          fmt::format("{} ends at byte {}, offset {}, but the next segment is {}", file,
                      segment->position(), end, next.path.filename().string());
      if (next.base_offset < end) return Status::error(Errc::corruption, ends);
      Status s =
          pass(end, next.base_offset,
               fmt::format("{}: {} {} missing (a deleted segment?)", ends,
                           describe_offsets(end, next.base_offset),
                           next.base_offset - end == 1 ? "is" : "are"),
               fmt::format("no segment holds them ({} ends at offset {}, the next segment is {})",
                           file, end, next.path.filename().string()));
      if (!s.ok()) return s;
    }
    if (Status s = move_to(next); !s.ok()) return s;
  }
}

LogReader::LogReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LogReader::~LogReader() = default;

Result<std::unique_ptr<LogReader>> LogReader::open(const fs::path& dir, ReaderOptions options) {
  io::FileSystem& files = options.file_system;
  auto segments = segments_of(files, dir);
  if (!segments.ok()) return segments.status();
  auto first = SegmentReader::open(files, segments->front());
  if (!first.ok()) return first.status();
  auto impl = std::make_unique<Impl>(dir, options);
  impl->segment = std::move(first.value());
  impl->skip_below = impl->segment->next_offset();
  return std::unique_ptr<LogReader>(new LogReader(std::move(impl)));
}

Result<int64_t> LogReader::start_offset() {
  auto segments = segments_of(impl_->files, impl_->dir);
  if (!segments.ok()) return segments.status();
  return segments->front().base_offset;
}

Result<int64_t> LogReader::end_offset() {
  auto segments = segments_of(impl_->files, impl_->dir);
  if (!segments.ok()) return segments.status();
  auto last = SegmentReader::open(impl_->files, segments->back());
  if (!last.ok()) return last.status();
  Record record;
  for (;;) {
    auto got = last->read(record);
    if (!got.ok()) return got.status();
    if (*got == Outcome::record) continue;
    if (*got == Outcome::end) return last->next_offset();
    // Past damage with valid records after it (as next() sees it), not past a torn tail.
    auto resume = last->find_resume();
    if (!resume.ok()) return resume.status();
    if (!*resume) return last->next_offset();
    got = last->read(record);
    if (!got.ok()) return got.status();
    if (*got != Outcome::record) last->resume_at(**resume);
  }
}

Status LogReader::seek(int64_t offset) {
  Impl& r = *impl_;
  auto segments = segments_of(r.files, r.dir);
  if (!segments.ok()) return segments.status();
  // The segment with the greatest base offset <= offset, or the first.
  auto holder = segments->begin();
  for (auto it = segments->begin(); it != segments->end(); ++it) {
    if (it->base_offset <= offset) holder = it;
  }
  bool ahead_in_same_segment =
      r.segment->file().base_offset == holder->base_offset && r.segment->next_offset() <= offset;
  if (!ahead_in_same_segment) {
    auto opened = SegmentReader::open(r.files, *holder);
    if (!opened.ok()) return opened.status();
    r.segment = std::move(opened.value());
  }
  r.skip_below = offset;
  return {};
}

Result<bool> LogReader::next(Record& out) { return impl_->next(out); }

std::vector<SkippedRange> LogReader::take_skipped() { return std::exchange(impl_->skipped, {}); }

}  // namespace questlog::log::embedded
