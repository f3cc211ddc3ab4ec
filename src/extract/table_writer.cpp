#include "extract/table_writer.h"

#include <algorithm>
#include <map>
#include <memory>
#include <thread>

#include "extract/table_dir.h"
#include "extract/table_printer.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxOpenFiles = 64;  // partitions written per pass over the rows
constexpr size_t kParallelCloses = 8;

// The file schema: the columns minus the partition columns, and where each
// field goes in it.
struct Layout {
  std::vector<parquet::Column> columns;
  std::vector<int32_t> column_of;  // by field id; -1: not in the file
  int32_t timestamp = -1;
  std::vector<parquet::ColumnType> partition_types;  // by position in partition_by
  std::vector<std::string> partition_names;
};

Layout layout_of(const TableWriteSpec& spec) {
  Layout l;
  l.partition_types.resize(spec.partition_by.size(), parquet::ColumnType::string);
  l.partition_names.resize(spec.partition_by.size());
  for (const SchemaColumn& c : spec.columns) {
    auto p = std::find(spec.partition_by.begin(), spec.partition_by.end(), c.field);
    if (p != spec.partition_by.end()) {
      l.partition_types[p - spec.partition_by.begin()] = c.type;
      l.partition_names[p - spec.partition_by.begin()] = c.name;
      continue;
    }
    if (c.field >= l.column_of.size()) l.column_of.resize(c.field + 1, -1);
    l.column_of[c.field] = static_cast<int32_t>(l.columns.size());
    if (c.field == FieldNames::kTimestamp) l.timestamp = static_cast<int32_t>(l.columns.size());
    l.columns.push_back({c.name, c.type});
  }
  return l;
}

Status write_row(parquet::FileWriter& w, const Layout& l, const RowBuffer::Row& row,
                 std::string& scratch) {
  for (const auto& [id, v] : row.fields) {
    if (id >= l.column_of.size() || id == FieldNames::kTimestamp) continue;
    int32_t c = l.column_of[id];
    if (c < 0) continue;
    set_value(w, static_cast<size_t>(c), l.columns[c].type, v, scratch);
  }
  w.set_int64(static_cast<size_t>(l.timestamp), row.timestamp_ms * 1000);
  return w.end_row();
}

// "event_type=purchase_sword/level=3" for a row, and with `values` each
// partition value as text.
void partition_of(const RowBuffer::Row& row, const TableWriteSpec& spec, const Layout& l,
                  std::string& out, std::vector<std::optional<std::string>>* values = nullptr) {
  out.clear();
  if (values) values->clear();
  for (size_t i = 0; i < spec.partition_by.size(); ++i) {
    FieldId id = spec.partition_by[i];
    const Value* v = nullptr;
    for (const auto& [fid, fv] : row.fields)
      if (fid == id) v = &fv;
    if (i > 0) out += '/';
    out += l.partition_names[i];
    out += '=';
    if (v && v->kind == Kind::string) {
      append_hive_escaped(out, v->text);
      if (values) values->emplace_back(std::string(v->text));
    } else {
      auto text = v ? format_cell(*v, l.partition_types[i]) : std::nullopt;
      append_hive_escaped(out, text ? *text : std::string_view());
      if (values) values->push_back(text);
    }
  }
}

Result<std::unique_ptr<parquet::FileWriter>> open_file(io::FileSystem& disk, const fs::path& path,
                                                       const Layout& l, const TableWriteSpec& spec,
                                                       size_t open_files) {
  if (auto made = disk.create_dirs(path.parent_path()); !made.ok()) return made.status();
  parquet::WriterOptions o;
  o.codec = spec.codec;
  o.row_group_bytes =
      std::max<uint64_t>(1ull << 20, spec.memory_budget / std::max<size_t>(open_files, 1));
  return parquet::FileWriter::create(disk, path, l.columns, o);
}

Status finish(parquet::FileWriter& w, TableWriteResult& out) {
  auto summary = w.close();
  if (!summary.ok()) return summary.status();
  out.rows += summary->rows;
  out.bytes += summary->bytes;
  out.files += 1;
  WrittenFile f;
  f.summary = std::move(summary).value();
  out.written.push_back(std::move(f));
  return {};
}

// Closes the writers, several at a time: each close syncs its file (on HDFS,
// uploads it), which waits on the disk or the datanode rather than the CPU.
Status finish_all(std::vector<std::unique_ptr<parquet::FileWriter>>& writers,
                  TableWriteResult& out) {
  std::vector<TableWriteResult> results(writers.size());
  std::vector<Status> statuses(writers.size());
  for (size_t first = 0; first < writers.size(); first += kParallelCloses) {
    size_t last = std::min(writers.size(), first + kParallelCloses);
    std::vector<std::thread> threads;
    for (size_t i = first + 1; i < last; ++i)
      threads.emplace_back([&, i] { statuses[i] = finish(*writers[i], results[i]); });
    statuses[first] = finish(*writers[first], results[first]);
    for (std::thread& t : threads) t.join();
  }
  for (size_t i = 0; i < writers.size(); ++i) {
    if (!statuses[i].ok()) return statuses[i];
    out.rows += results[i].rows;
    out.bytes += results[i].bytes;
    out.files += results[i].files;
    for (WrittenFile& f : results[i].written) out.written.push_back(std::move(f));
  }
  return {};
}

}  // namespace

void set_value(parquet::FileWriter& w, size_t column, parquet::ColumnType type, const Value& v,
               std::string& scratch) {
  switch (type) {
    case parquet::ColumnType::string:
      if (v.kind == Kind::string || v.kind == Kind::json) {
        w.set_string(column, v.text);
      } else if (v.kind != Kind::null) {
        scratch.clear();
        append_as_string(v, scratch);
        w.set_string(column, scratch);
      }
      return;
    case parquet::ColumnType::int64:
      if (v.kind == Kind::int64) w.set_int64(column, v.int64);
      return;
    case parquet::ColumnType::float64:
      if (v.kind == Kind::float64) w.set_float64(column, v.float64);
      if (v.kind == Kind::int64) w.set_float64(column, static_cast<double>(v.int64));
      return;
    case parquet::ColumnType::boolean:
      if (v.kind == Kind::boolean) w.set_boolean(column, v.boolean);
      return;
    case parquet::ColumnType::timestamp_micros:
      if (v.kind == Kind::int64) w.set_int64(column, v.int64);
      return;
  }
}

Result<TableWriteResult> write_table(const RowBuffer& rows, io::FileSystem& disk,
                                     const fs::path& dir, const TableWriteSpec& spec) {
  TableWriteResult result;
  const Layout layout = layout_of(spec);
  RowBuffer::Row row;
  std::string scratch;

  if (spec.partition_by.empty()) {
    if (rows.rows() == 0 && !spec.empty_file) return result;
    const std::string name = spec.file_name(0);
    auto w = open_file(disk, dir / name, layout, spec, 1);
    if (!w.ok()) return w.status();
    RowBuffer::Cursor cursor(rows);
    for (;;) {
      auto more = cursor.next(row);
      if (!more.ok()) return more.status();
      if (!*more) break;
      if (Status s = write_row(**w, layout, row, scratch); !s.ok()) return s;
    }
    if (Status s = finish(**w, result); !s.ok()) return s;
    result.written.back().path = name;
    result.written.back().columns = layout.columns;
    return result;
  }

  // Partitioned: find the partitions, then write them kMaxOpenFiles at a time.
  std::map<std::string, size_t> partitions;
  std::map<std::string, std::vector<std::optional<std::string>>> values_of;
  std::string key;
  std::vector<std::optional<std::string>> values;
  {
    RowBuffer::Cursor cursor(rows);
    for (;;) {
      auto more = cursor.next(row);
      if (!more.ok()) return more.status();
      if (!*more) break;
      partition_of(row, spec, layout, key, &values);
      if (partitions.emplace(key, 0).second) values_of.emplace(key, values);
    }
  }
  size_t index = 0;
  for (auto& [k, i] : partitions) i = index++;
  std::vector<std::string> keys;
  for (auto& [k, i] : partitions) keys.push_back(k);

  int file_index = 0;
  for (size_t first = 0; first < keys.size(); first += kMaxOpenFiles) {
    size_t last = std::min(keys.size(), first + kMaxOpenFiles);
    std::vector<std::unique_ptr<parquet::FileWriter>> writers;
    std::vector<fs::path> paths;
    for (size_t i = first; i < last; ++i) {
      paths.push_back(fs::path(keys[i]) / spec.file_name(file_index++));
      auto w = open_file(disk, dir / paths.back(), layout, spec, last - first);
      if (!w.ok()) return w.status();
      writers.push_back(std::move(w).value());
    }
    RowBuffer::Cursor cursor(rows);
    for (;;) {
      auto more = cursor.next(row);
      if (!more.ok()) return more.status();
      if (!*more) break;
      partition_of(row, spec, layout, key);
      size_t i = partitions.find(key)->second;
      if (i < first || i >= last) continue;
      if (Status s = write_row(*writers[i - first], layout, row, scratch); !s.ok()) return s;
    }
    const size_t before = result.written.size();
    if (Status s = finish_all(writers, result); !s.ok()) return s;
    for (size_t i = first; i < last; ++i) {
      WrittenFile& f = result.written[before + (i - first)];
      f.path = paths[i - first];
      f.partition_values = values_of[keys[i]];
      f.columns = layout.columns;
    }
  }
  return result;
}

}  // namespace questlog::extract
