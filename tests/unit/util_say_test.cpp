#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "util/say.h"

namespace questlog {
namespace {

std::string contents(std::FILE* f) {
  std::string out;
  std::rewind(f);
  for (int c; (c = std::fgetc(f)) != EOF;) out.push_back(static_cast<char>(c));
  return out;
}

TEST(Say, WritesWhatFprintfWrote) {
  std::FILE* a = std::tmpfile();
  std::FILE* b = std::tmpfile();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  say(a, "questlog: read {}, offsets {} to {}{}, in {:.2f} s ({:.0f}%)\n", "3 records", int64_t{-1},
      int64_t{3}, "", 0.125, 62.5);
  std::fprintf(b, "questlog: read %s, offsets %lld to %lld%s, in %.2f s (%.0f%%)\n", "3 records",
               -1LL, 3LL, "", 0.125, 62.5);
  EXPECT_EQ(contents(a), contents(b));
  std::fclose(a);
  std::fclose(b);
}

TEST(Say, AFailedWriteIsIgnored) {
  std::FILE* f = std::fopen("/dev/null", "r");  // every write fails
  ASSERT_NE(f, nullptr);
  EXPECT_NO_THROW(say(f, "questlog: {}\n", "lost"));
  EXPECT_TRUE(std::ferror(f));
  std::fclose(f);
}

}  // namespace
}  // namespace questlog
