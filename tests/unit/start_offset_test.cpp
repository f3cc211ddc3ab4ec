#include "log/start_offset.h"

#include <gtest/gtest.h>

#include <string>

namespace questlog::log {
namespace {

int64_t at(const std::string& spec, int64_t first, int64_t end) {
  auto s = parse_start_offset(spec);
  EXPECT_TRUE(s.ok()) << spec;
  return s.ok() ? resolve(*s, first, end) : -1;
}

TEST(StartOffsetTest, BeginningAndEnd) {
  EXPECT_EQ(at("beginning", 10, 20), 10);
  EXPECT_EQ(at("end", 10, 20), 20);
}

TEST(StartOffsetTest, AbsoluteOffsetNeverBeforeTheFirst) {
  EXPECT_EQ(at("15", 10, 20), 15);
  EXPECT_EQ(at("3", 10, 20), 10);
  EXPECT_EQ(at("+12", 10, 20), 12);
  EXPECT_EQ(at("25", 10, 20), 25);  // past the end: read when it arrives
}

TEST(StartOffsetTest, NegativeCountsBackFromTheEnd) {
  EXPECT_EQ(at("-1", 10, 20), 19);
  EXPECT_EQ(at("-10", 10, 20), 10);
  EXPECT_EQ(at("-50", 10, 20), 10);
  EXPECT_EQ(at("-5", 0, 0), 0);
}

TEST(StartOffsetTest, MinusZeroIsOffsetZeroAsInKcat) { EXPECT_EQ(at("-0", 0, 20), 0); }

TEST(StartOffsetTest, HugeCountsDoNotOverflow) { EXPECT_EQ(at("-9223372036854775807", 5, 20), 5); }

TEST(StartOffsetTest, AnythingElseIsOneClearError) {
  for (const char* spec : {"banana", "3x", "", "--", "--5", "-+5", "1.5", "end+1", " 5", "-",
                           "99999999999999999999"}) {
    auto s = parse_start_offset(spec);
    ASSERT_FALSE(s.ok()) << spec;
    EXPECT_EQ(s.status().message(),
              std::string("-o ") + spec + ": expected beginning, end, an offset N or -N");
  }
}

}  // namespace
}  // namespace questlog::log
