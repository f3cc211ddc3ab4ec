// Page compression: SNAPPY (raw snappy blocks, no framing), ZSTD (one zstd
// frame per page, level 3 as parquet-mr), or none. Compression.md in
// parquet-format defines what each codec name means inside a page.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "parquet/file_writer.h"
#include "parquet/format.h"
#include "util/status.h"

typedef struct ZSTD_CCtx_s ZSTD_CCtx;

namespace questlog::parquet {

// One per file writer; reuses its output buffer and zstd context across pages.
// Not thread-safe.
class Compressor {
 public:
  explicit Compressor(Codec codec);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  format::CompressionCodec thrift_codec() const;

  // The compressed form of `input`, valid until the next call (for
  // Codec::uncompressed, `input` itself).
  Result<std::span<const uint8_t>> compress(std::span<const uint8_t> input);

 private:
  Codec codec_;
  ZSTD_CCtx* zstd_ = nullptr;
  std::vector<uint8_t> out_;
};

inline constexpr int kZstdLevel = 3;

}  // namespace questlog::parquet
