#include "extract/row_buffer.h"

#include <algorithm>
#include <cstring>

namespace questlog::extract {
namespace {

// Row layout: varint body length, then the body (a length of 0 marks the
// start of a chunk: the decoder forgets the previous row):
//   zigzag varint  timestamp_ms minus the previous row's
//   varint         number of fields
//   per field:     varint id, u8 tag, payload by tag
enum Tag : uint8_t {
  kNull = 0,
  kFalse = 1,
  kTrue = 2,
  kInt = 3,         // zigzag varint
  kDouble = 4,      // 8 bytes, the double's bits, little-endian
  kString = 5,      // varint length, bytes
  kJson = 6,        // varint length, bytes
  kSameString = 7,  // the field's string in the last row that stored one
  kSameJson = 8,
};

inline void put_varint(std::string& out, uint64_t v) {
  char b[10];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<char>(v);
  out.append(b, n);
}

inline uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t unzigzag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// Reads a varint from `in`, advancing it; false when `in` ends first.
inline bool get_varint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    auto b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) return true;
  }
  return false;
}

Status corrupt() {
  return Status::error(Errc::corruption, "row buffer: a spilled row does not decode");
}

}  // namespace

RowBuffer::RowBuffer(io::FileSystem& fs, std::filesystem::path spill_dir)
    : fs_(fs), spill_dir_(std::move(spill_dir)) {}

RowBuffer::RowBuffer(std::filesystem::path spill_dir)
    : RowBuffer(io::local_file_system(), std::move(spill_dir)) {}

RowBuffer::~RowBuffer() = default;

void RowEncoder::put_string(FieldId id, uint8_t tag, uint8_t same_tag, std::string_view s) {
  if (id >= last_.size()) {
    last_.resize(id + 1);
    has_last_.resize(id + 1, 0);
  }
  if (has_last_[id] && last_[id] == s) {
    row_.push_back(static_cast<char>(same_tag));
    return;
  }
  row_.push_back(static_cast<char>(tag));
  put_varint(row_, s.size());
  row_.append(s);
  last_[id].assign(s);
  has_last_[id] = 1;
}

void RowEncoder::reset() {
  timestamp_ = 0;
  std::fill(has_last_.begin(), has_last_.end(), 0);
}

void RowEncoder::encode(const Event& e, std::string& out) {
  row_.clear();
  put_varint(row_, zigzag(e.timestamp_ms - timestamp_));
  timestamp_ = e.timestamp_ms;
  uint64_t n = 0;
  for (const Event::Field& f : e.fields()) n += f.present;
  put_varint(row_, n);
  for (const Event::Field& f : e.fields()) {
    if (!f.present) continue;
    put_varint(row_, f.id);
    const Value& v = f.value;
    switch (v.kind) {
      case Kind::null:
        row_.push_back(static_cast<char>(kNull));
        break;
      case Kind::boolean:
        row_.push_back(static_cast<char>(v.boolean ? kTrue : kFalse));
        break;
      case Kind::int64:
        row_.push_back(static_cast<char>(kInt));
        put_varint(row_, zigzag(v.int64));
        break;
      case Kind::float64: {
        row_.push_back(static_cast<char>(kDouble));
        char bits[8];
        std::memcpy(bits, &v.float64, 8);
        row_.append(bits, 8);
        break;
      }
      case Kind::string:
        put_string(f.id, kString, kSameString, v.text);
        break;
      case Kind::json:
        put_string(f.id, kJson, kSameJson, v.text);
        break;
    }
  }
  put_varint(out, row_.size());
  out.append(row_);
}

void RowBuffer::append(const Event& e) {
  if (after_chunk_) {  // the decoder forgot the chunk's rows: so does the encoder
    memory_.push_back(0);
    encoder_.reset();
    after_chunk_ = false;
  }
  encoder_.encode(e, memory_);
  ++rows_;
}

void RowBuffer::append_chunk(std::string_view chunk, uint64_t rows) {
  if (rows == 0) return;
  memory_.push_back(0);  // a new chunk
  memory_.append(chunk);
  rows_ += rows;
  after_chunk_ = true;
}

Status RowBuffer::spill() {
  if (memory_.empty()) return {};
  if (!spill_) {
    if (auto made = fs_.create_dirs(spill_dir_); !made.ok()) return made.status();
    auto file = fs_.temp_file(spill_dir_);
    if (!file.ok()) return file.status();
    spill_ = std::move(file).value();
  }
  if (Status s = spill_->write_at(spilled_, memory_); !s.ok()) return s;
  spilled_ += memory_.size();
  memory_.clear();
  return {};
}

RowBuffer::Cursor::Cursor(const RowBuffer& buffer) : buffer_(buffer) {
  if (buffer_.spilled_ == 0) {
    in_memory_ = true;
    view_ = buffer_.memory_;
  }
}

Status RowBuffer::Cursor::fill(size_t need) {
  if (view_.size() >= need || in_memory_) return {};
  if (file_position_ == buffer_.spilled_) {
    // The file is read to its end: finish what is left of it, then go on in
    // memory (a spill writes whole rows, so none straddles the two).
    if (view_.empty()) {
      in_memory_ = true;
      view_ = buffer_.memory_;
    }
    return {};
  }
  // Keep the unread tail, then read at least `need` bytes (or to the file's end).
  std::string rest(view_);
  size_t want = std::max<size_t>(need, 1 << 20);
  chunk_.resize(std::max(want, rest.size()));
  std::memcpy(chunk_.data(), rest.data(), rest.size());
  size_t have = rest.size();
  if (have < want && file_position_ < buffer_.spilled_) {
    size_t ask = std::min<uint64_t>(want - have, buffer_.spilled_ - file_position_);
    auto n = buffer_.spill_->read_at(file_position_, chunk_.data() + have, ask);
    if (!n.ok()) return n.status();
    if (*n < ask) return corrupt();  // the file ends before the bytes spilled
    have += *n;
    file_position_ += *n;
  }
  view_ = std::string_view(chunk_.data(), have);
  return {};
}

Result<bool> RowBuffer::Cursor::next(Row& row) {
  // A row's length prefix takes at most 10 bytes; the row then follows whole.
  if (Status s = fill(10); !s.ok()) return s;
  if (view_.empty()) return false;
  std::string_view probe = view_;
  uint64_t length = 0;
  if (!get_varint(probe, length)) return corrupt();
  size_t prefix = view_.size() - probe.size();
  if (length == 0) {  // a chunk starts: no row refers to the ones before
    view_.remove_prefix(prefix);
    timestamp_ = 0;
    last_.clear();
    return next(row);
  }
  if (Status s = fill(prefix + length); !s.ok()) return s;
  if (view_.size() < prefix + length) return corrupt();
  std::string_view body = view_.substr(prefix, length);
  view_.remove_prefix(prefix + length);

  uint64_t delta = 0, count = 0;
  if (!get_varint(body, delta) || !get_varint(body, count)) return corrupt();
  timestamp_ += unzigzag(delta);
  row.timestamp_ms = timestamp_;
  row.fields.clear();
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t id = 0;
    if (!get_varint(body, id) || body.empty() || id > UINT32_MAX) return corrupt();
    auto tag = static_cast<uint8_t>(body.front());
    body.remove_prefix(1);
    Value v;
    switch (tag) {
      case kNull:
        break;
      case kFalse:
      case kTrue:
        v = Value::of_bool(tag == kTrue);
        break;
      case kInt: {
        uint64_t z = 0;
        if (!get_varint(body, z)) return corrupt();
        v = Value::of_int(unzigzag(z));
        break;
      }
      case kDouble: {
        if (body.size() < 8) return corrupt();
        double d;
        std::memcpy(&d, body.data(), 8);
        body.remove_prefix(8);
        v = Value::of_double(d);
        break;
      }
      case kString:
      case kJson: {
        uint64_t n = 0;
        if (!get_varint(body, n) || body.size() < n) return corrupt();
        std::string_view s = body.substr(0, n);
        body.remove_prefix(n);
        if (id >= last_.size()) last_.resize(id + 1);
        last_[id].assign(s);
        v = tag == kString ? Value::of_string(s) : Value::of_json(s);
        break;
      }
      case kSameString:
      case kSameJson:
        if (id >= last_.size()) return corrupt();
        v = tag == kSameString ? Value::of_string(last_[id]) : Value::of_json(last_[id]);
        break;
      default:
        return corrupt();
    }
    row.fields.emplace_back(static_cast<FieldId>(id), v);
  }
  return true;
}

}  // namespace questlog::extract
