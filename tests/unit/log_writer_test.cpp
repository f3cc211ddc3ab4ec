#include "log/embedded/log_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "log/embedded/format.h"
#include "log/embedded/log_reader.h"
#include "log_test_util.h"

namespace questlog::log::embedded {
namespace {

namespace fs = std::filesystem;
using testing::Owned;
using testing::read_all;
using testing::TempDir;

std::unique_ptr<LogWriter> open_writer(const fs::path& dir, uint64_t segment_bytes = 128ull << 20) {
  auto w = LogWriter::open({dir, segment_bytes});
  EXPECT_TRUE(w.ok()) << w.status().message();
  return w.ok() ? std::move(w.value()) : nullptr;
}

// A value of varying length (0 included) and arbitrary bytes, derived from `offset`.
std::string value_for(int64_t offset) {
  std::string v(static_cast<size_t>(offset * 37 % 300), '\0');
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>(offset + static_cast<int64_t>(i));
  return v;
}

int64_t append_one(LogWriter& w, std::string_view v, int64_t ts = 1) {
  auto first = w.append(std::span<const std::string_view>(&v, 1), ts);
  EXPECT_TRUE(first.ok()) << first.status().message();
  return first.ok() ? *first : -1;
}

TEST(LogWriterTest, RecordsReadBackWithExactBytes) {
  TempDir tmp;
  std::string binary("\0\x01\xff\n\"{}\0", 9);
  std::string large(3 << 20, 'x');  // larger than the reader's 1 MiB chunk
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 131);
  std::vector<std::string> values = {"", "{\"event\":\"quest_started\"}", binary, large, ""};
  {
    auto w = open_writer(tmp.path());
    std::vector<std::string_view> views(values.begin(), values.end());
    auto first = w->append(views, 1700000000123);
    ASSERT_TRUE(first.ok()) << first.status().message();
    EXPECT_EQ(*first, 0);
    EXPECT_EQ(w->next_offset(), 5);
  }
  auto got = read_all(tmp.path());
  ASSERT_EQ(got.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(got[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(got[i].timestamp_ms, 1700000000123);
    EXPECT_EQ(got[i].value, values[i]) << "record " << i;
  }
}

TEST(LogWriterTest, SegmentHoldsTheBytesDocumentedInFormatsMd) {
  TempDir tmp;
  {
    auto w = open_writer(tmp.path());
    append_one(*w, "", 0);
    append_one(*w, "hi", 1700000000000);
  }
  std::string expected("\x3e\x56\xc5\xbc", 4);
  expected += std::string(20, '\0');
  expected += std::string(
      "\xbc\x63\xfa\xe5\x02\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x68\xe5\xcf\x8b\x01\x00\x00\x68\x69",
      26);
  std::ifstream in(tmp.path() / format::segment_file_name(0), std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, expected);
}

TEST(LogWriterTest, EachBatchKeepsItsOwnTimestamp) {
  TempDir tmp;
  {
    auto w = open_writer(tmp.path());
    EXPECT_EQ(append_one(*w, "a", -5), 0);  // before the epoch is allowed
    EXPECT_EQ(append_one(*w, "b", 0), 1);
    EXPECT_EQ(append_one(*w, "c", INT64_MAX), 2);
  }
  auto got = read_all(tmp.path());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].timestamp_ms, -5);
  EXPECT_EQ(got[1].timestamp_ms, 0);
  EXPECT_EQ(got[2].timestamp_ms, INT64_MAX);
}

TEST(LogWriterTest, AppendReturnsTheFirstOffsetOfItsBatch) {
  TempDir tmp;
  auto w = open_writer(tmp.path());
  std::vector<std::string_view> three = {"x", "y", "z"};
  EXPECT_EQ(*w->append(three, 1), 0);
  EXPECT_EQ(*w->append(three, 1), 3);
  EXPECT_EQ(w->next_offset(), 6);
}

TEST(LogWriterTest, EmptyBatchWritesNothing) {
  TempDir tmp;
  auto w = open_writer(tmp.path());
  auto first = w->append({}, 1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 0);
  EXPECT_EQ(w->next_offset(), 0);
  EXPECT_EQ(fs::file_size(tmp.path() / format::segment_file_name(0)), 0u);
}

TEST(LogWriterTest, OversizedValueIsRejectedAndNothingIsWritten) {
  TempDir tmp;
  auto w = open_writer(tmp.path());
  std::string huge(format::kMaxPayload + 1, 'h');
  std::vector<std::string_view> batch = {"fine", huge};
  auto first = w->append(batch, 1);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), Errc::invalid_argument);
  EXPECT_EQ(w->next_offset(), 0);
  EXPECT_EQ(fs::file_size(tmp.path() / format::segment_file_name(0)), 0u);
}

TEST(LogWriterTest, OffsetsStayDenseAcrossRolledSegments) {
  TempDir tmp;
  const uint64_t segment_bytes = 1000;
  int64_t n = 0;
  {
    auto w = open_writer(tmp.path(), segment_bytes);
    for (int batch = 1; n < 300; batch = batch % 7 + 1) {
      std::vector<std::string> values;
      for (int i = 0; i < batch; ++i) values.push_back(value_for(n + i));
      std::vector<std::string_view> views(values.begin(), values.end());
      auto first = w->append(views, n);
      ASSERT_TRUE(first.ok()) << first.status().message();
      ASSERT_EQ(*first, n);
      n += batch;
    }
  }
  auto got = read_all(tmp.path());
  ASSERT_EQ(static_cast<int64_t>(got.size()), n);
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(got[i].offset, i);
    EXPECT_EQ(got[i].value, value_for(i));
  }

  // Each segment is named for its first record, and only the last is under size.
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(tmp.path())) {
    if (e.path().extension() == ".log") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 5u);
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    EXPECT_GE(fs::file_size(files[i]), segment_bytes) << files[i];
  }
  int64_t base_of_last = *format::parse_segment_file_name(files.back().filename().string());
  EXPECT_LT(fs::file_size(files.back()), segment_bytes);
  EXPECT_LE(base_of_last, n);
}

TEST(LogWriterTest, SegmentRollsAsSoonAsItIsFull) {
  TempDir tmp;
  auto w = open_writer(tmp.path(), format::record_size(10) * 2);
  std::string ten(10, 't');
  append_one(*w, ten);
  EXPECT_FALSE(fs::exists(tmp.path() / format::segment_file_name(1)));
  append_one(*w, ten);
  EXPECT_TRUE(fs::exists(tmp.path() / format::segment_file_name(2)));
  EXPECT_EQ(fs::file_size(tmp.path() / format::segment_file_name(2)), 0u);
}

TEST(LogWriterTest, ReopenContinuesOffsets) {
  TempDir tmp;
  {
    auto w = open_writer(tmp.path(), 500);
    for (int i = 0; i < 40; ++i) append_one(*w, value_for(i));
  }
  auto w = open_writer(tmp.path(), 500);
  EXPECT_EQ(w->next_offset(), 40);
  EXPECT_EQ(w->recovery().next_offset, 40);
  EXPECT_EQ(w->recovery().truncated_bytes, 0u);
  EXPECT_TRUE(w->recovery().detail.empty());
  EXPECT_GT(w->recovery().segments, 1);
  EXPECT_EQ(append_one(*w, value_for(40)), 40);
  w.reset();
  auto got = read_all(tmp.path());
  ASSERT_EQ(got.size(), 41u);
  EXPECT_EQ(got.back().value, value_for(40));
}

TEST(LogWriterTest, CreatesAMissingPartitionDirectory) {
  TempDir tmp;
  fs::path dir = tmp.path() / "events" / "0";
  auto w = open_writer(dir);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(fs::exists(dir / format::segment_file_name(0)));
  EXPECT_EQ(w->recovery().segments, 1);
  EXPECT_EQ(w->recovery().next_offset, 0);
}

TEST(LogWriterTest, SecondWriterInTheSameProcessIsBusy) {
  TempDir tmp;
  auto first = open_writer(tmp.path());
  auto second = LogWriter::open({tmp.path()});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Errc::busy);
  EXPECT_EQ(second.status().message(), tmp.path().string() +
                                           " is locked by another questlog writer (pid " +
                                           std::to_string(::getpid()) + ")");
  first.reset();
  auto third = LogWriter::open({tmp.path()});
  EXPECT_TRUE(third.ok()) << third.status().message();
}

TEST(LogWriterTest, ConcurrentAppendsGetWholeDisjointBatches) {
  TempDir tmp;
  constexpr int kThreads = 4, kBatches = 500, kBatch = 8;
  {
    auto w = open_writer(tmp.path(), 64 << 10);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&w, t] {
        std::string v = "thread " + std::to_string(t);
        std::vector<std::string_view> batch(kBatch, v);
        for (int b = 0; b < kBatches; ++b) {
          ASSERT_TRUE(w->append(batch, t).ok());
          if (b % 50 == 0) {
            ASSERT_TRUE(w->sync().ok());
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(w->next_offset(), kThreads * kBatches * kBatch);
  }
  auto got = read_all(tmp.path());
  ASSERT_EQ(got.size(), static_cast<size_t>(kThreads * kBatches * kBatch));
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].offset, static_cast<int64_t>(i));
    // A batch is never interleaved with another.
    const Owned& head = got[i - i % kBatch];
    EXPECT_EQ(got[i].value, head.value);
    EXPECT_EQ(got[i].value, "thread " + std::to_string(got[i].timestamp_ms));
  }
}

TEST(LogWriterTest, SyncMayRunWhileAnotherThreadAppendsAndRolls) {
  TempDir tmp;
  auto w = open_writer(tmp.path(), 4096);
  std::atomic<bool> done{false};
  std::thread syncer([&] {
    while (!done) {
      ASSERT_TRUE(w->sync().ok());
    }
  });
  for (int i = 0; i < 2000; ++i) append_one(*w, value_for(i));
  done = true;
  syncer.join();
  EXPECT_TRUE(w->sync().ok());
  w.reset();
  EXPECT_EQ(read_all(tmp.path()).size(), 2000u);
}

}  // namespace
}  // namespace questlog::log::embedded
