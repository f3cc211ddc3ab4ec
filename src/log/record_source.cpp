#include "log/record_source.h"

#include <fmt/format.h>

#include <algorithm>

namespace questlog::log {

Result<std::vector<PartitionRange>> clip_ranges(const std::vector<PartitionRange>& held,
                                                const std::vector<PartitionRange>& ranges,
                                                const std::string& name) {
  std::vector<PartitionRange> out;
  for (PartitionRange r : ranges) {
    auto p = std::find_if(held.begin(), held.end(),
                          [&](const PartitionRange& h) { return h.partition == r.partition; });
    if (p == held.end())
      return Status::error(Errc::invalid_argument,
                           fmt::format("{}: no partition {}", name, r.partition));
    r.start = std::max(r.start, p->start);
    r.end = std::min(r.end, p->end);
    out.push_back(r);
  }
  return out;
}

std::string describe_offsets(int64_t start, int64_t end) {
  if (end <= start) return "no offset";
  if (end == start + 1) return fmt::format("offset {}", start);
  return fmt::format("offsets {} to {}", start, end - 1);
}

}  // namespace questlog::log
