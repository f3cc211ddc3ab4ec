// The part of parquet.thrift (apache/parquet-format) that questlog writes:
// enum values and the structs of page headers and the footer, with only the
// fields we set. serialize() encodes them with the Thrift compact protocol
// using the field ids of parquet.thrift. docs/formats.md ("Parquet files")
// describes the resulting bytes for people; change both together.
//
// File layout:
//   "PAR1"
//   per row group, per column: [dictionary page] data page...
//        a page is a PageHeader (thrift) followed by its (compressed) body
//   FileMetaData (thrift)
//   footer length (u32 little-endian) "PAR1"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace questlog::parquet::format {

inline constexpr std::string_view kMagic = "PAR1";

// FileMetaData.version. parquet.thrift asks writers to write 1 "for maximum
// compatibility with readers"; parquet-mr (Spark) does too. The logical type
// annotations and RLE_DICTIONARY we use are read whatever this says.
inline constexpr int32_t kFileVersion = 1;

enum class Type : int32_t {
  boolean = 0,
  int32 = 1,
  int64 = 2,
  int96 = 3,
  float32 = 4,
  float64 = 5,
  byte_array = 6,
  fixed_len_byte_array = 7,
};

enum class ConvertedType : int32_t {
  utf8 = 0,
  map = 1,
  list = 3,
  timestamp_millis = 9,
  timestamp_micros = 10
};

enum class Repetition : int32_t { required = 0, optional = 1, repeated = 2 };

enum class Encoding : int32_t {
  plain = 0,
  plain_dictionary = 2,
  rle = 3,
  bit_packed = 4,
  rle_dictionary = 8,
};

enum class CompressionCodec : int32_t { uncompressed = 0, snappy = 1, gzip = 2, zstd = 6 };

enum class PageType : int32_t {
  data_page = 0,
  index_page = 1,
  dictionary_page = 2,
  data_page_v2 = 3
};

// Statistics (column chunk). min/max are PLAIN-encoded values (byte arrays
// without their length prefix) in the column's type-defined order.
struct Statistics {
  int64_t null_count = 0;
  std::optional<std::string> min_value;  // field 6
  std::optional<std::string> max_value;  // field 5
  std::optional<int64_t> nan_count;      // field 9, floating point only
};

struct DataPageHeader {
  int32_t num_values = 0;  // including nulls
  Encoding encoding = Encoding::plain;
  Encoding definition_level_encoding = Encoding::rle;
  Encoding repetition_level_encoding = Encoding::rle;
};

struct DictionaryPageHeader {
  int32_t num_values = 0;
  Encoding encoding = Encoding::plain;
};

struct PageHeader {
  PageType type = PageType::data_page;
  int32_t uncompressed_page_size = 0;  // body only, not this header
  int32_t compressed_page_size = 0;
  std::optional<DataPageHeader> data_page_header;
  std::optional<DictionaryPageHeader> dictionary_page_header;
};

// The LogicalType union members we use.
enum class LogicalType { none, string, map, list, timestamp_micros_utc };

struct SchemaElement {
  std::optional<Type> type;  // leaves only
  std::optional<Repetition> repetition;
  std::string name;
  std::optional<int32_t> num_children;  // groups only
  std::optional<ConvertedType> converted_type;
  LogicalType logical_type = LogicalType::none;
};

struct PageEncodingStats {
  PageType page_type = PageType::data_page;
  Encoding encoding = Encoding::plain;
  int32_t count = 0;
};

struct ColumnMetaData {
  Type type = Type::byte_array;
  std::vector<Encoding> encodings;
  std::vector<std::string> path_in_schema;
  CompressionCodec codec = CompressionCodec::uncompressed;
  int64_t num_values = 0;               // including nulls
  int64_t total_uncompressed_size = 0;  // all pages, headers included
  int64_t total_compressed_size = 0;
  int64_t data_page_offset = 0;
  std::optional<int64_t> dictionary_page_offset;
  Statistics statistics;
  std::vector<PageEncodingStats> encoding_stats;
};

struct ColumnChunk {
  int64_t file_offset = 0;  // deprecated; 0 as parquet.thrift asks
  ColumnMetaData meta_data;
};

struct RowGroup {
  std::vector<ColumnChunk> columns;
  int64_t total_byte_size = 0;  // uncompressed
  int64_t num_rows = 0;
  int64_t file_offset = 0;  // first page of the first column
  int64_t total_compressed_size = 0;
  int16_t ordinal = 0;  // written while it fits an i16
  bool has_ordinal = true;
};

struct FileMetaData {
  int32_t version = kFileVersion;
  std::vector<SchemaElement> schema;  // root group first, then its children depth-first
  int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
  std::string created_by;
  // column_orders: one TypeDefinedOrder per leaf, always written.
};

// Leaves (elements without num_children) in `schema`.
size_t leaf_count(const std::vector<SchemaElement>& schema);

// Append the compact-protocol encoding to `out`.
void serialize(const PageHeader& header, std::vector<uint8_t>& out);
void serialize(const FileMetaData& metadata, std::vector<uint8_t>& out);

}  // namespace questlog::parquet::format
