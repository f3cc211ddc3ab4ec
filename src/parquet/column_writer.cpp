#include "parquet/column_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <limits>

#include "parquet/rle.h"

namespace questlog::parquet {

static_assert(std::endian::native == std::endian::little,
              "PLAIN encoding is little-endian; this writer copies values as they are in memory");

namespace {

inline uint64_t load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint64_t load4(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// 64x64 -> 128-bit multiply folded to 64 bits: one instruction's worth of mixing.
inline uint64_t fold_multiply(uint64_t a, uint64_t b) {
  __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

constexpr uint64_t kMixA = 0x9E3779B97F4A7C15ull;
constexpr uint64_t kMixB = 0xC2B2AE3D27D4EB4Full;

// Hash of a dictionary value, used only inside this process to place values
// in the table. Values up to 16 bytes (most event fields) take two
// overlapping loads and no loop; longer ones fold 16 bytes per step.
inline uint64_t hash_bytes(const char* p, size_t n) {
  uint64_t a = 0, b = 0, h = kMixB ^ n;
  if (n <= 16) {
    if (n >= 8) {
      a = load8(p);
      b = load8(p + n - 8);
    } else if (n >= 4) {
      a = load4(p);
      b = load4(p + n - 4);
    } else if (n > 0) {
      a = static_cast<uint64_t>(static_cast<uint8_t>(p[0])) << 16 |
          static_cast<uint64_t>(static_cast<uint8_t>(p[n / 2])) << 8 |
          static_cast<uint8_t>(p[n - 1]);
    }
  } else {
    size_t i = 0;
    for (; n - i > 16; i += 16) h = fold_multiply(load8(p + i) ^ kMixA, load8(p + i + 8) ^ h);
    a = load8(p + n - 16);
    b = load8(p + n - 8);
  }
  return fold_multiply(fold_multiply(a ^ kMixA, b ^ h), kMixB);
}

// a[0, n) == b[0, n), inline for the short values that dominate.
inline bool same_bytes(const char* a, const char* b, size_t n) {
  if (n >= 8 && n <= 16) {
    return ((load8(a) ^ load8(b)) | (load8(a + n - 8) ^ load8(b + n - 8))) == 0;
  }
  if (n > 16 && n <= 32) {
    return ((load8(a) ^ load8(b)) | (load8(a + 8) ^ load8(b + 8)) |
            (load8(a + n - 16) ^ load8(b + n - 16)) | (load8(a + n - 8) ^ load8(b + n - 8))) == 0;
  }
  if (n >= 4 && n < 8) return ((load4(a) ^ load4(b)) | (load4(a + n - 4) ^ load4(b + n - 4))) == 0;
  if (n < 4) {  // bytes 0, n/2 and n-1 cover every byte of a 1- to 3-byte value
    return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
  }
  return std::memcmp(a, b, n) == 0;
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  uint8_t b[4];
  std::memcpy(b, &v, 4);
  out.insert(out.end(), b, b + 4);
}

}  // namespace

// ---------------------------------------------------------------- ColumnWriter

std::unique_ptr<ColumnWriter> ColumnWriter::make(const Column& column, WriteContext& ctx) {
  LeafSpec leaf{{column.name}, 1, 0};
  switch (column.type) {
    case ColumnType::string:
      return std::make_unique<StringColumnWriter>(std::move(leaf), ctx);
    case ColumnType::int64:
    case ColumnType::timestamp_micros:
      return std::make_unique<Int64ColumnWriter>(std::move(leaf), ctx);
    case ColumnType::float64:
      return std::make_unique<DoubleColumnWriter>(std::move(leaf), ctx);
    case ColumnType::boolean:
      return std::make_unique<BooleanColumnWriter>(std::move(leaf), ctx);
  }
  return nullptr;
}

std::unique_ptr<ColumnWriter> ColumnWriter::make(LeafSpec leaf, format::Type physical,
                                                 WriteContext& ctx) {
  leaf.nested = true;
  switch (physical) {
    case format::Type::byte_array:
      return std::make_unique<StringColumnWriter>(std::move(leaf), ctx);
    case format::Type::int64:
      return std::make_unique<Int64ColumnWriter>(std::move(leaf), ctx);
    case format::Type::int32:
      return std::make_unique<Int32ColumnWriter>(std::move(leaf), ctx);
    case format::Type::float64:
      return std::make_unique<DoubleColumnWriter>(std::move(leaf), ctx);
    case format::Type::boolean:
      return std::make_unique<BooleanColumnWriter>(std::move(leaf), ctx);
    default:
      return nullptr;
  }
}

ColumnWriter::ColumnWriter(LeafSpec leaf, format::Type type, WriteContext& ctx)
    : ctx_(ctx),
      path_(std::move(leaf.path)),
      type_(type),
      max_definition_(leaf.max_definition),
      max_repetition_(leaf.max_repetition),
      nested_(leaf.nested) {}

std::string ColumnWriter::name() const {
  std::string out;
  for (const std::string& p : path_) out += (out.empty() ? "" : ".") + p;
  return out;
}

void ColumnWriter::page_full() {
  if (!nested_) close_page();
}

void ColumnWriter::close_page() {
  Status s = flush_page();
  if (!s.ok() && ctx_.error.ok()) ctx_.error = std::move(s);
}

Status ColumnWriter::emit_page(format::PageHeader& header, std::span<const uint8_t> body,
                               std::vector<uint8_t>& out) {
  constexpr size_t kMaxPage = std::numeric_limits<int32_t>::max();
  if (body.size() > kMaxPage) {
    return Status::error(
        Errc::invalid_argument,
        fmt::format("parquet: column {}: page of {} bytes is too large", name(), body.size()));
  }
  Result<std::span<const uint8_t>> packed = ctx_.compressor.compress(body);
  if (!packed.ok()) return packed.status();
  if (packed->size() > kMaxPage) {
    return Status::error(Errc::invalid_argument,
                         fmt::format("parquet: column {}: compressed page is too large", name()));
  }
  header.uncompressed_page_size = static_cast<int32_t>(body.size());
  header.compressed_page_size = static_cast<int32_t>(packed->size());
  size_t start = out.size();
  format::serialize(header, out);
  auto header_size = static_cast<int64_t>(out.size() - start);
  out.insert(out.end(), packed->begin(), packed->end());
  uncompressed_bytes_ += header_size + static_cast<int64_t>(body.size());
  compressed_bytes_ += header_size + static_cast<int64_t>(packed->size());
  return {};
}

Status ColumnWriter::flush_page() {
  if (levels_.empty()) return {};
  std::vector<uint8_t>& page = ctx_.page;
  page.clear();
  // Repetition levels (if any), then definition levels (if any), each with
  // its length in front.
  auto put_levels = [&page](const std::vector<uint8_t>& levels, uint8_t max_level) {
    if (max_level == 0) return;
    size_t at = page.size();
    page.resize(at + 4);
    rle::encode(levels.data(), levels.size(), rle::bit_width(max_level), page);
    auto size = static_cast<uint32_t>(page.size() - at - 4);
    std::memcpy(page.data() + at, &size, 4);
  };
  assert(max_repetition_ == 0 || repetitions_.size() == levels_.size());
  put_levels(repetitions_, max_repetition_);
  put_levels(levels_, max_definition_);
  repetitions_.clear();
  format::Encoding encoding = encode_values(page);

  format::PageHeader header;
  header.type = format::PageType::data_page;
  format::DataPageHeader data;
  data.num_values = static_cast<int32_t>(levels_.size());
  data.encoding = encoding;
  header.data_page_header = data;
  size_t before = pages_.size();
  Status s = emit_page(header, page, pages_);

  num_values_ += static_cast<int64_t>(levels_.size());
  if (encoding == format::Encoding::rle_dictionary) {
    ++dictionary_pages_;
  } else {
    ++plain_pages_;
  }
  levels_.clear();
  ctx_.buffered_bytes -= open_bytes_;
  ctx_.buffered_bytes += pages_.size() - before;
  open_bytes_ = 0;
  return s;
}

Status ColumnWriter::write_chunk(OutputFile& file, format::ColumnChunk* chunk) {
  if (Status s = flush_page(); !s.ok()) return s;
  dictionary_.clear();
  if (Status s = dictionary_page(dictionary_); !s.ok()) return s;

  format::ColumnMetaData& m = chunk->meta_data;
  m.type = type_;
  m.path_in_schema = path_;
  m.codec = ctx_.compressor.thrift_codec();
  m.num_values = num_values_;
  m.total_uncompressed_size = uncompressed_bytes_;
  m.total_compressed_size = compressed_bytes_;
  m.statistics = statistics(null_count_);
  m.encodings.clear();
  m.encoding_stats.clear();
  if (!dictionary_.empty() || plain_pages_ > 0) m.encodings.push_back(format::Encoding::plain);
  m.encodings.push_back(format::Encoding::rle);
  if (dictionary_pages_ > 0) m.encodings.push_back(format::Encoding::rle_dictionary);
  if (!dictionary_.empty()) {
    m.encoding_stats.push_back({format::PageType::dictionary_page, format::Encoding::plain, 1});
  }
  if (dictionary_pages_ > 0) {
    m.encoding_stats.push_back(
        {format::PageType::data_page, format::Encoding::rle_dictionary, dictionary_pages_});
  }
  if (plain_pages_ > 0) {
    m.encoding_stats.push_back(
        {format::PageType::data_page, format::Encoding::plain, plain_pages_});
  }

  if (!dictionary_.empty()) {
    m.dictionary_page_offset = static_cast<int64_t>(file.offset());
    if (Status s = file.append(dictionary_); !s.ok()) return s;
  } else {
    m.dictionary_page_offset.reset();
  }
  m.data_page_offset = static_cast<int64_t>(file.offset());
  if (Status s = file.append(pages_); !s.ok()) return s;

  pages_.clear();
  null_count_ = 0;
  num_values_ = 0;
  uncompressed_bytes_ = 0;
  compressed_bytes_ = 0;
  plain_pages_ = 0;
  dictionary_pages_ = 0;
  reset_chunk();
  return {};
}

// ------------------------------------------------------ DictionaryColumnWriter

format::Encoding DictionaryColumnWriter::encode_values(std::vector<uint8_t>& out) {
  if (!indices_.empty()) {
    size_t start = out.size();
    int width = std::max(1, rle::bit_width(entries() - 1));
    out.push_back(static_cast<uint8_t>(width));
    rle::encode(indices_.data(), indices_.size(), width, out);
    if (!fallback_ && !dictionary_pays_off(indices_.size(), out.size() - start,
                                           dict_.size() - dict_bytes_seen_)) {
      fallback_ = true;
      on_fallback();
      if (dict_data_pages_ == 0) {
        // No page refers to the dictionary: write this one plain, without it.
        out.resize(start);
        ctx_.buffered_bytes -= std::min<uint64_t>(ctx_.buffered_bytes, dict_.size());
        drop_dictionary();
        assert(indices_.empty() && entries() == 0);
        dict_.clear();
      }
    }
    if (!indices_.empty()) {
      indices_.clear();
      dict_bytes_seen_ = dict_.size();
      ++dict_data_pages_;
      return format::Encoding::rle_dictionary;
    }
  }
  // Plain page (or a page of nulls only, which needs no dictionary).
  encode_plain(out);
  return format::Encoding::plain;
}

Status DictionaryColumnWriter::dictionary_page(std::vector<uint8_t>& out) {
  if (entries() == 0) return {};
  format::PageHeader header;
  header.type = format::PageType::dictionary_page;
  format::DictionaryPageHeader dict;
  dict.num_values = static_cast<int32_t>(entries());
  dict.encoding = format::Encoding::plain;
  header.dictionary_page_header = dict;
  return emit_page(header, dict_, out);
}

void DictionaryColumnWriter::reset_dictionary() {
  dict_.clear();
  table_.clear();
  indices_.clear();
  fallback_ = false;
  dict_bytes_seen_ = 0;
  dict_data_pages_ = 0;
}

// ---------------------------------------------------------- StringColumnWriter

StringColumnWriter::StringColumnWriter(LeafSpec leaf, WriteContext& ctx)
    : DictionaryColumnWriter(std::move(leaf), format::Type::byte_array, ctx) {}

void StringColumnWriter::add(std::string_view v) {
  if (!fallback_) {
    uint32_t index;
    if (find_or_insert(v, &index)) {
      add_index(index);
      return;
    }
  }
  levels_.push_back(1);
  put_u32(plain_, static_cast<uint32_t>(v.size()));
  plain_.insert(plain_.end(), v.begin(), v.end());
  plain_stats_.update(v);
  added(1 + 4 + v.size());
}

namespace {
// A string's DictionaryTable key: the high half of its hash, and its size.
inline uint64_t string_key(uint64_t hash, size_t size) {
  return (hash & 0xFFFFFFFF00000000ull) | static_cast<uint32_t>(size);
}
}  // namespace

bool StringColumnWriter::find_or_insert(std::string_view v, uint32_t* index) {
  const char* bytes = reinterpret_cast<const char*>(dict_.data());
  if (static_cast<uint32_t>(last_.key) == v.size() && last_.index != DictionaryTable::kFree &&
      same_bytes(bytes + last_.offset, v.data(), v.size())) {
    *index = last_.index;
    return true;
  }
  const uint64_t h = hash_bytes(v.data(), v.size());
  const uint64_t key = string_key(h, v.size());
  return table_.find_or_insert(
      h, key, [&](const Slot& s) { return same_bytes(bytes + s.offset, v.data(), v.size()); },
      [&](const Slot& s) {
        last_ = s;
        *index = s.index;
      },
      [&](Slot& free) {
        if (!admit(4 + v.size())) return false;
        put_u32(dict_, static_cast<uint32_t>(v.size()));
        entries_.push_back({static_cast<uint32_t>(dict_.size()), static_cast<uint32_t>(v.size())});
        dict_.insert(dict_.end(), v.begin(), v.end());
        ctx_.buffered_bytes += 4 + v.size();
        free = {key, static_cast<uint32_t>(entries_.size() - 1), entries_.back().offset};
        return true;
      },
      [this](const Slot& s) {
        return hash_bytes(reinterpret_cast<const char*>(dict_.data()) + s.offset,
                          static_cast<uint32_t>(s.key));
      });
}

void StringColumnWriter::encode_plain(std::vector<uint8_t>& out) {
  out.insert(out.end(), plain_.begin(), plain_.end());
  plain_.clear();
}

format::Statistics StringColumnWriter::statistics(int64_t null_count) const {
  ByteArrayStatistics all = plain_stats_;
  if (!entries_.empty()) {
    // Every entry was a value of this chunk: its min/max are the dictionary's.
    std::string_view lo = entry(0), hi = entry(0);
    for (uint32_t i = 1; i < entries_.size(); ++i) {
      std::string_view e = entry(i);
      if (e < lo) lo = e;
      if (e > hi) hi = e;
    }
    all.update(lo);
    all.update(hi);
  }
  return all.encode(null_count);
}

void StringColumnWriter::reset_chunk() {
  reset_dictionary();
  entries_.clear();
  last_ = kNone;
  plain_stats_.reset();
}

// ----------------------------------------------------------- Int64ColumnWriter

namespace {
inline uint64_t hash_int64(int64_t v) {
  return fold_multiply(static_cast<uint64_t>(v) ^ kMixA, kMixB);
}
}  // namespace

Int64ColumnWriter::Int64ColumnWriter(LeafSpec leaf, WriteContext& ctx)
    : DictionaryColumnWriter(std::move(leaf), format::Type::int64, ctx) {}

int64_t Int64ColumnWriter::entry(uint32_t i) const {
  int64_t v;
  std::memcpy(&v, dict_.data() + size_t{i} * sizeof v, sizeof v);
  return v;
}

void Int64ColumnWriter::add_new(int64_t v) {
  if (!fallback_) {
    uint32_t index;
    if (find_or_insert(v, &index)) {
      last_value_ = v;
      last_index_ = index;
      add_index(index);  // may close the page and fall back (on_fallback)
      return;
    }
  }
  levels_.push_back(1);
  values_.push_back(v);
  stats_.update(v);
  added(1 + sizeof v);
}

bool Int64ColumnWriter::find_or_insert(int64_t v, uint32_t* index) {
  using Slot = DictionaryTable::Slot;
  const auto key = static_cast<uint64_t>(v);
  return table_.find_or_insert(
      hash_int64(v), key, [](const Slot&) { return true; },
      [&](const Slot& s) { *index = s.index; },
      [&](Slot& free) {
        if (!admit(sizeof v)) return false;
        uint8_t b[sizeof v];
        std::memcpy(b, &v, sizeof v);
        dict_.insert(dict_.end(), b, b + sizeof v);
        ctx_.buffered_bytes += sizeof v;
        stats_.update(v);  // every entry is a value of the chunk
        free = {key, table_.size(), 0};
        return true;
      },
      [](const Slot& s) { return hash_int64(static_cast<int64_t>(s.key)); });
}

void Int64ColumnWriter::encode_plain(std::vector<uint8_t>& out) {
  append_plain(values_, out);
  values_.clear();
}

// The dictionary is kept while each page pays for itself: its indices plus
// the entries it added to the dictionary are smaller than its values would
// be PLAIN (8 bytes each). The first page decides whether the chunk has a
// dictionary at all; a later page that does not pay (the column turned
// high-cardinality) ends dictionary encoding for the rest of the chunk.
// Sizes before compression: the codec shrinks repeated plain values too,
// but rarely below what RLE makes of the same run.
bool Int64ColumnWriter::dictionary_pays_off(uint64_t values, uint64_t index_bytes,
                                            uint64_t dictionary_bytes) const {
  return dictionary_bytes + index_bytes < values * sizeof(int64_t);
}

void Int64ColumnWriter::drop_dictionary() {
  values_.reserve(values_.size() + indices_.size());
  for (uint32_t i : indices_) values_.push_back(entry(i));
  indices_.clear();
  table_.clear();
  last_index_ = DictionaryTable::kFree;
}

format::Statistics Int64ColumnWriter::statistics(int64_t null_count) const {
  return stats_.encode(null_count);
}

void Int64ColumnWriter::reset_chunk() {
  reset_dictionary();
  drop_dictionary();
  values_.clear();
  stats_.reset();
}

// ----------------------------------------------------------- fixed-width kinds

BooleanColumnWriter::BooleanColumnWriter(LeafSpec leaf, WriteContext& ctx)
    : ColumnWriter(std::move(leaf), format::Type::boolean, ctx) {}

format::Encoding BooleanColumnWriter::encode_values(std::vector<uint8_t>& out) {
  rle::pack_bits(values_.data(), values_.size(), out);
  values_.clear();
  return format::Encoding::plain;
}

format::Statistics BooleanColumnWriter::statistics(int64_t null_count) const {
  return stats_.encode(null_count);
}

}  // namespace questlog::parquet
