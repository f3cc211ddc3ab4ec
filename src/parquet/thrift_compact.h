// The Thrift compact protocol, the encoding of every Parquet page header and
// of the file footer. The encoder has what parquet.thrift needs to be
// *written*: structs, lists, bool, i16/i32/i64 (zigzag varints) and binary.
// The decoder reads any compact-protocol struct far enough to pick out fields
// by id and skip the rest (`questlog ls` reads num_rows from footers).
//
// Wire format (thrift/doc/specs/thrift-compact-protocol.md):
//   varint       unsigned LEB128, 7 bits a byte, low group first
//   i16/i32/i64  zigzag ((n << 1) ^ (n >> 63)) as a varint
//   binary       varint length, then the bytes
//   field        header byte (id delta << 4 | type) when the delta from the
//                previous field id of the same struct is 1..15, else the type
//                byte followed by the id as a zigzag varint; bools carry their
//                value in the type nibble (1 true, 2 false)
//   struct       fields in any order, then a stop byte 0x00
//   list         (size << 4 | element type) when size < 15, else
//                (0xF0 | element type) then the size as a varint
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace questlog::parquet::thrift {

// Compact-protocol type ids.
enum class CType : uint8_t {
  stop = 0,
  bool_true = 1,
  bool_false = 2,
  byte = 3,
  i16 = 4,
  i32 = 5,
  i64 = 6,
  dbl = 7,
  binary = 8,
  list = 9,
  set = 10,
  map = 11,
  structure = 12,
};

// Appends the unsigned LEB128 form of `v` to `out`.
void put_varint(std::vector<uint8_t>& out, uint64_t v);
// Zigzag mapping of a signed integer onto an unsigned one (0,-1,1,-2 -> 0,1,2,3).
inline uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

// Appends one Thrift message to a byte vector. Calls must nest like the data:
// begin_struct()/end_struct() around fields, begin_list() followed by exactly
// `size` elements. The encoder does not check the schema; format.cpp does the
// mapping from parquet.thrift. Field ids within one struct must increase.
//
// `out` must outlive the encoder. Not thread-safe.
class CompactWriter {
 public:
  explicit CompactWriter(std::vector<uint8_t>& out) : out_(out) {}

  // A struct: the top-level message, a list element, or (after field_struct)
  // a field value. end_struct() writes the stop byte.
  void begin_struct();
  void end_struct();

  void field_bool(int16_t id, bool v);
  void field_i16(int16_t id, int16_t v);
  void field_i32(int16_t id, int32_t v);
  void field_i64(int16_t id, int64_t v);
  void field_binary(int16_t id, std::string_view v);
  // Header of a struct-valued field; the caller continues with the struct's
  // fields and end_struct().
  void field_struct(int16_t id);
  // Header of a list-valued field; `size` elements must follow.
  void field_list(int16_t id, CType element, size_t size);

  // List elements.
  void elem_i32(int32_t v);
  void elem_binary(std::string_view v);

 private:
  void field_header(int16_t id, CType type);

  static constexpr int kMaxDepth = 16;
  std::vector<uint8_t>& out_;
  int16_t last_id_[kMaxDepth] = {};
  int depth_ = 0;  // open structs; last_id_[depth_ - 1] is the innermost
};

// Reads one Thrift compact message from a byte span. Call next_field() in a
// loop inside begin_struct()/end_struct(); read the fields you want with the
// read_*() of their type and skip() the others. Errors are sticky: reading past
// the end, a varint over 10 bytes, a bad type, nesting deeper than 64 make
// ok() false, after which every read returns 0 or empty and next_field()
// returns false.
//
// The span must outlive the reader (read_binary() points into it).
class CompactReader {
 public:
  explicit CompactReader(std::span<const uint8_t> in) : in_(in) {}

  void begin_struct();
  void end_struct();
  // The next field of the current struct: false at its stop byte (or on error).
  // A bool field's value is its type (bool_true or bool_false).
  bool next_field(int16_t& id, CType& type);

  int64_t read_i64();  // i16, i32 and i64 alike (zigzag varints)
  int32_t read_i32() { return static_cast<int32_t>(read_i64()); }
  std::string_view read_binary();
  // A list or set header: the element type and count.
  void read_list_header(CType& element, uint32_t& size);
  // Skips a value of `type`: a field's (`in_list` false) or a list element's,
  // whose bools take a byte each.
  void skip(CType type, bool in_list = false);

  bool ok() const { return ok_; }
  size_t position() const { return pos_; }

 private:
  uint64_t varint();
  uint8_t byte();
  void fail() { ok_ = false; }

  static constexpr int kMaxDepth = 64;
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool ok_ = true;
  int16_t last_id_[kMaxDepth] = {};
  int depth_ = 0;
};

}  // namespace questlog::parquet::thrift
