#include "cli/record_format.h"

#include <gtest/gtest.h>

namespace questlog::cli {
namespace {

std::string formatted(std::string_view format, const log::Record& r) {
  auto f = RecordFormat::parse(format);
  EXPECT_TRUE(f.ok()) << f.status().message();
  std::string out;
  if (f.ok()) f->write(r, "events", out);
  return out;
}

TEST(RecordFormatTest, KcatsTokensAndEscapes) {
  log::Record r;
  r.offset = 42;
  r.timestamp_ms = 1700000000000;
  r.partition = 3;
  r.key = "id-1";
  r.value = R"({"event_type":"default"})";
  EXPECT_EQ(formatted("%t [%p] at %o: %k\\t%s\\n", r),
            "events [3] at 42: id-1\t{\"event_type\":\"default\"}\n");
  EXPECT_EQ(formatted("%T %S %K 100%%\\\\", r), "1700000000000 24 4 100%\\");
  EXPECT_EQ(formatted("\\x%s", r), "\\x{\"event_type\":\"default\"}");  // unknown escapes stay
}

TEST(RecordFormatTest, ARecordWithoutAKeyPrintsAnEmptyKeyOfLengthMinusOne) {
  log::Record r;
  r.value = "v";
  EXPECT_EQ(formatted("[%k] %K", r), "[] -1");
}

TEST(RecordFormatTest, UnknownTokensAreRefusedNamingThem) {
  auto f = RecordFormat::parse("%s %x");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("%x"), std::string::npos);
  EXPECT_FALSE(RecordFormat::parse("%").ok());
}

}  // namespace
}  // namespace questlog::cli
