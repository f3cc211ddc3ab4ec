#include "parquet/file_writer.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_set>

#include "parquet/column_writer.h"
#include "parquet/format.h"
#include "parquet/output_file.h"

namespace questlog::parquet {
namespace {

// Bounds that keep every page within an i32 size and num_values.
constexpr uint64_t kMaxPageBytes = 1ull << 30;
constexpr uint64_t kMaxDictionaryBytes = 1ull << 30;
constexpr size_t kMaxValueBytes = 1ull << 30;

// -1, 0, 1 as a < b in the column type's order (statistics.h); both are PLAIN
// encoded values of `type`.
int compare_plain(ColumnType type, const std::string& a, const std::string& b) {
  switch (type) {
    case ColumnType::int64:
    case ColumnType::timestamp_micros: {
      int64_t x = 0, y = 0;
      std::memcpy(&x, a.data(), std::min(a.size(), sizeof x));
      std::memcpy(&y, b.data(), std::min(b.size(), sizeof y));
      return x < y ? -1 : x > y;
    }
    case ColumnType::float64: {
      double x = 0, y = 0;
      std::memcpy(&x, a.data(), std::min(a.size(), sizeof x));
      std::memcpy(&y, b.data(), std::min(b.size(), sizeof y));
      return x < y ? -1 : x > y;
    }
    case ColumnType::boolean:
    case ColumnType::string:
      return std::string_view(a).compare(b) < 0 ? -1 : std::string_view(a).compare(b) > 0;
  }
  return 0;
}

// The file's statistics of column `i` from its row groups' chunks.
ColumnSummary summarize(const format::FileMetaData& m, size_t i, ColumnType type) {
  ColumnSummary out;
  bool exact = true, any = false;
  for (const format::RowGroup& g : m.row_groups) {
    const format::ColumnMetaData& c = g.columns[i].meta_data;
    const format::Statistics& st = c.statistics;
    out.null_count += st.null_count;
    out.nan_count += st.nan_count.value_or(0);
    const int64_t values = c.num_values - st.null_count - st.nan_count.value_or(0);
    if (values <= 0) continue;
    if (!st.min_value || !st.max_value) {
      exact = false;
      continue;
    }
    if (!any || compare_plain(type, *st.min_value, *out.min) < 0) out.min = st.min_value;
    if (!any || compare_plain(type, *st.max_value, *out.max) > 0) out.max = st.max_value;
    any = true;
  }
  if (!exact) out.min = out.max = std::nullopt;
  return out;
}

format::SchemaElement leaf(const Column& c) {
  format::SchemaElement e;
  e.name = c.name;
  e.repetition = format::Repetition::optional;
  switch (c.type) {
    case ColumnType::string:
      e.type = format::Type::byte_array;
      e.converted_type = format::ConvertedType::utf8;
      e.logical_type = format::LogicalType::string;
      break;
    case ColumnType::int64:
      e.type = format::Type::int64;
      break;
    case ColumnType::float64:
      e.type = format::Type::float64;
      break;
    case ColumnType::boolean:
      e.type = format::Type::boolean;
      break;
    case ColumnType::timestamp_micros:
      e.type = format::Type::int64;
      e.converted_type = format::ConvertedType::timestamp_micros;
      e.logical_type = format::LogicalType::timestamp_micros_utc;
      break;
  }
  return e;
}

const char* type_name(ColumnType t) {
  switch (t) {
    case ColumnType::string:
      return "string";
    case ColumnType::int64:
      return "int64";
    case ColumnType::float64:
      return "float64";
    case ColumnType::boolean:
      return "boolean";
    case ColumnType::timestamp_micros:
      return "timestamp_micros";
  }
  return "?";
}

}  // namespace

struct FileWriter::Impl {
  explicit Impl(const WriterOptions& options) : ctx(options) {}

  // A setter may go on: `column` exists, has type `a` or `b`, and is not yet
  // set in this row. Otherwise the misuse is recorded for end_row().
  bool settable(size_t column, ColumnType a, ColumnType b, const char* setter) {
    if (column < types.size() && !is_set[column] && (types[column] == a || types[column] == b)) {
      is_set[column] = 1;
      return true;
    }
    misuse(column, setter);
    return false;
  }
  [[gnu::noinline]] void misuse(size_t column, const char* setter);
  [[gnu::noinline]] void oversized(size_t column, size_t bytes);

  Status flush_row_group();

  std::string path;  // as messages name it
  std::vector<Column> schema;
  std::vector<ColumnType> types;  // schema[i].type, packed for the setters
  WriteContext ctx;
  std::optional<OutputFile> file;
  std::vector<std::unique_ptr<ColumnWriter>> columns;
  std::vector<uint8_t> is_set;  // per column, in the current row
  format::FileMetaData metadata;
  uint64_t group_rows = 0;  // rows in the row group being buffered
  bool closed = false;
};

void FileWriter::Impl::misuse(size_t column, const char* setter) {
  assert(false && "FileWriter setter misuse: bad column, wrong type, or set twice in a row");
  if (!ctx.error.ok()) return;
  std::string what = column < schema.size() ? "column " + schema[column].name + " (" +
                                                  type_name(schema[column].type) + ")"
                                            : "column index " + std::to_string(column);
  ctx.error =
      Status::error(Errc::invalid_argument, "parquet: " + path + ": " + setter + " on " + what +
                                                ": no such column, wrong type, or set "
                                                "twice in one row");
}

void FileWriter::Impl::oversized(size_t column, size_t bytes) {
  if (!ctx.error.ok()) return;
  ctx.error = Status::error(Errc::invalid_argument,
                            "parquet: " + path + ": column " + schema[column].name + ": value of " +
                                std::to_string(bytes) + " bytes exceeds 1 GiB");
}

Status FileWriter::Impl::flush_row_group() {
  if (group_rows == 0) return {};
  format::RowGroup group;
  group.num_rows = static_cast<int64_t>(group_rows);
  group.file_offset = static_cast<int64_t>(file->offset());
  group.columns.resize(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    if (Status s = columns[i]->write_chunk(*file, &group.columns[i]); !s.ok()) return s;
    const format::ColumnMetaData& m = group.columns[i].meta_data;
    group.total_byte_size += m.total_uncompressed_size;
    group.total_compressed_size += m.total_compressed_size;
  }
  size_t ordinal = metadata.row_groups.size();
  group.has_ordinal = ordinal <= static_cast<size_t>(std::numeric_limits<int16_t>::max());
  group.ordinal = group.has_ordinal ? static_cast<int16_t>(ordinal) : 0;
  metadata.row_groups.push_back(std::move(group));
  metadata.num_rows += static_cast<int64_t>(group_rows);
  group_rows = 0;
  ctx.buffered_bytes = 0;
  return {};
}

Result<std::unique_ptr<FileWriter>> FileWriter::create(const std::filesystem::path& path,
                                                       std::vector<Column> schema,
                                                       WriterOptions options) {
  return create(io::local_file_system(), path, std::move(schema), std::move(options));
}

Result<std::unique_ptr<FileWriter>> FileWriter::create(io::FileSystem& fs,
                                                       const std::filesystem::path& path,
                                                       std::vector<Column> schema,
                                                       WriterOptions options) {
  auto invalid = [&](const std::string& why) {
    return Status::error(Errc::invalid_argument, "parquet: " + fs.describe(path) + ": " + why);
  };
  if (schema.empty()) return invalid("a table needs at least one column");
  std::unordered_set<std::string_view> names;
  for (const Column& c : schema) {
    if (c.name.empty()) return invalid("empty column name");
    if (!names.insert(c.name).second) return invalid("duplicate column name " + c.name);
  }
  options.page_bytes = std::clamp<uint64_t>(options.page_bytes, 1, kMaxPageBytes);
  options.dictionary_page_bytes = std::min(options.dictionary_page_bytes, kMaxDictionaryBytes);

  auto impl = std::make_unique<Impl>(options);
  impl->path = fs.describe(path);
  impl->schema = std::move(schema);
  auto file = OutputFile::create(fs, path);
  if (!file.ok()) return file.status();
  impl->file.emplace(std::move(file).value());
  const auto* magic = reinterpret_cast<const uint8_t*>(format::kMagic.data());
  if (Status s = impl->file->append({magic, format::kMagic.size()}); !s.ok()) return s;

  format::SchemaElement root;
  root.name = "spark_schema";  // the root's name is not read; Spark writes this one
  root.num_children = static_cast<int32_t>(impl->schema.size());
  impl->metadata.schema.push_back(root);
  for (const Column& c : impl->schema) {
    impl->metadata.schema.push_back(leaf(c));
    impl->columns.push_back(ColumnWriter::make(c, impl->ctx));
  }
  impl->is_set.assign(impl->schema.size(), 0);
  for (const Column& c : impl->schema) impl->types.push_back(c.type);
  impl->metadata.created_by = options.created_by;
  return std::unique_ptr<FileWriter>(new FileWriter(std::move(impl)));
}

FileWriter::FileWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileWriter::~FileWriter() = default;

void FileWriter::set_string(size_t column, std::string_view value) {
  Impl& m = *impl_;
  if (!m.settable(column, ColumnType::string, ColumnType::string, "set_string")) return;
  if (value.size() > kMaxValueBytes) [[unlikely]] {
    m.oversized(column, value.size());
    value = {};
  }
  static_cast<StringColumnWriter&>(*m.columns[column]).add(value);
}

void FileWriter::set_int64(size_t column, int64_t value) {
  Impl& m = *impl_;
  if (!m.settable(column, ColumnType::int64, ColumnType::timestamp_micros, "set_int64")) return;
  static_cast<Int64ColumnWriter&>(*m.columns[column]).add(value);
}

void FileWriter::set_float64(size_t column, double value) {
  Impl& m = *impl_;
  if (!m.settable(column, ColumnType::float64, ColumnType::float64, "set_float64")) return;
  static_cast<DoubleColumnWriter&>(*m.columns[column]).add(value);
}

void FileWriter::set_boolean(size_t column, bool value) {
  Impl& m = *impl_;
  if (!m.settable(column, ColumnType::boolean, ColumnType::boolean, "set_boolean")) return;
  static_cast<BooleanColumnWriter&>(*m.columns[column]).add(value);
}

Status FileWriter::end_row() {
  Impl& m = *impl_;
  if (m.closed) return Status::error(Errc::invalid_argument, "parquet: end_row after close");
  const size_t n = m.columns.size();
  uint8_t* set = m.is_set.data();
  for (size_t i = 0; i < n; ++i) {
    if (set[i]) {
      set[i] = 0;
    } else {
      m.columns[i]->add_null();
    }
  }
  ++m.group_rows;
  if (!m.ctx.error.ok()) return m.ctx.error;
  if (m.ctx.buffered_bytes >= m.ctx.options.row_group_bytes) {
    if (Status s = m.flush_row_group(); !s.ok()) {
      m.ctx.error = s;
      return s;
    }
  }
  return {};
}

Result<FileSummary> FileWriter::close() {
  Impl& m = *impl_;
  if (m.closed) return Status::error(Errc::invalid_argument, "parquet: close called twice");
  m.closed = true;
  m.types.clear();  // any later setter is a misuse
  if (!m.ctx.error.ok()) return m.ctx.error;
  if (std::any_of(m.is_set.begin(), m.is_set.end(), [](uint8_t b) { return b != 0; })) {
    return Status::error(Errc::invalid_argument,
                         "parquet: " + m.path + ": close with a row not ended");
  }
  if (Status s = m.flush_row_group(); !s.ok()) return s;

  std::vector<uint8_t> footer;
  format::serialize(m.metadata, footer);
  auto footer_size = static_cast<uint32_t>(footer.size());
  uint8_t size_bytes[4];
  std::memcpy(size_bytes, &footer_size, 4);  // little-endian (asserted in column_writer.cpp)
  footer.insert(footer.end(), size_bytes, size_bytes + 4);
  footer.insert(footer.end(), format::kMagic.begin(), format::kMagic.end());
  if (Status s = m.file->append(footer); !s.ok()) return s;
  FileSummary summary;
  summary.rows = static_cast<uint64_t>(m.metadata.num_rows);
  summary.row_groups = m.metadata.row_groups.size();
  summary.bytes = m.file->offset();
  for (size_t i = 0; i < m.schema.size(); ++i)
    summary.columns.push_back(summarize(m.metadata, i, m.schema[i].type));
  if (Status s = m.file->sync_and_close(); !s.ok()) return s;
  return summary;
}

}  // namespace questlog::parquet
