#include <gtest/gtest.h>

#include <string>

#include "extract/id_set.h"

namespace questlog::extract {
namespace {

TEST(IdSetTest, ASecondInsertOfAnIdIsRefused) {
  IdSet ids;
  EXPECT_TRUE(ids.insert("018bcfe5-6800-7123-8456-789abcdef012"));
  EXPECT_TRUE(ids.insert("018bcfe5-6800-7123-8456-789abcdef013"));
  EXPECT_FALSE(ids.insert("018bcfe5-6800-7123-8456-789abcdef012"));
  EXPECT_TRUE(ids.insert("018bcfe5-6800-7123-8456-789abcdef01"));  // a prefix is another id
  EXPECT_EQ(ids.size(), 3u);
  ids.clear();
  EXPECT_TRUE(ids.insert("018bcfe5-6800-7123-8456-789abcdef012"));
}

TEST(IdSetTest, AMillionIdsAcrossGrowthsKeepEveryOne) {
  IdSet ids;
  for (int i = 0; i < 1000000; ++i) ASSERT_TRUE(ids.insert("id-" + std::to_string(i)));
  for (int i = 0; i < 1000000; i += 997) EXPECT_FALSE(ids.insert("id-" + std::to_string(i)));
  EXPECT_EQ(ids.size(), 1000000u);
  // 12 bytes a slot, load between 2/5 and 4/5: at most 30 bytes an id.
  EXPECT_LE(ids.memory_bytes(), 1000000u * 30);
}

TEST(IdSetTest, AReservedSetHoldsItsIdsInAbout15BytesEach) {
  IdSet ids;
  ids.reserve(1000000);
  const size_t reserved = ids.memory_bytes();
  for (int i = 0; i < 1000000; ++i) ASSERT_TRUE(ids.insert("id-" + std::to_string(i)));
  EXPECT_FALSE(ids.insert("id-999999"));
  EXPECT_EQ(ids.memory_bytes(), reserved);  // never grew
  EXPECT_LE(reserved, 1000000u * 16);
}

TEST(IdSetTest, HashesDifferInBothHalvesForNearIds) {
  uint64_t a1, b1, a2, b2;
  hash128("key-1", a1, b1);
  hash128("key-2", a2, b2);
  EXPECT_NE(a1, a2);
  EXPECT_NE(b1, b2);
  hash128("", a1, b1);
  hash128(std::string(1, '\0'), a2, b2);  // length counts
  EXPECT_NE(a1, a2);
}

}  // namespace
}  // namespace questlog::extract
