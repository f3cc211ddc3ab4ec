#include "util/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace questlog {
namespace {

TEST(ParallelForTest, RunsEveryIndexOnceAndNeverMoreThanWidthAtOnce) {
  constexpr size_t kN = 40, kWidth = 3;
  std::vector<std::atomic<int>> runs(kN);
  std::atomic<size_t> running{0}, most{0};
  Status s = parallel_for(kN, kWidth, [&](size_t i) {
    size_t now = ++running;
    for (size_t m = most; now > m && !most.compare_exchange_weak(m, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // let them overlap
    ++runs[i];
    --running;
    return Status();
  });
  EXPECT_TRUE(s.ok());
  for (size_t i = 0; i < kN; ++i) EXPECT_EQ(runs[i], 1) << i;
  EXPECT_LE(most.load(), kWidth);
  EXPECT_GE(most.load(), 2u) << "nothing ran side by side";
}

TEST(ParallelForTest, EveryIndexRunsAfterAFailureAndTheFirstInIndexOrderIsReturned) {
  std::atomic<int> ran{0};
  Status s = parallel_for(10, 4, [&](size_t i) {
    ++ran;
    if (i == 7 || i == 3) return Status::error(Errc::io_error, "failed " + std::to_string(i));
    return Status();
  });
  EXPECT_EQ(ran, 10);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "failed 3");
}

TEST(ParallelForTest, NothingToDoIsOk) {
  EXPECT_TRUE(parallel_for(0, 8, [](size_t) { return Status::error(Errc::io_error, "no"); }).ok());
}

}  // namespace
}  // namespace questlog
