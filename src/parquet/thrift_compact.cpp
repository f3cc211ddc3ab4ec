#include "parquet/thrift_compact.h"

#include <cassert>

namespace questlog::parquet::thrift {

void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

void CompactWriter::begin_struct() {
  assert(depth_ < kMaxDepth);
  last_id_[depth_++] = 0;
}

void CompactWriter::end_struct() {
  assert(depth_ > 0);
  out_.push_back(static_cast<uint8_t>(CType::stop));
  --depth_;
}

void CompactWriter::field_header(int16_t id, CType type) {
  assert(depth_ > 0);
  int16_t& last = last_id_[depth_ - 1];
  int delta = id - last;
  if (delta > 0 && delta <= 15) {
    out_.push_back(static_cast<uint8_t>(delta << 4 | static_cast<uint8_t>(type)));
  } else {
    out_.push_back(static_cast<uint8_t>(type));
    put_varint(out_, zigzag(id));
  }
  last = id;
}

void CompactWriter::field_bool(int16_t id, bool v) {
  field_header(id, v ? CType::bool_true : CType::bool_false);
}

void CompactWriter::field_i16(int16_t id, int16_t v) {
  field_header(id, CType::i16);
  put_varint(out_, zigzag(v));
}

void CompactWriter::field_i32(int16_t id, int32_t v) {
  field_header(id, CType::i32);
  put_varint(out_, zigzag(v));
}

void CompactWriter::field_i64(int16_t id, int64_t v) {
  field_header(id, CType::i64);
  put_varint(out_, zigzag(v));
}

void CompactWriter::field_binary(int16_t id, std::string_view v) {
  field_header(id, CType::binary);
  elem_binary(v);
}

void CompactWriter::field_struct(int16_t id) {
  field_header(id, CType::structure);
  begin_struct();
}

void CompactWriter::field_list(int16_t id, CType element, size_t size) {
  field_header(id, CType::list);
  auto type = static_cast<uint8_t>(element);
  if (size < 15) {
    out_.push_back(static_cast<uint8_t>(size << 4 | type));
  } else {
    out_.push_back(static_cast<uint8_t>(0xF0 | type));
    put_varint(out_, size);
  }
}

void CompactWriter::elem_i32(int32_t v) { put_varint(out_, zigzag(v)); }

void CompactWriter::elem_binary(std::string_view v) {
  put_varint(out_, v.size());
  out_.insert(out_.end(), v.begin(), v.end());
}

}  // namespace questlog::parquet::thrift
