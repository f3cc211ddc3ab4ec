#include <gtest/gtest.h>

#include <algorithm>
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

TEST(IdSetTest, ContainsFindsWhatInsertAdded) {
  IdSet ids;
  EXPECT_FALSE(ids.contains("a"));
  ids.insert("a");
  EXPECT_TRUE(ids.contains("a"));
  EXPECT_FALSE(ids.contains("b"));
  EXPECT_EQ(ids.size(), 1u);
}

TEST(IdWindowTest, AnIdIsFoundAgainWithinTheWindowOfTheNewestTimestamp) {
  IdWindow ids(1000);
  EXPECT_TRUE(ids.insert("a", 0));
  EXPECT_TRUE(ids.insert("b", 500));
  EXPECT_FALSE(ids.insert("a", 999));   // a resend, within the window
  EXPECT_TRUE(ids.insert("c", 1000));   // a new generation begins
  EXPECT_FALSE(ids.insert("a", 1500));  // still within the window of the previous one
  EXPECT_FALSE(ids.insert("b", 1900));
  EXPECT_TRUE(ids.insert("d", 2000));   // the generation of a and b is dropped
  EXPECT_TRUE(ids.insert("a", 2001));   // so a is new again: older than the window
  EXPECT_FALSE(ids.insert("c", 2002));  // c is still held
}

TEST(IdWindowTest, AnOlderTimestampIsCheckedAgainstBothGenerations) {
  IdWindow ids(1000);
  EXPECT_TRUE(ids.insert("a", 5000));
  EXPECT_TRUE(ids.insert("b", 6500));
  EXPECT_FALSE(ids.insert("a", 4000));  // a resend keeps its first copy's timestamp
}

TEST(IdWindowTest, MemoryStaysBoundedWhenFollowingForever) {
  // 100,000 ids a window, ten windows: at most two windows' ids are held.
  IdWindow ids(100'000);
  size_t peak = 0;
  for (int64_t i = 0; i < 1'000'000; ++i) {
    ASSERT_TRUE(ids.insert("id-" + std::to_string(i), i));
    peak = std::max(peak, ids.memory_bytes());
  }
  EXPECT_LE(ids.size(), 200'000u);
  EXPECT_LE(peak, 200'000u * 30 + 2 * 12 * 1024);
  EXPECT_FALSE(ids.insert("id-999999", 1'000'000));
  EXPECT_FALSE(ids.insert("id-900000", 1'000'000));
}

}  // namespace
}  // namespace questlog::extract
