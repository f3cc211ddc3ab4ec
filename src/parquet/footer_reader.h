// Reads what a Parquet file's footer says about the file, without reading its
// data: the FileMetaData at the end (docs/formats.md, "File layout"):
//
//   ... FileMetaData (Thrift compact) | u32 length, little-endian | "PAR1"
//
// Any writer's files (pyarrow's, Spark's, DuckDB's, ours): the metadata is
// decoded with a generic compact-protocol reader that skips what it does not
// need. Encrypted footers ("PARE") are refused.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "io/file_system.h"
#include "util/status.h"

namespace questlog::parquet {

struct FooterInfo {
  int64_t num_rows = 0;
  int64_t row_groups = 0;
  std::string created_by;       // empty when the writer left it out
  uint32_t metadata_bytes = 0;  // the FileMetaData's length
};

// Decodes a FileMetaData (the bytes between the data and the length word).
// Errc::corruption naming `name` when it does not decode or has no num_rows.
Result<FooterInfo> parse_file_metadata(std::span<const uint8_t> metadata, const std::string& name);

// Reads the footer of `file`, which is `size` bytes long: one read of its last
// 64 KiB (a second one when the metadata is longer). Errc::corruption for a file
// too short, without the magic, or with a length that does not fit.
Result<FooterInfo> read_footer(io::File& file, uint64_t size);

}  // namespace questlog::parquet
