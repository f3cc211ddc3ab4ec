#include "parquet/footer_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "parquet/format.h"
#include "parquet/thrift_compact.h"

namespace questlog::parquet {
namespace {

constexpr uint64_t kTailRead = 64 * 1024;

Status corrupt(const std::string& name, const std::string& why) {
  return Status::error(Errc::corruption, fmt::format("{}: not a Parquet file: {}", name, why));
}

}  // namespace

Result<FooterInfo> parse_file_metadata(std::span<const uint8_t> metadata, const std::string& name) {
  using thrift::CType;
  thrift::CompactReader r(metadata);
  FooterInfo out;
  out.metadata_bytes = static_cast<uint32_t>(metadata.size());
  bool rows = false;
  r.begin_struct();
  int16_t id;
  CType type;
  while (r.next_field(id, type)) {
    if (id == 3 && type == CType::i64) {  // num_rows
      out.num_rows = r.read_i64();
      rows = true;
    } else if (id == 4 && type == CType::list) {  // row_groups
      CType element;
      uint32_t n = 0;
      r.read_list_header(element, n);
      out.row_groups = n;
      for (uint32_t i = 0; i < n && r.ok(); ++i) r.skip(element, true);
    } else if (id == 6 && type == CType::binary) {  // created_by
      out.created_by = std::string(r.read_binary());
    } else {
      r.skip(type);
    }
  }
  r.end_struct();
  if (!r.ok())
    return corrupt(name, fmt::format("its footer does not decode (at byte {} of {})", r.position(),
                                     metadata.size()));
  if (!rows) return corrupt(name, "its footer has no num_rows");
  if (out.num_rows < 0) return corrupt(name, "its footer says it has a negative number of rows");
  return out;
}

Result<FooterInfo> read_footer(io::File& file, uint64_t size) {
  const std::string& name = file.name();
  if (size < 12) return corrupt(name, fmt::format("{} bytes, too short", size));
  const uint64_t tail_size = std::min(size, kTailRead);
  std::vector<uint8_t> tail(tail_size);
  auto got = file.read_at(size - tail_size, reinterpret_cast<char*>(tail.data()), tail_size);
  if (!got.ok()) return got.status();
  if (*got != tail_size) return corrupt(name, "it is shorter than its size says");
  const uint8_t* end = tail.data() + tail_size;
  std::string_view magic(reinterpret_cast<const char*>(end - 4), 4);
  if (magic == "PARE")
    return Status::error(Errc::invalid_argument,
                         fmt::format("{}: an encrypted Parquet footer (not supported)", name));
  if (magic != format::kMagic) return corrupt(name, "no PAR1 at its end");
  const uint32_t length = static_cast<uint32_t>(end[-8]) | static_cast<uint32_t>(end[-7]) << 8 |
                          static_cast<uint32_t>(end[-6]) << 16 |
                          static_cast<uint32_t>(end[-5]) << 24;
  if (uint64_t{length} + 12 > size)
    return corrupt(name,
                   fmt::format("its footer length {} does not fit in {} bytes", length, size));
  if (uint64_t{length} + 8 <= tail_size)
    return parse_file_metadata(std::span<const uint8_t>(end - 8 - length, length), name);
  std::vector<uint8_t> meta(length);
  auto more = file.read_at(size - 8 - length, reinterpret_cast<char*>(meta.data()), length);
  if (!more.ok()) return more.status();
  if (*more != length) return corrupt(name, "it is shorter than its size says");
  return parse_file_metadata(meta, name);
}

}  // namespace questlog::parquet
