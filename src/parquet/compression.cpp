#include "parquet/compression.h"

#include <snappy.h>
#include <zstd.h>

#include <string>

namespace questlog::parquet {

Compressor::Compressor(Codec codec) : codec_(codec) {
  if (codec_ == Codec::zstd) zstd_ = ZSTD_createCCtx();
}

Compressor::~Compressor() { ZSTD_freeCCtx(zstd_); }

format::CompressionCodec Compressor::thrift_codec() const {
  switch (codec_) {
    case Codec::snappy:
      return format::CompressionCodec::snappy;
    case Codec::zstd:
      return format::CompressionCodec::zstd;
    case Codec::uncompressed:
      break;
  }
  return format::CompressionCodec::uncompressed;
}

Result<std::span<const uint8_t>> Compressor::compress(std::span<const uint8_t> input) {
  switch (codec_) {
    case Codec::uncompressed:
      return input;
    case Codec::snappy: {
      out_.resize(snappy::MaxCompressedLength(input.size()));
      size_t n = 0;
      snappy::RawCompress(reinterpret_cast<const char*>(input.data()), input.size(),
                          reinterpret_cast<char*>(out_.data()), &n);
      return std::span<const uint8_t>(out_.data(), n);
    }
    case Codec::zstd: {
      if (zstd_ == nullptr) return Status::error(Errc::io_error, "zstd: cannot create a context");
      out_.resize(ZSTD_compressBound(input.size()));
      size_t n = ZSTD_compressCCtx(zstd_, out_.data(), out_.size(), input.data(), input.size(),
                                   kZstdLevel);
      if (ZSTD_isError(n)) {
        return Status::error(Errc::io_error, std::string("zstd: ") + ZSTD_getErrorName(n));
      }
      return std::span<const uint8_t>(out_.data(), n);
    }
  }
  return Status::error(Errc::invalid_argument, "unknown codec");
}

}  // namespace questlog::parquet
