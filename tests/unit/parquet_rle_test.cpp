// The RLE / bit-packing hybrid against byte vectors worked out by hand from
// parquet-format's Encodings.md.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "parquet/rle.h"

namespace questlog::parquet::rle {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes encode32(const std::vector<uint32_t>& v, int width) {
  Bytes out;
  encode(v.data(), v.size(), width, out);
  return out;
}

Bytes encode8(const std::vector<uint8_t>& v, int width) {
  Bytes out;
  encode(v.data(), v.size(), width, out);
  return out;
}

TEST(ParquetRleTest, BitWidth) {
  EXPECT_EQ(bit_width(0), 0);
  EXPECT_EQ(bit_width(1), 1);
  EXPECT_EQ(bit_width(2), 2);
  EXPECT_EQ(bit_width(3), 2);
  EXPECT_EQ(bit_width(4), 3);
  EXPECT_EQ(bit_width(255), 8);
  EXPECT_EQ(bit_width(256), 9);
  EXPECT_EQ(bit_width(UINT32_MAX), 32);
}

// Encodings.md: "the numbers 1 through 7 using bit width 3" packed as
// 10001000 11000110 11111010, behind the header of one group of 8.
TEST(ParquetRleTest, SpecBitPackingExample) {
  EXPECT_EQ(encode32({0, 1, 2, 3, 4, 5, 6, 7}, 3), (Bytes{0x03, 0x88, 0xC6, 0xFA}));
}

TEST(ParquetRleTest, LongRunIsOneRleRun) {
  // header varint(100 << 1) = C8 01, then the value in one byte.
  EXPECT_EQ(encode8(std::vector<uint8_t>(100, 1), 1), (Bytes{0xC8, 0x01, 0x01}));
}

TEST(ParquetRleTest, RunOfExactlyEightIsRle) {
  EXPECT_EQ(encode8(std::vector<uint8_t>(8, 0), 1), (Bytes{0x10, 0x00}));
}

TEST(ParquetRleTest, ShortInputIsOnePaddedGroup) {
  // 1,0,1 -> bits 101, zero-padded to a whole group of 8.
  EXPECT_EQ(encode8({1, 0, 1}, 1), (Bytes{0x03, 0x05}));
}

TEST(ParquetRleTest, EmptyInputWritesNothing) { EXPECT_EQ(encode8({}, 1), Bytes{}); }

TEST(ParquetRleTest, LiteralsBorrowFromTheRunToFillTheirGroup) {
  // 0,1,0 then twenty 1s: the bit-packed group takes five of the 1s
  // (bits 11111010), the remaining fifteen are an RLE run (header 15 << 1).
  std::vector<uint8_t> v = {0, 1, 0};
  v.insert(v.end(), 20, 1);
  EXPECT_EQ(encode8(v, 1), (Bytes{0x03, 0xFA, 0x1E, 0x01}));
}

TEST(ParquetRleTest, RunTooShortAfterBorrowingStaysLiteral) {
  // 0 then ten 1s: filling the group takes seven, leaving three: all literal.
  std::vector<uint8_t> v = {0};
  v.insert(v.end(), 10, 1);
  EXPECT_EQ(encode8(v, 1), (Bytes{0x05, 0xFE, 0x07}));
}

TEST(ParquetRleTest, RleValueTakesWholeBytesLittleEndian) {
  EXPECT_EQ(encode32(std::vector<uint32_t>(8, 300), 9), (Bytes{0x10, 0x2C, 0x01}));
  EXPECT_EQ(encode32(std::vector<uint32_t>(9, 0xA1B2C3D4), 32),
            (Bytes{0x12, 0xD4, 0xC3, 0xB2, 0xA1}));
}

TEST(ParquetRleTest, LongLiteralRunHasMultiByteHeader) {
  // 1000 alternating values: 125 groups, header varint(125 << 1 | 1) = FB 01.
  std::vector<uint8_t> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = i % 2;
  Bytes out = encode8(v, 1);
  ASSERT_EQ(out.size(), 2u + 125u);
  EXPECT_EQ(out[0], 0xFB);
  EXPECT_EQ(out[1], 0x01);
  for (size_t i = 2; i < out.size(); ++i) EXPECT_EQ(out[i], 0xAA) << i;
}

TEST(ParquetRleTest, WideBitPacking) {
  // Width 10: 8 values = 10 bytes. Value i*100 for i in 0..7.
  std::vector<uint32_t> v = {0, 100, 200, 300, 400, 500, 600, 700};
  Bytes out = encode32(v, 10);
  ASSERT_EQ(out.size(), 11u);
  EXPECT_EQ(out[0], 0x03);
  // Unpack and compare: the bit stream, LSB first.
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t got = 0;
    for (int b = 0; b < 10; ++b) {
      size_t bit = i * 10 + static_cast<size_t>(b);
      got |= static_cast<uint32_t>((out[1 + bit / 8] >> (bit % 8)) & 1) << b;
    }
    EXPECT_EQ(got, v[i]) << i;
  }
}

TEST(ParquetRleTest, PackBitsLeastSignificantFirst) {
  Bytes out;
  std::vector<uint8_t> v = {1, 0, 1, 1, 0, 0, 0, 0, 1};
  pack_bits(v.data(), v.size(), out);
  EXPECT_EQ(out, (Bytes{0x0D, 0x01}));
  out.clear();
  pack_bits(v.data(), 0, out);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace questlog::parquet::rle
