// Column chunk statistics: null counts, type-defined min/max, NaN and signed
// zero, and what is left out.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "parquet/statistics.h"

namespace questlog::parquet {
namespace {

template <typename T>
T decode(const std::string& bytes) {
  EXPECT_EQ(bytes.size(), sizeof(T));
  T v{};
  std::memcpy(&v, bytes.data(), sizeof(T));
  return v;
}

TEST(ParquetStatisticsTest, Int64SignedMinMax) {
  Int64Statistics s;
  for (int64_t v : {int64_t{5}, int64_t{-7}, int64_t{3}, INT64_MAX, int64_t{0}}) s.update(v);
  format::Statistics e = s.encode(4);
  EXPECT_EQ(e.null_count, 4);
  EXPECT_EQ(decode<int64_t>(*e.min_value), -7);
  EXPECT_EQ(decode<int64_t>(*e.max_value), INT64_MAX);
  EXPECT_FALSE(e.nan_count.has_value());
}

TEST(ParquetStatisticsTest, AllNullHasNoMinMax) {
  Int64Statistics s;
  format::Statistics e = s.encode(10);
  EXPECT_EQ(e.null_count, 10);
  EXPECT_FALSE(e.min_value.has_value());
  EXPECT_FALSE(e.max_value.has_value());
  EXPECT_FALSE(ByteArrayStatistics().encode(3).min_value.has_value());
  EXPECT_FALSE(BooleanStatistics().encode(3).max_value.has_value());
}

TEST(ParquetStatisticsTest, DoubleSkipsNanAndCountsIt) {
  DoubleStatistics s;
  double nan = std::numeric_limits<double>::quiet_NaN();
  for (double v : {nan, 2.5, -1.0, nan, 7.0}) s.update(v);
  format::Statistics e = s.encode(0);
  EXPECT_EQ(decode<double>(*e.min_value), -1.0);
  EXPECT_EQ(decode<double>(*e.max_value), 7.0);
  EXPECT_EQ(e.nan_count, 2);
}

TEST(ParquetStatisticsTest, DoubleAllNanHasNoMinMax) {
  DoubleStatistics s;
  s.update(std::nan(""));
  format::Statistics e = s.encode(1);
  EXPECT_FALSE(e.min_value.has_value());
  EXPECT_EQ(e.nan_count, 1);
  EXPECT_EQ(e.null_count, 1);
}

TEST(ParquetStatisticsTest, DoubleZeroMinIsNegativeZeroMaxIsPositiveZero) {
  DoubleStatistics s;
  s.update(0.0);
  s.update(-0.0);
  format::Statistics e = s.encode(0);
  EXPECT_TRUE(std::signbit(decode<double>(*e.min_value)));
  EXPECT_FALSE(std::signbit(decode<double>(*e.max_value)));
  EXPECT_EQ(decode<double>(*e.min_value), 0.0);
}

TEST(ParquetStatisticsTest, DoubleInfinities) {
  DoubleStatistics s;
  s.update(-INFINITY);
  s.update(INFINITY);
  format::Statistics e = s.encode(0);
  EXPECT_EQ(decode<double>(*e.min_value), -INFINITY);
  EXPECT_EQ(decode<double>(*e.max_value), INFINITY);
}

TEST(ParquetStatisticsTest, BooleanFalseBeforeTrue) {
  BooleanStatistics only_true;
  only_true.update(true);
  EXPECT_EQ(*only_true.encode(0).min_value, std::string(1, '\1'));
  EXPECT_EQ(*only_true.encode(0).max_value, std::string(1, '\1'));
  BooleanStatistics both;
  both.update(true);
  both.update(false);
  EXPECT_EQ(*both.encode(0).min_value, std::string(1, '\0'));
  EXPECT_EQ(*both.encode(0).max_value, std::string(1, '\1'));
}

TEST(ParquetStatisticsTest, StringsCompareAsUnsignedBytes) {
  ByteArrayStatistics s;
  for (const char* v : {"b", "\xC3\xA9t\xC3\xA9", "a", "", "ab"}) s.update(v);
  format::Statistics e = s.encode(2);
  EXPECT_EQ(*e.min_value, "");
  EXPECT_EQ(*e.max_value, "\xC3\xA9t\xC3\xA9");  // 0xC3 > 'b' unsigned
  EXPECT_EQ(e.null_count, 2);
}

TEST(ParquetStatisticsTest, StringsMergeKeepsTheExtremes) {
  ByteArrayStatistics a, b;
  a.update("m");
  a.update("q");
  b.update("c");
  b.update("z");
  a.merge(b);
  format::Statistics e = a.encode(0);
  EXPECT_EQ(*e.min_value, "c");
  EXPECT_EQ(*e.max_value, "z");
}

TEST(ParquetStatisticsTest, OverlongStringMinMaxAreLeftOut) {
  ByteArrayStatistics s;
  s.update(std::string(kMaxStatisticsBytes, 'a'));
  EXPECT_TRUE(s.encode(0).min_value.has_value());
  s.update(std::string(kMaxStatisticsBytes + 1, 'z'));
  format::Statistics e = s.encode(0);
  EXPECT_FALSE(e.min_value.has_value());
  EXPECT_FALSE(e.max_value.has_value());
  EXPECT_EQ(e.null_count, 0);
}

}  // namespace
}  // namespace questlog::parquet
