// Rows buffered with a schema not yet known: round trips and spills.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "extract/row_buffer.h"
#include "io/fault_file_system.h"
#include "log_test_util.h"

namespace questlog::extract {
namespace {

using log::embedded::testing::TempDir;

// A row as text, to compare: "ts|id:kind:value|...".
std::string describe(const RowBuffer::Row& row) {
  std::string out = std::to_string(row.timestamp_ms);
  for (const auto& [id, v] : row.fields) {
    out += '|';
    out += std::to_string(id);
    out += ':';
    out += std::to_string(static_cast<int>(v.kind));
    out += ':';
    switch (v.kind) {
      case Kind::null:
        break;
      case Kind::boolean:
        out += v.boolean ? "true" : "false";
        break;
      case Kind::int64:
        out += std::to_string(v.int64);
        break;
      case Kind::float64:
        out += std::to_string(v.float64);
        break;
      case Kind::string:
      case Kind::json:
        out += std::string(v.text);
        break;
    }
  }
  return out;
}

std::vector<std::string> read_back(const RowBuffer& b) {
  std::vector<std::string> out;
  RowBuffer::Cursor c(b);
  RowBuffer::Row row;
  for (;;) {
    auto more = c.next(row);
    EXPECT_TRUE(more.ok()) << more.status().message();
    if (!more.ok() || !*more) return out;
    out.push_back(describe(row));
  }
}

// The event for row i: repetitive strings, changing numbers, some nulls.
void make_event(int i, Event& e, std::string& scratch) {
  e.clear();
  e.timestamp_ms = 1532214000000 + i / 3 - (i % 7 == 0 ? 5 : 0);
  e.set(1, Value::of_string(i % 2 ? "purchase_sword" : "default"));
  e.set(2, Value::of_string("user1.comcast.com"));
  scratch.assign("value ");
  scratch += std::to_string(i);
  scratch.append(static_cast<size_t>(i % 50), 'x');
  e.set(3, Value::of_string(scratch));
  if (i % 3 == 0) e.set(4, Value::of_int(-i * 1000003LL));
  if (i % 4 == 0) e.set(5, Value::of_double(i / 8.0));
  if (i % 5 == 0) e.set(6, Value::of_bool(i % 10 == 0));
  if (i % 6 == 0) e.set(7, Value::null());
  if (i % 11 == 0) e.set(8, Value::of_json("{\"a\":[1,2]}"));
  if (i % 13 == 0) e.drop(2);
}

TEST(ExtractRowBufferTest, RoundTripsEveryKind) {
  TempDir dir;
  RowBuffer b(dir.path());
  Event e;
  std::string scratch;
  std::vector<std::string> want;
  for (int i = 0; i < 200; ++i) {
    make_event(i, e, scratch);
    b.append(e);
    RowBuffer::Row row;
    row.timestamp_ms = e.timestamp_ms;
    for (const auto& f : e.fields())
      if (f.present) row.fields.emplace_back(f.id, f.value);
    want.push_back(describe(row));
  }
  EXPECT_EQ(b.rows(), 200u);
  EXPECT_EQ(read_back(b), want);
  EXPECT_EQ(read_back(b), want);  // a second cursor reads the same
}

// Found by fuzz/json_row_fuzz.cpp: a row whose short strings repeat the row
// before (read back from the cursor's copy of it) and that then holds a field
// with a higher id than any before read those strings from freed memory, which
// the new field's long string could reuse (ASan reports it even when not).
TEST(ExtractRowBufferTest, RepeatedStringsSurviveANewFieldLaterInTheRow) {
  TempDir dir;
  RowBuffer b(dir.path());
  Event e;
  std::vector<std::string> want;
  const std::string names[] = {"sword", "knife", "bow", "axe", "mace", "staff", "wand", "club"};
  const std::string long_value(511, 'z');
  for (int i = 0; i < 2; ++i) {
    e.clear();
    e.timestamp_ms = i;
    for (FieldId id = 0; id < 8; ++id) e.set(id + 1, Value::of_string(names[id]));
    if (i == 1) e.set(100, Value::of_string(long_value));  // an id new to the cursor
    b.append(e);
    RowBuffer::Row row;
    row.timestamp_ms = e.timestamp_ms;
    for (const auto& f : e.fields())
      if (f.present) row.fields.emplace_back(f.id, f.value);
    want.push_back(describe(row));
  }
  EXPECT_EQ(read_back(b), want);
}

TEST(ExtractRowBufferTest, RepeatedStringsCostOneByte) {
  TempDir dir;
  RowBuffer b(dir.path());
  Event e;
  for (int i = 0; i < 1000; ++i) {
    e.clear();
    e.timestamp_ms = 1532214000000;
    e.set(1, Value::of_string("purchase_sword"));
    e.set(2, Value::of_string("ApacheBench/2.3"));
    b.append(e);
  }
  // Per row: length, timestamp delta, count, and two (id, tag) pairs.
  EXPECT_LE(b.memory_bytes(), 1000u * 8 + 64);
}

TEST(ExtractRowBufferTest, SpilledRowsReadBackInOrderWithTheRest) {
  TempDir dir;
  RowBuffer spilled(dir.path());
  RowBuffer kept(dir.path());
  Event e;
  std::string scratch;
  for (int i = 0; i < 30000; ++i) {
    make_event(i, e, scratch);
    spilled.append(e);
    kept.append(e);
    if (i % 7000 == 6999) {
      ASSERT_TRUE(spilled.spill().ok());
    }
  }
  EXPECT_GT(spilled.spilled_bytes(), 1u << 20);  // more than one read chunk
  EXPECT_LT(spilled.memory_bytes(), kept.memory_bytes());
  EXPECT_EQ(read_back(spilled), read_back(kept));
  // Nothing is left in the directory: the spill file is unlinked.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(ExtractRowBufferTest, EverythingSpilledAndAnEmptyBuffer) {
  TempDir dir;
  RowBuffer empty(dir.path());
  EXPECT_TRUE(read_back(empty).empty());
  EXPECT_TRUE(empty.spill().ok());
  EXPECT_TRUE(read_back(empty).empty());

  RowBuffer all(dir.path());
  Event e;
  std::string scratch;
  for (int i = 0; i < 10; ++i) {
    make_event(i, e, scratch);
    all.append(e);
  }
  auto before = read_back(all);
  ASSERT_TRUE(all.spill().ok());
  EXPECT_EQ(all.memory_bytes(), 0u);
  EXPECT_EQ(read_back(all), before);
}

// A spill that cannot be written (a full disk) is an error naming the spill
// directory; a torn one leaves the rows that were in memory unreadable from
// the file, so the buffer refuses to go on.
TEST(ExtractRowBufferTest, ASpillThatCannotBeWrittenIsAnError) {
  TempDir dir;
  io::FaultFileSystem fault(io::local_file_system());
  fault.inject(io::Fault::on(io::Op::write).error(ENOSPC).torn(10));
  RowBuffer b(fault, dir.path() / "spill");
  Event e;
  std::string scratch;
  make_event(0, e, scratch);
  b.append(e);
  Status s = b.spill();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), (dir.path() / "spill").string() +
                             ": temporary file: write: No space left on device (injected)");
  EXPECT_EQ(b.spilled_bytes(), 0u);  // the rows are still in memory
  EXPECT_EQ(read_back(b).size(), 1u);
}

TEST(ExtractRowBufferTest, AFailedReadOfTheSpillFileIsAnError) {
  TempDir dir;
  io::FaultFileSystem fault(io::local_file_system());
  RowBuffer b(fault, dir.path());
  Event e;
  std::string scratch;
  make_event(0, e, scratch);
  b.append(e);
  ASSERT_TRUE(b.spill().ok());
  fault.inject(io::Fault::on(io::Op::read).error(EIO));
  RowBuffer::Cursor c(b);
  RowBuffer::Row row;
  auto more = c.next(row);
  ASSERT_FALSE(more.ok());
  EXPECT_NE(more.status().message().find("temporary file: read: Input/output error"),
            std::string::npos)
      << more.status().message();
}

}  // namespace
}  // namespace questlog::extract
