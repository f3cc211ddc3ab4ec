#include "log/record_source.h"

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
                           name + ": no partition " + std::to_string(r.partition));
    r.start = std::max(r.start, p->start);
    r.end = std::min(r.end, p->end);
    out.push_back(r);
  }
  return out;
}

std::string describe_offsets(int64_t start, int64_t end) {
  if (end <= start) return "no offset";
  if (end == start + 1) return "offset " + std::to_string(start);
  return "offsets " + std::to_string(start) + " to " + std::to_string(end - 1);
}

}  // namespace questlog::log
