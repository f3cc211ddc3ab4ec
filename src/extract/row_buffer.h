// Rows with a schema not known until the last one: kept compactly (not as
// JSON) in memory, and spilled to an unlinked temporary file when told to, so
// that memory stays bounded however many rows a table gets. Read back in order,
// as often as needed, with a Cursor.
//
// A row is its fields' ids and typed values plus the ingest timestamp. A string
// equal to the same field's value in the previous row of its chunk is stored
// as one byte, so the repetitive columns of game events (Host, User-Agent,
// event_type) cost almost nothing. A chunk is a run of rows encoded by one
// RowEncoder from its reset state; chunks encoded by different threads are
// appended in order with append_chunk().
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "extract/event.h"
#include "io/file_system.h"
#include "util/status.h"

namespace questlog::extract {

// Encodes rows into a chunk. Not thread-safe; use one per thread.
class RowEncoder {
 public:
  // Appends the present fields of `e` and its timestamp as one row to `out`.
  void encode(const Event& e, std::string& out);
  // Starts a new chunk: the next row refers to no earlier one.
  void reset();

 private:
  void put_string(FieldId id, uint8_t tag, uint8_t same_tag, std::string_view s);

  std::string row_;                // the row being encoded
  int64_t timestamp_ = 0;          // the previous row's, for deltas
  std::vector<std::string> last_;  // by field id: the previous row's string
  std::vector<uint8_t> has_last_;
};

// One thread at a time.
class RowBuffer {
 public:
  // `spill_dir` in `fs` is where the spill file goes: created on the first
  // spill, with no name (io::FileSystem::temp_file), so nothing is left behind
  // after a crash. `fs` must outlive the buffer.
  RowBuffer(io::FileSystem& fs, std::filesystem::path spill_dir);
  // The same on io::local_file_system().
  explicit RowBuffer(std::filesystem::path spill_dir);
  ~RowBuffer();
  RowBuffer(const RowBuffer&) = delete;
  RowBuffer& operator=(const RowBuffer&) = delete;

  // Appends the present fields of `e` and its timestamp as one row.
  void append(const Event& e);
  // Appends `rows` rows that a RowEncoder encoded into `chunk` from its reset state.
  void append_chunk(std::string_view chunk, uint64_t rows);

  // Moves the rows held in memory to the spill file.
  Status spill();

  uint64_t rows() const { return rows_; }
  uint64_t memory_bytes() const { return memory_.size(); }
  uint64_t spilled_bytes() const { return spilled_; }

  // One decoded row; values point into the cursor and stay valid until next().
  struct Row {
    int64_t timestamp_ms = 0;
    std::vector<std::pair<FieldId, Value>> fields;
  };

  // Reads the rows back from the first. The buffer must not change while a
  // cursor reads it.
  class Cursor {
   public:
    explicit Cursor(const RowBuffer& buffer);
    // Decodes the next row into `row`; false after the last one.
    Result<bool> next(Row& row);

   private:
    Status fill(size_t need);  // at least `need` unread bytes in view_, or the file's end
    const RowBuffer& buffer_;
    std::string chunk_;      // bytes read from the spill file
    std::string_view view_;  // unread bytes: in chunk_ or in the buffer's memory
    uint64_t file_position_ = 0;
    bool in_memory_ = false;
    int64_t timestamp_ = 0;
    // By field id: the previous row's string. A deque, as a row's values point
    // into it while a later field of the row grows it.
    std::deque<std::string> last_;
  };

 private:
  io::FileSystem& fs_;
  std::filesystem::path spill_dir_;
  std::unique_ptr<io::File> spill_;
  uint64_t spilled_ = 0;
  std::string memory_;
  uint64_t rows_ = 0;
  RowEncoder encoder_;  // for append()
  bool after_chunk_ = false;
};

}  // namespace questlog::extract
