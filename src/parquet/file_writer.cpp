#include "parquet/file_writer.h"

#include <fmt/format.h>

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

// A field of a nested schema as the writer uses it: where its leaves are and
// which levels it adds.
struct NestedNode {
  Field::Kind kind;
  bool required;
  std::string name;
  uint8_t repetition = 0;  // list, map: the repetition level of their entries
  size_t first_leaf = 0;   // its leaves are columns[first_leaf, first_leaf + leaves)
  size_t leaves = 0;
  std::vector<NestedNode> children;
};

bool is_scalar(Field::Kind k) {
  return k != Field::Kind::group && k != Field::Kind::list && k != Field::Kind::map;
}

format::Type physical_type(Field::Kind k) {
  switch (k) {
    case Field::Kind::int32:
      return format::Type::int32;
    case Field::Kind::int64:
      return format::Type::int64;
    case Field::Kind::float64:
      return format::Type::float64;
    case Field::Kind::boolean:
      return format::Type::boolean;
    default:
      return format::Type::byte_array;
  }
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
  // After a row: the first error, or the row group written if it is full.
  [[gnu::always_inline]] Status row_ended() {
    ++group_rows;
    if (!ctx.error.ok()) return ctx.error;
    if (ctx.buffered_bytes >= ctx.options.row_group_bytes) {
      if (Status s = flush_row_group(); !s.ok()) {
        ctx.error = s;
        return s;
      }
    }
    return {};
  }

  // Nested files: adds `f`, below the fields `names`, to the schema and a
  // writer per leaf.
  Result<NestedNode> add_field(const Field& f, std::vector<std::string> names, uint8_t definition,
                               uint8_t repetition, int depth);
  // Turns `v` (null: nullptr) into levels and values of n's leaves, at
  // repetition level `rep`, below `def` defined levels.
  void shred(const NestedNode& n, const Value* v, uint8_t rep, uint8_t def);
  void nulls(const NestedNode& n, uint8_t rep, uint8_t def);
  [[gnu::noinline]] void misfit(const NestedNode& n, const char* why);

  std::string path;  // as messages name it
  std::vector<Column> schema;
  std::vector<ColumnType> types;  // schema[i].type, packed for the setters
  WriteContext ctx;
  std::optional<OutputFile> file;
  std::vector<std::unique_ptr<ColumnWriter>> columns;
  std::vector<uint8_t> is_set;     // per column, in the current row
  std::vector<NestedNode> nested;  // nested files: the top-level fields
  format::FileMetaData metadata;
  uint64_t group_rows = 0;  // rows in the row group being buffered
  bool closed = false;
  bool flat_open = false;  // a flat file not yet closed: end_row() may go on
};

void FileWriter::Impl::misuse(size_t column, const char* setter) {
  assert(false && "FileWriter setter misuse: bad column, wrong type, or set twice in a row");
  if (!ctx.error.ok()) return;
  std::string what = column < schema.size() ? fmt::format("column {} ({})", schema[column].name,
                                                          type_name(schema[column].type))
                                            : fmt::format("column index {}", column);
  ctx.error = Status::error(Errc::invalid_argument,
                            fmt::format("parquet: {}: {} on {}: no such column, wrong type, or set "
                                        "twice in one row",
                                        path, setter, what));
}

void FileWriter::Impl::oversized(size_t column, size_t bytes) {
  if (!ctx.error.ok()) return;
  ctx.error = Status::error(Errc::invalid_argument,
                            fmt::format("parquet: {}: column {}: value of {} bytes exceeds 1 GiB",
                                        path, schema[column].name, bytes));
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
    return Status::error(Errc::invalid_argument,
                         fmt::format("parquet: {}: {}", fs.describe(path), why));
  };
  if (schema.empty()) return invalid("a table needs at least one column");
  std::unordered_set<std::string_view> names;
  for (const Column& c : schema) {
    if (c.name.empty()) return invalid("empty column name");
    if (!names.insert(c.name).second)
      return invalid(fmt::format("duplicate column name {}", c.name));
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
  impl->flat_open = true;
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
  if (!m.flat_open) [[unlikely]] {
    if (m.closed) return Status::error(Errc::invalid_argument, "parquet: end_row after close");
    return Status::error(
        Errc::invalid_argument,
        fmt::format("parquet: {}: end_row on a nested file (use write_row)", m.path));
  }
  const size_t n = m.columns.size();
  uint8_t* set = m.is_set.data();
  for (size_t i = 0; i < n; ++i) {
    if (set[i]) {
      set[i] = 0;
    } else {
      m.columns[i]->add_null();
    }
  }
  return m.row_ended();
}

// ------------------------------------------------------------- nested files

Result<NestedNode> FileWriter::Impl::add_field(const Field& f, std::vector<std::string> names,
                                               uint8_t definition, uint8_t repetition, int depth) {
  auto invalid = [&](const std::string& why) {
    std::string dotted;
    for (const std::string& p : names) dotted += (dotted.empty() ? "" : ".") + p;
    return Status::error(Errc::invalid_argument,
                         fmt::format("parquet: {}: field {}{}{}: {}", path, dotted,
                                     dotted.empty() ? "" : ".", f.name, why));
  };
  if (f.name.empty()) return invalid("empty name");
  if (depth > 100) return invalid("nested more than 100 levels deep");
  names.push_back(f.name);
  NestedNode n{f.kind, f.required, f.name, 0, columns.size(), 0, {}};
  const uint8_t def = f.required ? definition : static_cast<uint8_t>(definition + 1);
  format::SchemaElement e;
  e.name = f.name;
  e.repetition = f.required ? format::Repetition::required : format::Repetition::optional;
  if (is_scalar(f.kind)) {
    if (!f.children.empty()) return invalid("a scalar has no children");
    e.type = physical_type(f.kind);
    if (f.kind == Field::Kind::string) {
      e.converted_type = format::ConvertedType::utf8;
      e.logical_type = format::LogicalType::string;
    }
    metadata.schema.push_back(e);
    columns.push_back(ColumnWriter::make(LeafSpec{names, def, repetition}, *e.type, ctx));
    n.leaves = 1;
    return n;
  }
  if (f.kind == Field::Kind::group) {
    if (f.children.empty()) return invalid("a group needs at least one field");
    std::unordered_set<std::string_view> seen;
    for (const Field& c : f.children)
      if (!seen.insert(c.name).second) return invalid(fmt::format("two fields named {}", c.name));
    e.num_children = static_cast<int32_t>(f.children.size());
    metadata.schema.push_back(e);
    for (const Field& c : f.children) {
      auto child = add_field(c, names, def, repetition, depth + 1);
      if (!child.ok()) return child.status();
      n.children.push_back(std::move(child).value());
    }
  } else {
    const bool is_list = f.kind == Field::Kind::list;
    if (f.children.size() != (is_list ? 1u : 2u))
      return invalid(is_list ? "a list needs one element field" : "a map needs a key and a value");
    if (!is_list && (!is_scalar(f.children[0].kind) || !f.children[0].required))
      return invalid("a map's key must be a required scalar");
    e.num_children = 1;
    e.converted_type = is_list ? format::ConvertedType::list : format::ConvertedType::map;
    e.logical_type = is_list ? format::LogicalType::list : format::LogicalType::map;
    metadata.schema.push_back(e);
    format::SchemaElement entries;
    entries.name = is_list ? "list" : "key_value";
    entries.repetition = format::Repetition::repeated;
    entries.num_children = static_cast<int32_t>(f.children.size());
    metadata.schema.push_back(entries);
    names.push_back(entries.name);
    n.repetition = static_cast<uint8_t>(repetition + 1);
    for (const Field& c : f.children) {
      auto child = add_field(c, names, static_cast<uint8_t>(def + 1), n.repetition, depth + 1);
      if (!child.ok()) return child.status();
      n.children.push_back(std::move(child).value());
    }
  }
  n.leaves = columns.size() - n.first_leaf;
  return n;
}

void FileWriter::Impl::misfit(const NestedNode& n, const char* why) {
  if (!ctx.error.ok()) return;
  ctx.error = Status::error(Errc::invalid_argument,
                            fmt::format("parquet: {}: field {}: {}", path, n.name, why));
}

void FileWriter::Impl::nulls(const NestedNode& n, uint8_t rep, uint8_t def) {
  for (size_t i = n.first_leaf; i < n.first_leaf + n.leaves; ++i) {
    ColumnWriter& w = *columns[i];
    if (w.max_repetition() > 0) w.push_repetition(rep);
    w.add_null(def);
  }
}

void FileWriter::Impl::shred(const NestedNode& n, const Value* v, uint8_t rep, uint8_t def) {
  if (v == nullptr || v->is_null()) {
    if (n.required) misfit(n, "null in a required field");
    nulls(n, rep, def);
    return;
  }
  const uint8_t here = n.required ? def : static_cast<uint8_t>(def + 1);
  if (is_scalar(n.kind)) {
    ColumnWriter& w = *columns[n.first_leaf];
    if (w.max_repetition() > 0) w.push_repetition(rep);
    const int64_t* i = v->integer();
    switch (n.kind) {
      case Field::Kind::string:
        if (const std::string* s = v->string()) {
          static_cast<StringColumnWriter&>(w).add(*s);
          w.defined();
          return;
        }
        break;
      case Field::Kind::int64:
        if (i) {
          static_cast<Int64ColumnWriter&>(w).add(*i);
          w.defined();
          return;
        }
        break;
      case Field::Kind::int32:
        if (i && *i >= INT32_MIN && *i <= INT32_MAX) {
          static_cast<Int32ColumnWriter&>(w).add(static_cast<int32_t>(*i));
          w.defined();
          return;
        }
        break;
      case Field::Kind::float64:
        if (const double* d = v->float64()) {
          static_cast<DoubleColumnWriter&>(w).add(*d);
          w.defined();
          return;
        }
        break;
      case Field::Kind::boolean:
        if (const bool* b = v->boolean()) {
          static_cast<BooleanColumnWriter&>(w).add(*b);
          w.defined();
          return;
        }
        break;
      default:
        break;
    }
    misfit(n, "a value of another type");
    w.add_null(def);  // keeps the levels in step; the file is unusable now
    return;
  }
  const std::vector<Value>* parts = v->parts();
  if (!parts) {
    misfit(n, "a scalar where a group, list or map belongs");
    nulls(n, rep, def);
    return;
  }
  if (n.kind == Field::Kind::group) {
    if (parts->size() > n.children.size()) misfit(n, "more values than the group has fields");
    for (size_t i = 0; i < n.children.size(); ++i)
      shred(n.children[i], i < parts->size() ? &(*parts)[i] : nullptr, rep, here);
    return;
  }
  if (parts->empty()) {  // defined, no entries
    nulls(n, rep, here);
    return;
  }
  const uint8_t entry = static_cast<uint8_t>(here + 1);
  for (size_t i = 0; i < parts->size(); ++i) {
    const uint8_t r = i == 0 ? rep : n.repetition;
    const Value& item = (*parts)[i];
    if (n.kind == Field::Kind::list) {
      shred(n.children[0], &item, r, entry);
      continue;
    }
    const std::vector<Value>* kv = item.parts();
    if (!kv || kv->size() != 2) {
      misfit(n, "a map entry that is not a Value::entry");
      for (const NestedNode& c : n.children) nulls(c, r, entry);
      continue;
    }
    shred(n.children[0], &(*kv)[0], r, entry);
    shred(n.children[1], &(*kv)[1], r, entry);
  }
}

Result<std::unique_ptr<FileWriter>> FileWriter::create_nested(io::FileSystem& fs,
                                                              const std::filesystem::path& path,
                                                              std::vector<Field> schema,
                                                              WriterOptions options) {
  auto invalid = [&](const std::string& why) {
    return Status::error(Errc::invalid_argument,
                         fmt::format("parquet: {}: {}", fs.describe(path), why));
  };
  if (schema.empty()) return invalid("a table needs at least one column");
  std::unordered_set<std::string_view> names;
  for (const Field& f : schema)
    if (!names.insert(f.name).second)
      return invalid(fmt::format("duplicate column name {}", f.name));
  options.page_bytes = std::clamp<uint64_t>(options.page_bytes, 1, kMaxPageBytes);
  options.dictionary_page_bytes = std::min(options.dictionary_page_bytes, kMaxDictionaryBytes);

  auto impl = std::make_unique<Impl>(options);
  impl->path = fs.describe(path);
  format::SchemaElement root;
  root.name = "spark_schema";
  root.num_children = static_cast<int32_t>(schema.size());
  impl->metadata.schema.push_back(root);
  for (const Field& f : schema) {
    auto node = impl->add_field(f, {}, 0, 0, 0);
    if (!node.ok()) return node.status();
    impl->nested.push_back(std::move(node).value());
  }
  impl->metadata.created_by = options.created_by;

  auto file = OutputFile::create(fs, path);
  if (!file.ok()) return file.status();
  impl->file.emplace(std::move(file).value());
  const auto* magic = reinterpret_cast<const uint8_t*>(format::kMagic.data());
  if (Status s = impl->file->append({magic, format::kMagic.size()}); !s.ok()) return s;
  return std::unique_ptr<FileWriter>(new FileWriter(std::move(impl)));
}

Status FileWriter::write_row(std::span<const Value> row) {
  Impl& m = *impl_;
  if (m.closed) return Status::error(Errc::invalid_argument, "parquet: write_row after close");
  if (m.nested.empty())
    return Status::error(
        Errc::invalid_argument,
        fmt::format("parquet: {}: write_row on a flat file (use end_row)", m.path));
  if (row.size() > m.nested.size() && m.ctx.error.ok())
    m.ctx.error =
        Status::error(Errc::invalid_argument,
                      fmt::format("parquet: {}: more values than the schema has fields", m.path));
  for (size_t i = 0; i < m.nested.size(); ++i)
    m.shred(m.nested[i], i < row.size() ? &row[i] : nullptr, 0, 0);
  for (auto& w : m.columns) w->end_record();
  return m.row_ended();
}

Result<FileSummary> FileWriter::close() {
  Impl& m = *impl_;
  if (m.closed) return Status::error(Errc::invalid_argument, "parquet: close called twice");
  m.closed = true;
  m.flat_open = false;
  m.types.clear();  // any later setter is a misuse
  if (!m.ctx.error.ok()) return m.ctx.error;
  if (std::any_of(m.is_set.begin(), m.is_set.end(), [](uint8_t b) { return b != 0; })) {
    return Status::error(Errc::invalid_argument,
                         fmt::format("parquet: {}: close with a row not ended", m.path));
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
  for (size_t i = 0; m.schema.empty() && i < m.columns.size(); ++i) {
    ColumnSummary c;
    for (const format::RowGroup& g : m.metadata.row_groups)
      c.null_count += g.columns[i].meta_data.statistics.null_count;
    summary.columns.push_back(c);
  }
  if (Status s = m.file->sync_and_close(); !s.ok()) return s;
  return summary;
}

}  // namespace questlog::parquet
