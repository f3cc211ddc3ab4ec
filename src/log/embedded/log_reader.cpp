#include "log/embedded/log_reader.h"

#include <optional>
#include <utility>

#include "log/embedded/segment.h"

namespace questlog::log::embedded {
namespace {

namespace fs = std::filesystem;
using Outcome = SegmentReader::Outcome;

// The segments of `dir`, at least one, or why there are none.
Result<std::vector<SegmentFile>> segments_of(const fs::path& dir) {
  auto segments = list_segments(dir);
  if (!segments.ok()) {
    if (segments.status().code() == Errc::not_found) {
      return Status::error(Errc::not_found, dir.string() + ": no such log directory");
    }
    return segments.status();
  }
  if (segments->empty()) {
    return Status::error(Errc::not_found, dir.string() + ": no log segments");
  }
  return segments;
}

}  // namespace

struct LogReader::Impl {
  fs::path dir;
  std::optional<SegmentReader> segment;  // where next() reads
  int64_t skip_below = 0;                // next() passes over records before this offset

  Result<bool> next(Record& out);
  // True when a segment newer than the current one exists, so the current one
  // was sealed before this call: nothing will be added to it.
  Result<bool> sealed(Outcome outcome, const Result<SegmentReader>& successor);
};

Result<bool> LogReader::Impl::sealed(Outcome outcome, const Result<SegmentReader>& successor) {
  if (successor.ok()) return true;
  if (successor.status().code() != Errc::not_found) return successor.status();
  // A clean end with no segment after it is the live tail. A bad or torn record
  // with no segment after it is the writer's to repair; only a listing tells
  // whether some later segment exists past a gap.
  if (outcome == Outcome::end) return false;
  auto segments = list_segments(dir);
  if (!segments.ok()) return segments.status();
  return !segments->empty() && segments->back().base_offset > segment->file().base_offset;
}

Result<bool> LogReader::Impl::next(Record& out) {
  for (;;) {
    auto got = segment->read(out);
    if (!got.ok()) return got.status();
    if (*got == Outcome::record) {
      if (out.offset < skip_below) continue;
      return true;
    }
    // Nothing more here for now. The writer creates the next segment, named for
    // the offset this one ends at, only after its last write to this one, and
    // never after an empty one.
    Result<SegmentReader> successor = Status::error(Errc::not_found, "empty segment");
    if (segment->next_offset() > segment->file().base_offset) {
      successor = SegmentReader::open(segment_in(dir, segment->next_offset()));
    }
    auto is_sealed = sealed(*got, successor);
    if (!is_sealed.ok()) return is_sealed.status();
    if (!*is_sealed) return false;
    // Sealed before we looked: this read sees everything the segment will hold.
    got = segment->read(out);
    if (!got.ok()) return got.status();
    if (*got == Outcome::record) {
      if (out.offset < skip_below) continue;
      return true;
    }
    if (*got != Outcome::end) return Status::error(Errc::corruption, segment->describe(*got));
    if (!successor.ok()) {
      return Status::error(Errc::corruption, segment->describe(*got) + ", at offset " +
                                                 std::to_string(segment->next_offset()) +
                                                 ", but no segment starts there");
    }
    segment = std::move(successor.value());
  }
}

LogReader::LogReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LogReader::~LogReader() = default;

Result<std::unique_ptr<LogReader>> LogReader::open(const fs::path& dir) {
  auto segments = segments_of(dir);
  if (!segments.ok()) return segments.status();
  auto first = SegmentReader::open(segments->front());
  if (!first.ok()) return first.status();
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->segment = std::move(first.value());
  impl->skip_below = impl->segment->next_offset();
  return std::unique_ptr<LogReader>(new LogReader(std::move(impl)));
}

Result<int64_t> LogReader::start_offset() {
  auto segments = segments_of(impl_->dir);
  if (!segments.ok()) return segments.status();
  return segments->front().base_offset;
}

Result<int64_t> LogReader::end_offset() {
  auto segments = segments_of(impl_->dir);
  if (!segments.ok()) return segments.status();
  auto last = SegmentReader::open(segments->back());
  if (!last.ok()) return last.status();
  Record record;
  for (;;) {
    auto got = last->read(record);
    if (!got.ok()) return got.status();
    if (*got != Outcome::record) return last->next_offset();
  }
}

Status LogReader::seek(int64_t offset) {
  Impl& r = *impl_;
  auto segments = segments_of(r.dir);
  if (!segments.ok()) return segments.status();
  // The segment with the greatest base offset <= offset, or the first.
  auto holder = segments->begin();
  for (auto it = segments->begin(); it != segments->end(); ++it) {
    if (it->base_offset <= offset) holder = it;
  }
  bool ahead_in_same_segment =
      r.segment->file().base_offset == holder->base_offset && r.segment->next_offset() <= offset;
  if (!ahead_in_same_segment) {
    auto opened = SegmentReader::open(*holder);
    if (!opened.ok()) return opened.status();
    r.segment = std::move(opened.value());
  }
  r.skip_below = offset;
  return {};
}

Result<bool> LogReader::next(Record& out) { return impl_->next(out); }

}  // namespace questlog::log::embedded
