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

}  // namespace questlog::log
