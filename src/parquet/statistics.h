// Column chunk statistics: null count and min/max in the column's
// type-defined order (parquet.thrift ColumnOrder TYPE_ORDER):
//   int64, int32, timestamp  signed comparison
//   double            numeric, NaN skipped (counted in nan_count); a zero
//                     minimum is written as -0.0 and a zero maximum as +0.0
//   boolean           false < true
//   string            unsigned byte-wise comparison (= STRING's order)
// A chunk with no non-null (non-NaN) value has no min/max. Byte-array
// min/max longer than kMaxStatisticsBytes are left out rather than truncated
// (as Arrow does by default), so whatever is written is exact.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "parquet/format.h"

namespace questlog::parquet {

inline constexpr size_t kMaxStatisticsBytes = 4096;

namespace detail {
template <typename T>
std::string plain_bytes(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));  // little-endian hosts only (static_assert in the writer)
  return s;
}
}  // namespace detail

// Signed integers (INT64, TIMESTAMP; INT32 in nested files), PLAIN-encoded in
// their own width.
template <typename T>
class IntStatistics {
 public:
  void update(T v) {
    if (v < min_) min_ = v;
    if (v > max_) max_ = v;
    any_ = true;
  }
  void reset() { *this = IntStatistics(); }
  format::Statistics encode(int64_t null_count) const {
    format::Statistics s;
    s.null_count = null_count;
    if (any_) {
      s.min_value = detail::plain_bytes(min_);
      s.max_value = detail::plain_bytes(max_);
    }
    return s;
  }

 private:
  T min_ = std::numeric_limits<T>::max();
  T max_ = std::numeric_limits<T>::min();
  bool any_ = false;
};
using Int64Statistics = IntStatistics<int64_t>;
using Int32Statistics = IntStatistics<int32_t>;

class DoubleStatistics {
 public:
  void update(double v) {
    if (std::isnan(v)) {
      ++nan_count_;
      return;
    }
    if (!any_ || v < min_) min_ = v;
    if (!any_ || v > max_) max_ = v;
    any_ = true;
  }
  void reset() { *this = DoubleStatistics(); }
  format::Statistics encode(int64_t null_count) const {
    format::Statistics s;
    s.null_count = null_count;
    s.nan_count = nan_count_;
    if (any_) {
      s.min_value = detail::plain_bytes(min_ == 0.0 ? -0.0 : min_);
      s.max_value = detail::plain_bytes(max_ == 0.0 ? +0.0 : max_);
    }
    return s;
  }

 private:
  double min_ = 0;
  double max_ = 0;
  int64_t nan_count_ = 0;
  bool any_ = false;
};

class BooleanStatistics {
 public:
  void update(bool v) { seen_[v] = true; }
  void reset() { *this = BooleanStatistics(); }
  format::Statistics encode(int64_t null_count) const {
    format::Statistics s;
    s.null_count = null_count;
    if (seen_[0] || seen_[1]) {
      s.min_value = std::string(1, seen_[0] ? '\0' : '\1');
      s.max_value = std::string(1, seen_[1] ? '\1' : '\0');
    }
    return s;
  }

 private:
  bool seen_[2] = {false, false};
};

// Byte arrays (STRING). std::string_view compares as unsigned bytes.
class ByteArrayStatistics {
 public:
  void update(std::string_view v) {
    if (!any_ || v < std::string_view(min_)) min_.assign(v);
    if (!any_ || v > std::string_view(max_)) max_.assign(v);
    any_ = true;
  }
  void merge(const ByteArrayStatistics& o) {
    if (!o.any_) return;
    update(o.min_);
    update(o.max_);
  }
  void reset() {
    min_.clear();
    max_.clear();
    any_ = false;
  }
  format::Statistics encode(int64_t null_count) const {
    format::Statistics s;
    s.null_count = null_count;
    if (any_ && min_.size() <= kMaxStatisticsBytes && max_.size() <= kMaxStatisticsBytes) {
      s.min_value = min_;
      s.max_value = max_;
    }
    return s;
  }

 private:
  std::string min_;
  std::string max_;
  bool any_ = false;
};

}  // namespace questlog::parquet
