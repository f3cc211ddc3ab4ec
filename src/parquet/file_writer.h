// Writes one Parquet file (format 2.x) from rows of a fixed schema: flat
// optional columns (create, the set_* calls and end_row), or nested fields
// (create_nested and write_row, nested.h). Streams: rows are buffered per column until a row group
// reaches its size bound, then encoded and written, so memory stays bounded
// whatever the number of rows.
//
// Why our own writer: Debian 12 packages no Arrow C++ (nor any other Parquet
// library), and the subset we need (flat optional columns of five types) is
// small. It is proven by pyarrow, DuckDB and Spark reading what it writes
// (tests/integration/test_parquet_conformance.py; nested files in
// tests/integration/test_delta_checkpoint.py).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/file_system.h"
#include "parquet/nested.h"
#include "util/status.h"

namespace questlog::parquet {

enum class ColumnType {
  string,            // BYTE_ARRAY, logical type STRING (UTF-8)
  int64,             // INT64
  float64,           // DOUBLE
  boolean,           // BOOLEAN
  timestamp_micros,  // INT64, logical type TIMESTAMP(isAdjustedToUTC=true, MICROS)
};

struct Column {
  std::string name;
  ColumnType type;
};

enum class Codec { uncompressed, snappy, zstd };

struct WriterOptions {
  Codec codec = Codec::snappy;                  // Spark's default
  uint64_t row_group_bytes = 64ull << 20;       // buffered values per row group, at most
  uint64_t page_bytes = 1ull << 20;             // data page size, about
  uint64_t dictionary_page_bytes = 1ull << 20;  // past it a string/int64 column goes plain
  std::string created_by = "questlog version 0.1.0";
};

// One column's statistics over the whole file. min and max are set only when
// every row group with a non-null value had them (statistics.h leaves out
// over-long strings and all-NaN chunks); they are exact then. Their bytes are
// the values in Parquet's PLAIN encoding (int64 and timestamps 8 bytes little
// endian, doubles 8 bytes IEEE, booleans 1 byte, strings as they are).
struct ColumnSummary {
  int64_t null_count = 0;
  int64_t nan_count = 0;  // doubles only
  std::optional<std::string> min;
  std::optional<std::string> max;
};

// What the file holds, once closed.
struct FileSummary {
  uint64_t rows = 0;
  uint64_t row_groups = 0;
  uint64_t bytes = 0;
  std::vector<ColumnSummary> columns;  // by index in the schema (nested: by leaf, null_count only)
};

// One thread at a time. Files written are described in docs/formats.md.
class FileWriter {
 public:
  // Creates (truncates) `path` in `fs`, which must outlive the writer. Every
  // column is OPTIONAL; names must be unique.
  static Result<std::unique_ptr<FileWriter>> create(io::FileSystem& fs,
                                                    const std::filesystem::path& path,
                                                    std::vector<Column> schema,
                                                    WriterOptions options = {});
  // The same on io::local_file_system().
  static Result<std::unique_ptr<FileWriter>> create(const std::filesystem::path& path,
                                                    std::vector<Column> schema,
                                                    WriterOptions options = {});
  // A file of nested fields (nested.h), written with write_row() only. Names
  // must be unique among siblings and non-empty; a list has one child, a map
  // a scalar key and a value, a group at least one field; at most 100
  // levels of nesting.
  static Result<std::unique_ptr<FileWriter>> create_nested(io::FileSystem& fs,
                                                           const std::filesystem::path& path,
                                                           std::vector<Field> schema,
                                                           WriterOptions options = {});
  ~FileWriter();  // a file not closed is left incomplete (the caller deletes it)
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  // One row: set each column at most once (by index in the schema), then
  // end_row(). A column not set in a row is null. A setter whose type does not
  // match the column's is a programming error (asserted).
  //
  // Setters copy what they need; `value` need not outlive the call. Strings
  // must be UTF-8 (not checked) and at most 1 GiB. In a build without asserts a
  // misused setter is ignored and the next end_row() reports it.
  void set_string(size_t column, std::string_view value);
  void set_int64(size_t column, int64_t value);  // also timestamp_micros
  void set_float64(size_t column, double value);
  void set_boolean(size_t column, bool value);
  // May write a row group. Returns the first error the writer met (a failed
  // write, a misused setter); after an error the file is unusable: every later
  // end_row() and close() return that error.
  Status end_row();

  // Nested files: one row, a value per top-level field (missing trailing
  // ones are null). A value that does not fit its field (a string for an
  // int64, a null for a required field, a group with the wrong number of
  // parts) is an error that makes the file unusable, as for end_row().
  Status write_row(std::span<const Value> row);

  // Writes the last row group and the footer, syncs, and closes the file.
  Result<FileSummary> close();

  struct Impl;

 private:
  explicit FileWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace questlog::parquet
