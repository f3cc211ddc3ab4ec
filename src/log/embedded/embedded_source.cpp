#include "log/embedded/embedded_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "log/embedded/log_reader.h"

namespace questlog::log::embedded {
namespace {

class EmbeddedSource final : public RecordSource {
 public:
  EmbeddedSource(std::filesystem::path dir, std::unique_ptr<LogReader> reader, PartitionRange range)
      : dir_(std::move(dir)), reader_(std::move(reader)), partitions_{range} {}

  std::string name() const override { return dir_.string(); }
  const std::vector<PartitionRange>& partitions() const override { return partitions_; }

  Status read(const std::vector<PartitionRange>& ranges) override {
    auto clipped = clip_ranges(partitions_, ranges, name());
    if (!clipped.ok()) return clipped.status();
    ranges_ = std::move(clipped).value();
    next_range_ = 0;
    end_ = -1;
    return {};
  }

  Result<bool> next(Record& out) override {
    for (;;) {
      if (end_ < 0) {  // between ranges
        if (next_range_ == ranges_.size()) return false;
        const PartitionRange& r = ranges_[next_range_++];
        if (r.start >= r.end) continue;
        if (Status s = reader_->seek(r.start); !s.ok()) return s;
        next_ = r.start;
        end_ = r.end;
      }
      // Stop at the range's end without reading on: what follows may be damaged.
      if (next_ >= end_) {
        end_ = -1;
        continue;
      }
      auto more = reader_->next(out);
      if (!more.ok()) return more;
      if (!*more) {
        // The log held these offsets when the source opened.
        return Status::error(Errc::corruption,
                             fmt::format("{}: the log ends at offset {}, short of offset {} that "
                                         "it held when this read began (cut since?)",
                                         name(), next_, end_));
      }
      if (out.offset >= end_) {  // skipped past the range's end
        end_ = -1;
        continue;
      }
      next_ = out.offset + 1;
      return true;
    }
  }

  Result<bool> refresh() override {
    auto start = reader_->start_offset();
    if (!start.ok()) return start.status();
    auto end = reader_->end_offset();
    if (!end.ok()) return end.status();
    partitions_[0].start = *start;
    partitions_[0].end = *end;
    ranges_.clear();
    next_range_ = 0;
    end_ = -1;
    return true;
  }

  std::vector<SkippedRange> take_skipped() override {
    // The reader skips whole damaged ranges; report only what the ranges asked for.
    std::vector<SkippedRange> out;
    for (SkippedRange s : reader_->take_skipped()) {
      for (const PartitionRange& r : ranges_) {
        if (s.start < r.start || s.start >= r.end) continue;
        s.end = std::min(s.end, r.end);
        out.push_back(std::move(s));
        break;
      }
    }
    return out;
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<LogReader> reader_;
  std::vector<PartitionRange> partitions_;
  std::vector<PartitionRange> ranges_;
  size_t next_range_ = 0;
  int64_t next_ = 0;  // the next offset of the range being read
  int64_t end_ = -1;  // of the range being read; -1: none
};

}  // namespace

Result<std::unique_ptr<RecordSource>> open_source(const std::filesystem::path& dir,
                                                  ReaderOptions options) {
  auto reader = LogReader::open(dir, options);
  if (!reader.ok()) return reader.status();
  auto start = (*reader)->start_offset();
  if (!start.ok()) return start.status();
  auto end = (*reader)->end_offset();
  if (!end.ok()) return end.status();
  return std::unique_ptr<RecordSource>(
      new EmbeddedSource(dir, std::move(reader).value(), PartitionRange{0, *start, *end}));
}

}  // namespace questlog::log::embedded
