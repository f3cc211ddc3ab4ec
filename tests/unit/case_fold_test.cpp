#include "util/case_fold.h"

#include <gtest/gtest.h>

#include <string>

namespace questlog {
namespace {

// append_fold_case takes ASCII 8 bytes at a time: every ASCII byte, at every
// place in a word, folds as it does alone.
TEST(AppendFoldCaseTest, AsciiWordsFoldLikeSingleBytes) {
  for (int c = 0; c < 0x80; ++c) {
    const char folded = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : static_cast<char>(c);
    for (size_t at = 0; at < 17; ++at) {
      std::string name(17, 'Q');
      name[at] = static_cast<char>(c);
      std::string want(17, 'q');
      want[at] = folded;
      std::string out = "prefix:";
      append_fold_case(name, out);
      ASSERT_EQ(out, "prefix:" + want) << "byte " << c << " at " << at;
    }
  }
}

TEST(AppendFoldCaseTest, AsciiThenOtherLetters) {
  std::string out;
  append_fold_case("ABCDEFGHI\xcc\x87", out);  // the dot after an 'I' from the fast path
  EXPECT_EQ(out, "abcdefghi");
  out.clear();
  append_fold_case(
      "USER-AGENT\xc3\x89P\xc3\x89"
      "E",
      out);
  EXPECT_EQ(out,
            "user-agent\xc3\xa9p\xc3\xa9"
            "e");
  EXPECT_EQ(fold_case("Content-Type"), "content-type");
}

}  // namespace
}  // namespace questlog
