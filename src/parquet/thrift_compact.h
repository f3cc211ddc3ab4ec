// A minimal encoder for the Thrift compact protocol, the encoding of every
// Parquet page header and of the file footer. Only what parquet.thrift needs
// to be *written* is here: structs, lists, bool, i16/i32/i64 (zigzag varints)
// and binary. There is no decoder; readers are pyarrow, DuckDB and Spark.
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

}  // namespace questlog::parquet::thrift
