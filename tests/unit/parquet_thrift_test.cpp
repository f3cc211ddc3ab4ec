// Thrift compact protocol encoding vectors (thrift-compact-protocol.md), and
// a Parquet page header worked out byte by byte.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "parquet/format.h"
#include "parquet/thrift_compact.h"

namespace questlog::parquet::thrift {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes varint(uint64_t v) {
  Bytes out;
  put_varint(out, v);
  return out;
}

TEST(ParquetThriftTest, Varint) {
  EXPECT_EQ(varint(0), (Bytes{0x00}));
  EXPECT_EQ(varint(1), (Bytes{0x01}));
  EXPECT_EQ(varint(127), (Bytes{0x7F}));
  EXPECT_EQ(varint(128), (Bytes{0x80, 0x01}));
  EXPECT_EQ(varint(300), (Bytes{0xAC, 0x02}));
  EXPECT_EQ(varint(UINT64_MAX),
            (Bytes{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
}

TEST(ParquetThriftTest, Zigzag) {
  EXPECT_EQ(zigzag(0), 0u);
  EXPECT_EQ(zigzag(-1), 1u);
  EXPECT_EQ(zigzag(1), 2u);
  EXPECT_EQ(zigzag(-2), 3u);
  EXPECT_EQ(zigzag(2147483647), 4294967294u);
  EXPECT_EQ(zigzag(-2147483648LL), 4294967295u);
  EXPECT_EQ(zigzag(INT64_MAX), UINT64_MAX - 1);
  EXPECT_EQ(zigzag(INT64_MIN), UINT64_MAX);
}

TEST(ParquetThriftTest, ShortFieldHeaders) {
  Bytes out;
  CompactWriter w(out);
  w.begin_struct();
  w.field_i32(1, 5);       // delta 1, i32: 0x15, zigzag 10
  w.field_i64(3, -1);      // delta 2, i64: 0x26, zigzag 1
  w.field_bool(4, true);   // delta 1, true: 0x11
  w.field_bool(5, false);  // delta 1, false: 0x12
  w.field_binary(6, "ab");
  w.end_struct();
  EXPECT_EQ(out, (Bytes{0x15, 0x0A, 0x26, 0x01, 0x11, 0x12, 0x18, 0x02, 'a', 'b', 0x00}));
}

TEST(ParquetThriftTest, LongFieldHeaderWhenDeltaPasses15) {
  Bytes out;
  CompactWriter w(out);
  w.begin_struct();
  w.field_i32(1, 0);
  w.field_i32(20, 1);  // delta 19: type byte, then the id as zigzag varint (40)
  w.field_i16(21, -3);
  w.end_struct();
  EXPECT_EQ(out, (Bytes{0x15, 0x00, 0x05, 0x28, 0x02, 0x14, 0x05, 0x00}));
}

TEST(ParquetThriftTest, NestedStructsKeepTheirOwnFieldIds) {
  Bytes out;
  CompactWriter w(out);
  w.begin_struct();
  w.field_struct(5);  // 0x5C
  w.field_i32(1, 1);  // inner ids start from 0 again: 0x15 0x02
  w.end_struct();     // 0x00
  w.field_i32(7, 2);  // outer delta 7 - 5 = 2: 0x25 0x04
  w.end_struct();
  EXPECT_EQ(out, (Bytes{0x5C, 0x15, 0x02, 0x00, 0x25, 0x04, 0x00}));
}

TEST(ParquetThriftTest, ListHeaders) {
  Bytes out;
  CompactWriter w(out);
  w.begin_struct();
  w.field_list(2, CType::i32, 3);  // 0x29, then size 3 | i32: 0x35
  w.elem_i32(0);
  w.elem_i32(3);
  w.elem_i32(8);
  w.field_list(3, CType::binary, 15);  // size >= 15: 0xF8 then varint 15
  for (int i = 0; i < 15; ++i) w.elem_binary("x");
  w.end_struct();
  Bytes want = {0x29, 0x35, 0x00, 0x06, 0x10, 0x19, 0xF8, 0x0F};
  for (int i = 0; i < 15; ++i) {
    want.push_back(0x01);
    want.push_back('x');
  }
  want.push_back(0x00);
  EXPECT_EQ(out, want);
}

TEST(ParquetThriftTest, DataPageHeader) {
  format::PageHeader h;
  h.type = format::PageType::data_page;
  h.uncompressed_page_size = 10;
  h.compressed_page_size = 8;
  format::DataPageHeader d;
  d.num_values = 3;
  d.encoding = format::Encoding::rle_dictionary;
  h.data_page_header = d;
  Bytes out;
  format::serialize(h, out);
  EXPECT_EQ(out, (Bytes{0x15, 0x00,  // 1: type DATA_PAGE
                        0x15, 0x14,  // 2: uncompressed_page_size 10
                        0x15, 0x10,  // 3: compressed_page_size 8
                        0x2C,        // 5: data_page_header
                        0x15, 0x06,  //   1: num_values 3
                        0x15, 0x10,  //   2: encoding RLE_DICTIONARY (8)
                        0x15, 0x06,  //   3: definition levels RLE (3)
                        0x15, 0x06,  //   4: repetition levels RLE (3)
                        0x00, 0x00}));
}

TEST(ParquetThriftTest, DictionaryPageHeader) {
  format::PageHeader h;
  h.type = format::PageType::dictionary_page;
  h.uncompressed_page_size = 300;
  h.compressed_page_size = 300;
  format::DictionaryPageHeader d;
  d.num_values = 2;
  h.dictionary_page_header = d;
  Bytes out;
  format::serialize(h, out);
  EXPECT_EQ(out, (Bytes{0x15, 0x04,        // 1: type DICTIONARY_PAGE (2)
                        0x15, 0xD8, 0x04,  // 2: 300
                        0x15, 0xD8, 0x04,  // 3: 300
                        0x4C,              // 7: dictionary_page_header (delta 4)
                        0x15, 0x04,        //   1: num_values 2
                        0x15, 0x00,        //   2: encoding PLAIN
                        0x00, 0x00}));
}

}  // namespace
}  // namespace questlog::parquet::thrift
