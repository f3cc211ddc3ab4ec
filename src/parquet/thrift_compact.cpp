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

uint8_t CompactReader::byte() {
  if (!ok_ || pos_ >= in_.size()) {
    fail();
    return 0;
  }
  return in_[pos_++];
}

uint64_t CompactReader::varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    uint8_t b = byte();
    if (!ok_) return 0;
    if (shift == 63 && b > 1) break;  // more than 64 bits
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return v;
  }
  fail();
  return 0;
}

void CompactReader::begin_struct() {
  if (depth_ >= kMaxDepth) {
    fail();
    return;
  }
  last_id_[depth_++] = 0;
}

void CompactReader::end_struct() {
  if (depth_ > 0) --depth_;
}

bool CompactReader::next_field(int16_t& id, CType& type) {
  if (!ok_ || depth_ == 0) return false;
  uint8_t b = byte();
  if (!ok_) return false;
  type = static_cast<CType>(b & 0x0F);
  if (type == CType::stop) return false;
  if ((b >> 4) == 0) {  // the long form: the id follows as a zigzag varint
    uint64_t z = varint();
    id = static_cast<int16_t>(static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1));
  } else {
    id = static_cast<int16_t>(last_id_[depth_ - 1] + (b >> 4));
  }
  if (static_cast<uint8_t>(type) > static_cast<uint8_t>(CType::structure)) {
    fail();
    return false;
  }
  last_id_[depth_ - 1] = id;
  return ok_;
}

int64_t CompactReader::read_i64() {
  uint64_t z = varint();
  return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
}

std::string_view CompactReader::read_binary() {
  uint64_t n = varint();
  if (!ok_ || n > in_.size() - pos_) {
    fail();
    return {};
  }
  std::string_view out(reinterpret_cast<const char*>(in_.data() + pos_), n);
  pos_ += n;
  return out;
}

void CompactReader::read_list_header(CType& element, uint32_t& size) {
  uint8_t b = byte();
  element = static_cast<CType>(b & 0x0F);
  uint64_t n = b >> 4;
  if (n == 15) n = varint();
  // Every element takes at least one byte: a larger count cannot be right.
  if (n > in_.size() - pos_ || static_cast<uint8_t>(element) > 12) fail();
  size = ok_ ? static_cast<uint32_t>(n) : 0;
}

void CompactReader::skip(CType type, bool in_list) {
  if (!ok_) return;
  switch (type) {
    case CType::bool_true:
    case CType::bool_false:
      if (in_list) byte();  // a list's bools are a byte each; a field's is in its type
      return;
    case CType::byte:
      byte();
      return;
    case CType::i16:
    case CType::i32:
    case CType::i64:
      varint();
      return;
    case CType::dbl:
      if (in_.size() - pos_ < 8) fail();
      pos_ += ok_ ? 8 : 0;
      return;
    case CType::binary:
      read_binary();
      return;
    case CType::list:
    case CType::set: {
      CType element;
      uint32_t n = 0;
      read_list_header(element, n);
      if (depth_ >= kMaxDepth) fail();
      ++depth_;  // nesting counts against the limit, as structs do
      for (uint32_t i = 0; i < n && ok_; ++i) skip(element, true);
      --depth_;
      return;
    }
    case CType::map: {
      uint64_t n = varint();
      if (n == 0) return;
      uint8_t kinds = byte();
      if (n > in_.size() - pos_) fail();
      if (depth_ >= kMaxDepth) fail();
      ++depth_;
      for (uint64_t i = 0; i < n && ok_; ++i) {
        skip(static_cast<CType>(kinds >> 4), true);
        skip(static_cast<CType>(kinds & 0x0F), true);
      }
      --depth_;
      return;
    }
    case CType::structure: {
      begin_struct();
      int16_t id;
      CType t;
      while (next_field(id, t)) skip(t);
      end_struct();
      return;
    }
    case CType::stop:
      break;
  }
  fail();
}

}  // namespace questlog::parquet::thrift
