// Spark's DataFrame.printSchema() and show() layouts, byte for byte as PySpark
// 2.x/3.x (the seed's Spark) prints them; each ends with the blank line Python's
// print adds. (Spark 4 differs in two details: it prints null as NULL and ends
// the "only showing" footer without a newline. Checked against pyspark 4.)
//
//   root
//    |-- Accept: string (nullable = true)
//    |-- timestamp: timestamp (nullable = true)
//
//   +------+--------------------+
//   |Accept|           timestamp|
//   +------+--------------------+
//   |   */*|2018-07-21 23:00:...|
//   +------+--------------------+
//   only showing top 1 row
//
// Cells and headers longer than 20 characters are cut to 17 plus "...", and
// right-aligned; widths count East Asian wide characters twice, as Spark does.
// null prints "null". Timestamps print in UTC as "yyyy-MM-dd HH:mm:ss.SSS":
// always three fractional digits (Spark trims trailing zeros; the ingest time
// has milliseconds, so a fixed width lines rows up). Doubles print as Java's
// Double.toString does (1.0, 1.0E10).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "extract/event.h"
#include "extract/schema.h"
#include "parquet/file_writer.h"

namespace questlog::extract {

// "string", "long", "double", "boolean", "timestamp".
const char* spark_type_name(parquet::ColumnType t);

std::string schema_tree(const std::vector<SchemaColumn>& columns);

// Milliseconds since the epoch as "yyyy-MM-dd HH:mm:ss.SSS", UTC.
std::string format_timestamp(int64_t ms);
// Java's Double.toString: "1.0", "0.001", "1.0E7", "1.0E-4", "NaN", "Infinity".
std::string java_double(double d);
// A value as a cell of a column of type `t` (after widening), as Spark would
// print it; nullopt for null.
std::optional<std::string> format_cell(const Value& v, parquet::ColumnType t);

// Collects the first rows of a table and renders them like show(n).
class ShowTable {
 public:
  explicit ShowTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::optional<std::string>> cells) { rows_.push_back(std::move(cells)); }
  // `n` as passed to show(n); `total_rows` is how many the table has (for the
  // "only showing top n rows" footer).
  std::string render(uint64_t n, uint64_t total_rows) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::optional<std::string>>> rows_;
};

}  // namespace questlog::extract
