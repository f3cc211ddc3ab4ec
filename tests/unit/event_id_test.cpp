#include "event/event_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace questlog::event {
namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

TEST(EventIdTest, AUuidV7HasItsTextFormVersionVariantAndMilliseconds) {
  UuidV7Generator ids;
  std::string id;
  ids.next(id, 1700000000000LL * 1000000 + 500000);  // half a millisecond past
  ASSERT_EQ(id.size(), kUuidTextSize);
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23)
      EXPECT_EQ(id[i], '-') << id;
    else
      EXPECT_TRUE(is_hex(id[i])) << id;
  }
  EXPECT_EQ(id.substr(0, 13), "018bcfe5-6800") << id;  // 1700000000000 ms, 48 bits
  EXPECT_EQ(id.substr(14, 4), "7800") << id;           // version 7, then 2048/4096 of a ms
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // variant 10
}

TEST(EventIdTest, IdsAreUniqueAndSortByTime) {
  UuidV7Generator a, b;
  std::set<std::string> seen;
  std::string id, last;
  for (int64_t i = 0; i < 100000; ++i) {
    const int64_t ns = 1700000000000LL * 1000000 + i * 300;  // ~3 ids per fraction step
    (i % 2 ? a : b).next(id, ns);
    EXPECT_TRUE(seen.insert(id).second) << id;
    if (i % 1000 == 0) {
      // Ids a microsecond or more apart sort by time, whichever generator made them.
      EXPECT_LT(last, id);
      last = id;
    }
  }
}

TEST(EventIdTest, NowIsAfterTheIdsOf2025) {
  UuidV7Generator ids;
  std::string id;
  ids.next(id);
  EXPECT_GT(id, "01940000-0000-7000-8000-000000000000");  // 2025-01-01 is 0x01941f29...
}

TEST(EventIdTest, IdempotencyKeysAreOneTo128VisibleAsciiBytes) {
  EXPECT_EQ(idempotency_key_problem("a"), "");
  EXPECT_EQ(idempotency_key_problem("\"8e03978e-40d5-43e8-bc93-6894a57f9324\""), "");
  EXPECT_EQ(idempotency_key_problem(std::string(128, '~')), "");
  EXPECT_NE(idempotency_key_problem(""), "");
  EXPECT_NE(idempotency_key_problem(std::string(129, 'a')).find("129 bytes"), std::string::npos);
  EXPECT_NE(idempotency_key_problem("a b"), "");
  EXPECT_NE(idempotency_key_problem("a\tb"), "");
  EXPECT_NE(idempotency_key_problem("caf\xc3\xa9"), "");
  EXPECT_NE(idempotency_key_problem(std::string("a\0b", 3)), "");
}

}  // namespace
}  // namespace questlog::event
