// Writes a table's buffered rows as Parquet files with the table's final
// schema: one file, or with partition_by one file per partition in Hive-style
// subdirectories (event_type=purchase_sword/), the partition columns left out
// of the files as Spark leaves them out.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "extract/row_buffer.h"
#include "extract/schema.h"
#include "io/file_system.h"
#include "parquet/file_writer.h"
#include "util/status.h"

namespace questlog::extract {

struct TableWriteSpec {
  std::vector<SchemaColumn> columns;  // every column, sorted, partition columns included
  std::vector<FieldId> partition_by;  // in directory order
  parquet::Codec codec = parquet::Codec::snappy;
  // The name of the index-th file (0, 1, ...) of this run.
  std::function<std::string(int index)> file_name;
  // Write a file even when there are no rows (Spark's overwrite of an empty
  // DataFrame leaves one file with the schema).
  bool empty_file = false;
  uint64_t memory_budget = 64ull << 20;  // for the writers' buffered row groups together
};

// One file written, for a table log (Delta Lake's add action).
struct WrittenFile {
  std::filesystem::path path;  // relative to the directory written to
  // By position in partition_by: the value as text (not escaped); nullopt: null.
  std::vector<std::optional<std::string>> partition_values;
  parquet::FileSummary summary;          // rows, bytes, and statistics by file column
  std::vector<parquet::Column> columns;  // the file's columns (partition columns left out)
};

struct TableWriteResult {
  uint64_t rows = 0;
  uint64_t files = 0;
  uint64_t bytes = 0;
  std::vector<WrittenFile> written;  // in the order written
};

// Writes `rows` under `dir` in `disk` (normally a TableDir staging directory),
// each file complete and synced once this returns ok.
Result<TableWriteResult> write_table(const RowBuffer& rows, io::FileSystem& disk,
                                     const std::filesystem::path& dir, const TableWriteSpec& spec);

// Sets `v` on column `column` of `w`, converting it to the column's type
// (widening: int64 -> float64 -> string). Null sets nothing.
void set_value(parquet::FileWriter& w, size_t column, parquet::ColumnType type, const Value& v,
               std::string& scratch);

}  // namespace questlog::extract
