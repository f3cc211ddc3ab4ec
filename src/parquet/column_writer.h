// Column writers: one class per Parquet physical kind, turning the values of
// one leaf column (a flat OPTIONAL column, or a leaf of a nested schema) into
// the pages of one column chunk per row group.
//
//   StringColumnWriter   BYTE_ARRAY: dictionary (RLE_DICTIONARY pages after one
//                        PLAIN dictionary page), falling back to PLAIN pages for
//                        the rest of the chunk when the dictionary would pass
//                        dictionary_page_bytes
//   Int64ColumnWriter    INT64 (also TIMESTAMP micros): dictionary like
//                        strings, falling back to PLAIN early when the
//                        dictionary is not smaller than PLAIN would be
//   Int32ColumnWriter    INT32 (nested files only): PLAIN
//   DoubleColumnWriter   DOUBLE: PLAIN
//   BooleanColumnWriter  BOOLEAN: PLAIN (bit-packed)
//
// Every data page is a DATA_PAGE (v1): repetition levels (leaves under a
// list or map only) and definition levels, each as RLE hybrid with a 4-byte
// length prefix, then the non-null values; the whole body compressed with
// the file's codec. A flat column's definition levels have max level 1. A
// page is closed when the memory it holds (one byte per level plus the
// values as buffered) reaches page_bytes, or at kMaxPageRows levels (in
// nested files only between records, in end_record()); closed pages are
// kept compressed until the row group is written. Values are appended one by one with no allocation
// beyond vector growth; encoding and compression run once per page. Strings
// are looked up in an open-addressing table over the dictionary page's own
// bytes, so a repeated value costs a hash and a compare, never a copy;
// int64s by value in the same kind of table (DictionaryTable), after a
// check against the previous value (runs of one timestamp are the common
// case).
//
// Not thread-safe; a writer belongs to one FileWriter.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parquet/compression.h"
#include "parquet/file_writer.h"
#include "parquet/format.h"
#include "parquet/output_file.h"
#include "parquet/statistics.h"
#include "util/status.h"

namespace questlog::parquet {

// What the column writers of one file share. `buffered_bytes` is the memory
// the current row group holds across all columns (closed pages as
// compressed, open pages and dictionaries as buffered); FileWriter compares
// it with row_group_bytes and zeroes it after writing a row group. `error`
// keeps the first failure met while closing a page inside an add call.
struct WriteContext {
  explicit WriteContext(const WriterOptions& o) : options(o), compressor(o.codec) {}
  WriterOptions options;
  Compressor compressor;
  uint64_t buffered_bytes = 0;
  Status error;
  std::vector<uint8_t> page;  // scratch: the uncompressed body of one page
};

// A data page holds at most this many rows, as in parquet-mr (Spark) and
// Arrow; it also keeps the open pages of a few columns within the L2 cache.
inline constexpr size_t kMaxPageRows = 20000;

// Where a leaf sits in its file's schema.
struct LeafSpec {
  std::vector<std::string> path;  // path_in_schema: the names from the top-level field down
  uint8_t max_definition = 1;     // optional and repeated nodes on the path, the leaf included
  uint8_t max_repetition = 0;     // repeated nodes on the path
  bool nested = false;            // in a nested file (make() with a physical type sets it)
};

class ColumnWriter {
 public:
  static std::unique_ptr<ColumnWriter> make(const Column& column, WriteContext& ctx);
  // A writer of `physical` values (BYTE_ARRAY, INT64, INT32, DOUBLE or
  // BOOLEAN) for a leaf of a nested schema.
  static std::unique_ptr<ColumnWriter> make(LeafSpec leaf, format::Type physical,
                                            WriteContext& ctx);
  virtual ~ColumnWriter() = default;
  ColumnWriter(const ColumnWriter&) = delete;
  ColumnWriter& operator=(const ColumnWriter&) = delete;

  void add_null() {
    levels_.push_back(0);
    ++null_count_;
    added(1);
  }

  // Nested leaves: a value or null (at `definition`, below the maximum)
  // starts with the repetition level it is at, pushed first (leaves with
  // max_repetition > 0 only); the typed add of a value is followed by
  // defined(), which gives it the leaf's maximum definition level (the adds
  // write 1, a flat column's).
  void push_repetition(uint8_t level) { repetitions_.push_back(level); }
  void add_null(uint8_t definition) {
    levels_.push_back(definition);
    ++null_count_;
    added(1);
  }
  void defined() { levels_.back() = max_definition_; }
  // Closes the open page if it is due: called after each record (row) by
  // nested leaves, whose pages close only between records.
  void end_record() {
    if (open_bytes_ >= ctx_.options.page_bytes || levels_.size() >= kMaxPageRows) close_page();
  }
  uint8_t max_definition() const { return max_definition_; }
  uint8_t max_repetition() const { return max_repetition_; }

  // Closes the open page, appends the column chunk (dictionary page first)
  // to `file`, describes it in `chunk`, and starts an empty chunk for the
  // next row group.
  Status write_chunk(OutputFile& file, format::ColumnChunk* chunk);

 protected:
  ColumnWriter(LeafSpec leaf, format::Type type, WriteContext& ctx);

  // Called after each value or null: `bytes` more are buffered.
  void added(size_t bytes) {
    open_bytes_ += bytes;
    ctx_.buffered_bytes += bytes;
    if (open_bytes_ >= ctx_.options.page_bytes || levels_.size() >= kMaxPageRows) page_full();
  }
  // The open page is due to close: closes it, unless it belongs to a nested
  // file (then end_record() does, between records).
  [[gnu::noinline]] void page_full();
  // Encodes, compresses and keeps the open page; records a failure in ctx_.error.
  void close_page();
  Status flush_page();

  // Appends a page (its header, then `body` compressed) to `out`, counting
  // its sizes into the chunk's totals.
  Status emit_page(format::PageHeader& header, std::span<const uint8_t> body,
                   std::vector<uint8_t>& out);

  // Appends the open page's non-null values to `out` in the encoding it
  // returns, and forgets them.
  virtual format::Encoding encode_values(std::vector<uint8_t>& out) = 0;
  // Appends the chunk's dictionary page to `out`, if it has one.
  virtual Status dictionary_page(std::vector<uint8_t>& out) {
    (void)out;
    return {};
  }
  virtual format::Statistics statistics(int64_t null_count) const = 0;
  // Forgets per-chunk state (statistics, dictionary).
  virtual void reset_chunk() = 0;

  WriteContext& ctx_;
  std::vector<uint8_t> levels_;  // open page: definition level of each value or null

 private:
  std::string name() const;  // the path, dotted, for messages

  std::vector<std::string> path_;
  format::Type type_;
  uint8_t max_definition_;
  uint8_t max_repetition_;
  bool nested_;                       // a leaf of a nested file: pages close in end_record() only
  std::vector<uint8_t> repetitions_;  // open page: repetition level of each level
  uint64_t open_bytes_ = 0;
  int64_t null_count_ = 0;  // this chunk
  int64_t num_values_ = 0;  // this chunk, in closed pages, nulls included
  int64_t uncompressed_bytes_ = 0;
  int64_t compressed_bytes_ = 0;
  int32_t plain_pages_ = 0;
  int32_t dictionary_pages_ = 0;  // data pages with RLE_DICTIONARY
  std::vector<uint8_t> pages_;    // closed data pages, headers included
  std::vector<uint8_t> dictionary_;
};

// The hash table of a dictionary-encoded column chunk, the one both
// dictionary kinds use: open addressing with linear probing over a
// power-of-two array of slots, at most half full. A slot holds what a probe
// compares (`key`: an int64 value, or a string's hash tag and size) and the
// entry's index and, for strings, the offset of its bytes in the dictionary
// page, so a hit touches one slot (and the bytes).
class DictionaryTable {
 public:
  struct Slot {
    uint64_t key;
    uint32_t index;   // kFree when free
    uint32_t offset;  // strings: of the value's bytes in the dictionary page
  };
  static constexpr uint32_t kFree = UINT32_MAX;

  DictionaryTable() { slots_.assign(kInitialSlots, Slot{0, kFree, 0}); }

  // Finds the entry whose key is `key` and for which `same(slot)` is true
  // and calls `found(slot)`. When there is none, `insert(slot)` makes it:
  // fills the free slot and returns true (then `found` is called with it), or
  // returns false when the dictionary takes no more entries. False then.
  // `hash` places the key, `hash_of(slot)` every slot when the table grows.
  template <typename Same, typename Found, typename Insert, typename HashOf>
  bool find_or_insert(uint64_t hash, uint64_t key, Same&& same, Found&& found, Insert&& insert,
                      HashOf&& hash_of) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.index == kFree) {
        if (!insert(slot)) return false;
        found(slot);
        if (++size_ * 2 > slots_.size()) grow(hash_of);
        return true;
      }
      if (slot.key == key && same(slot)) {
        found(slot);
        return true;
      }
    }
  }
  // Entries in the table.
  uint32_t size() const { return size_; }
  // Empties the table (a large one goes back to its first size).
  void clear() {
    if (slots_.size() > kInitialSlots * 1024) {
      slots_.assign(kInitialSlots, Slot{0, kFree, 0});
    } else {
      std::fill(slots_.begin(), slots_.end(), Slot{0, kFree, 0});
    }
    size_ = 0;
  }

 private:
  static constexpr size_t kInitialSlots = 64;  // grows; small tables stay in L1

  template <typename HashOf>
  void grow(HashOf&& hash_of) {
    std::vector<Slot> old(slots_.size() * 2, Slot{0, kFree, 0});
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.index == kFree) continue;
      size_t i = hash_of(s) & mask;
      while (slots_[i].index != kFree) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  uint32_t size_ = 0;
};

// What the dictionary-encoded kinds share: the PLAIN dictionary page body
// and its hash table, the open page's indices, the RLE_DICTIONARY page
// encoding, and the decision to switch to PLAIN for the rest of the chunk
// (admit(), dictionary_pays_off()). A subclass looks values up in table_,
// inserting through admit(), and calls add_index() or, once fallback_ is
// set, buffers the value plain itself.
class DictionaryColumnWriter : public ColumnWriter {
 protected:
  using ColumnWriter::ColumnWriter;

  void add_index(uint32_t index) {
    levels_.push_back(1);
    indices_.push_back(index);
    added(1 + sizeof index);
  }
  // Whether the dictionary takes an entry of `bytes` more PLAIN bytes. If
  // not, it is full: what is buffered stays dictionary-encoded, the rest of
  // this chunk is plain (fallback_), and the caller writes the value plain.
  // With dictionary_pays_off(), asked as pages close, the only places that
  // decide between dictionary and plain.
  bool admit(size_t bytes) {
    if (dict_.size() + bytes <= ctx_.options.dictionary_page_bytes) return true;
    close_page();
    go_plain();
    return false;
  }
  // Called when fallback_ is set.
  virtual void on_fallback() {}

  // Entries in the dictionary.
  size_t entries() const { return table_.size(); }
  // Appends the open page's plain values to `out` and forgets them.
  virtual void encode_plain(std::vector<uint8_t>& out) = 0;
  // Whether to keep the dictionary for the rest of the chunk, asked as each
  // dictionary-encoded page closes (before it is kept): the page holds
  // `values` non-null values, its indices took `index_bytes` and the
  // dictionary grew by `dictionary_bytes` since the previous page. If not,
  // the rest of the chunk is plain, and if no earlier page used the
  // dictionary, this page's indices are handed to drop_dictionary(), the
  // page is written plain and the chunk has no dictionary page.
  virtual bool dictionary_pays_off(uint64_t values, uint64_t index_bytes,
                                   uint64_t dictionary_bytes) const {
    (void)values;
    (void)index_bytes;
    (void)dictionary_bytes;
    return true;
  }
  // Turns indices_ into plain values of the open page, then empties the
  // dictionary. Called only if dictionary_pays_off() can return false.
  virtual void drop_dictionary() {}
  // Forgets the dictionary state of the chunk (not the subclass's table).
  void reset_dictionary();

  std::vector<uint8_t> dict_;      // PLAIN entries: the dictionary page body
  DictionaryTable table_;          // the entries of dict_, by value
  std::vector<uint32_t> indices_;  // open page, dictionary mode
  bool fallback_ = false;          // this chunk went plain

 private:
  format::Encoding encode_values(std::vector<uint8_t>& out) final;
  Status dictionary_page(std::vector<uint8_t>& out) final;
  void go_plain() {
    fallback_ = true;
    on_fallback();
  }

  uint64_t dict_bytes_seen_ = 0;  // dict_.size() when the previous page closed
  uint32_t dict_data_pages_ = 0;  // this chunk
};

class StringColumnWriter final : public DictionaryColumnWriter {
 public:
  StringColumnWriter(LeafSpec leaf, WriteContext& ctx);
  void add(std::string_view v);

 private:
  using Slot = DictionaryTable::Slot;
  struct Entry {
    uint32_t offset;  // of the bytes in dict_, after their length prefix
    uint32_t size;
  };
  static constexpr Slot kNone = {0, DictionaryTable::kFree, 0};

  // The dictionary index of `v`, inserting it; false if the dictionary is
  // full (admit()).
  bool find_or_insert(std::string_view v, uint32_t* index);
  std::string_view entry(uint32_t i) const {
    return {reinterpret_cast<const char*>(dict_.data()) + entries_[i].offset, entries_[i].size};
  }

  void encode_plain(std::vector<uint8_t>& out) override;
  format::Statistics statistics(int64_t null_count) const override;
  void reset_chunk() override;

  std::vector<Entry> entries_;       // by index, for the statistics
  Slot last_ = kNone;                // the previous value's: rows often repeat it
  std::vector<uint8_t> plain_;       // open page, plain mode (PLAIN-encoded)
  ByteArrayStatistics plain_stats_;  // values written plain
};

// INT64 and TIMESTAMP: dictionary-encoded like strings (event timestamps
// repeat for thousands of rows), with an early fallback to PLAIN when the
// dictionary stops paying off (see dictionary_pays_off).
class Int64ColumnWriter final : public DictionaryColumnWriter {
 public:
  Int64ColumnWriter(LeafSpec leaf, WriteContext& ctx);
  void add(int64_t v) {
    if (v == last_value_ && last_index_ != DictionaryTable::kFree) {
      add_index(last_index_);
    } else {
      add_new(v);
    }
  }

 private:
  void add_new(int64_t v);  // not the previous value, or plain mode
  // The dictionary index of `v`, inserting it; false if the dictionary is
  // full (admit()).
  bool find_or_insert(int64_t v, uint32_t* index);
  int64_t entry(uint32_t i) const;

  void encode_plain(std::vector<uint8_t>& out) override;
  bool dictionary_pays_off(uint64_t values, uint64_t index_bytes,
                           uint64_t dictionary_bytes) const override;
  void drop_dictionary() override;
  void on_fallback() override { last_index_ = DictionaryTable::kFree; }
  format::Statistics statistics(int64_t null_count) const override;
  void reset_chunk() override;

  int64_t last_value_ = 0;  // the previous non-null value and its index, while
  uint32_t last_index_ = DictionaryTable::kFree;  // in dictionary mode; rows often repeat it
  std::vector<int64_t> values_;                   // open page, plain mode
  Int64Statistics stats_;                         // every dictionary entry and plain value
};

// Appends fixed-width values as PLAIN encodes them (little-endian, as stored).
template <typename T>
void append_plain(const std::vector<T>& values, std::vector<uint8_t>& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(values.data());
  out.insert(out.end(), p, p + values.size() * sizeof(T));
}

// Fixed-width values written PLAIN, no dictionary: DOUBLE and INT32.
template <typename T, typename Stats, format::Type kType>
class PlainColumnWriter final : public ColumnWriter {
 public:
  PlainColumnWriter(LeafSpec leaf, WriteContext& ctx) : ColumnWriter(std::move(leaf), kType, ctx) {}
  void add(T v) {
    levels_.push_back(1);
    values_.push_back(v);
    stats_.update(v);
    added(1 + sizeof v);
  }

 private:
  format::Encoding encode_values(std::vector<uint8_t>& out) override {
    append_plain(values_, out);
    values_.clear();
    return format::Encoding::plain;
  }
  format::Statistics statistics(int64_t null_count) const override {
    return stats_.encode(null_count);
  }
  void reset_chunk() override { stats_.reset(); }

  std::vector<T> values_;
  Stats stats_;
};

using DoubleColumnWriter = PlainColumnWriter<double, DoubleStatistics, format::Type::float64>;
using Int32ColumnWriter = PlainColumnWriter<int32_t, Int32Statistics, format::Type::int32>;

class BooleanColumnWriter final : public ColumnWriter {
 public:
  BooleanColumnWriter(LeafSpec leaf, WriteContext& ctx);
  void add(bool v) {
    levels_.push_back(1);
    values_.push_back(v ? 1 : 0);
    stats_.update(v);
    added(2);
  }

 private:
  format::Encoding encode_values(std::vector<uint8_t>& out) override;
  format::Statistics statistics(int64_t null_count) const override;
  void reset_chunk() override { stats_.reset(); }

  std::vector<uint8_t> values_;
  BooleanStatistics stats_;
};

}  // namespace questlog::parquet
