#include "util/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace questlog {

// Check values from RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32cTest, MatchesRfc3720Vectors) {
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::value(zeros.data(), zeros.size()), 0x8A9136AAu);
  std::string ones(32, '\xff');
  EXPECT_EQ(crc32c::value(ones.data(), ones.size()), 0x62A8AB43u);
  std::string inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  EXPECT_EQ(crc32c::value(inc.data(), inc.size()), 0x46DD794Eu);
  EXPECT_EQ(crc32c::value("123456789", 9), 0xE3069283u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string s = "the quick brown fox jumps over the lazy dog, twice over";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t part = crc32c::extend(crc32c::value(s.data(), cut), s.data() + cut, s.size() - cut);
    EXPECT_EQ(part, crc32c::value(s.data(), s.size())) << cut;
  }
}

}  // namespace questlog
