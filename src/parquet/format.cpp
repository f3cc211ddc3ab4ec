#include "parquet/format.h"

#include "parquet/thrift_compact.h"

namespace questlog::parquet::format {
namespace {

using thrift::CompactWriter;
using thrift::CType;

template <typename E>
int32_t i32(E e) {
  return static_cast<int32_t>(e);
}

void write_statistics(CompactWriter& w, const Statistics& s) {
  // 1: max (deprecated), 2: min (deprecated), 3: null_count, 4: distinct_count,
  // 5: max_value, 6: min_value, 7: is_max_value_exact, 8: is_min_value_exact,
  // 9: nan_count
  w.field_i64(3, s.null_count);
  if (s.max_value) w.field_binary(5, *s.max_value);
  if (s.min_value) w.field_binary(6, *s.min_value);
  if (s.max_value) w.field_bool(7, true);
  if (s.min_value) w.field_bool(8, true);
  if (s.nan_count) w.field_i64(9, *s.nan_count);
}

void write_schema_element(CompactWriter& w, const SchemaElement& e) {
  w.begin_struct();
  if (e.type) w.field_i32(1, i32(*e.type));
  if (e.repetition) w.field_i32(3, i32(*e.repetition));
  w.field_binary(4, e.name);
  if (e.num_children) w.field_i32(5, *e.num_children);
  if (e.converted_type) w.field_i32(6, i32(*e.converted_type));
  switch (e.logical_type) {
    case LogicalType::none:
      break;
    case LogicalType::string:
      w.field_struct(10);  // LogicalType union
      w.field_struct(1);   // STRING: StringType {}
      w.end_struct();
      w.end_struct();
      break;
    case LogicalType::map:
      w.field_struct(10);  // LogicalType union
      w.field_struct(2);   // MAP: MapType {}
      w.end_struct();
      w.end_struct();
      break;
    case LogicalType::list:
      w.field_struct(10);  // LogicalType union
      w.field_struct(3);   // LIST: ListType {}
      w.end_struct();
      w.end_struct();
      break;
    case LogicalType::timestamp_micros_utc:
      w.field_struct(10);     // LogicalType union
      w.field_struct(8);      // TIMESTAMP: TimestampType
      w.field_bool(1, true);  // isAdjustedToUTC
      w.field_struct(2);      // unit: TimeUnit union
      w.field_struct(2);      // MICROS: MicroSeconds {}
      w.end_struct();
      w.end_struct();
      w.end_struct();
      w.end_struct();
      break;
  }
  w.end_struct();
}

void write_column_metadata(CompactWriter& w, const ColumnMetaData& m) {
  w.field_i32(1, i32(m.type));
  w.field_list(2, CType::i32, m.encodings.size());
  for (Encoding e : m.encodings) w.elem_i32(i32(e));
  w.field_list(3, CType::binary, m.path_in_schema.size());
  for (const std::string& p : m.path_in_schema) w.elem_binary(p);
  w.field_i32(4, i32(m.codec));
  w.field_i64(5, m.num_values);
  w.field_i64(6, m.total_uncompressed_size);
  w.field_i64(7, m.total_compressed_size);
  w.field_i64(9, m.data_page_offset);
  if (m.dictionary_page_offset) w.field_i64(11, *m.dictionary_page_offset);
  w.field_struct(12);
  write_statistics(w, m.statistics);
  w.end_struct();
  if (!m.encoding_stats.empty()) {
    w.field_list(13, CType::structure, m.encoding_stats.size());
    for (const PageEncodingStats& s : m.encoding_stats) {
      w.begin_struct();
      w.field_i32(1, i32(s.page_type));
      w.field_i32(2, i32(s.encoding));
      w.field_i32(3, s.count);
      w.end_struct();
    }
  }
}

void write_row_group(CompactWriter& w, const RowGroup& g) {
  w.begin_struct();
  w.field_list(1, CType::structure, g.columns.size());
  for (const ColumnChunk& c : g.columns) {
    w.begin_struct();
    w.field_i64(2, c.file_offset);
    w.field_struct(3);
    write_column_metadata(w, c.meta_data);
    w.end_struct();
    w.end_struct();
  }
  w.field_i64(2, g.total_byte_size);
  w.field_i64(3, g.num_rows);
  w.field_i64(5, g.file_offset);
  w.field_i64(6, g.total_compressed_size);
  if (g.has_ordinal) w.field_i16(7, g.ordinal);
  w.end_struct();
}

}  // namespace

size_t leaf_count(const std::vector<SchemaElement>& schema) {
  size_t n = 0;
  for (size_t i = 1; i < schema.size(); ++i) n += schema[i].num_children ? 0 : 1;
  return n;
}

void serialize(const PageHeader& h, std::vector<uint8_t>& out) {
  CompactWriter w(out);
  w.begin_struct();
  w.field_i32(1, i32(h.type));
  w.field_i32(2, h.uncompressed_page_size);
  w.field_i32(3, h.compressed_page_size);
  if (h.data_page_header) {
    const DataPageHeader& d = *h.data_page_header;
    w.field_struct(5);
    w.field_i32(1, d.num_values);
    w.field_i32(2, i32(d.encoding));
    w.field_i32(3, i32(d.definition_level_encoding));
    w.field_i32(4, i32(d.repetition_level_encoding));
    w.end_struct();
  }
  if (h.dictionary_page_header) {
    const DictionaryPageHeader& d = *h.dictionary_page_header;
    w.field_struct(7);
    w.field_i32(1, d.num_values);
    w.field_i32(2, i32(d.encoding));
    w.end_struct();
  }
  w.end_struct();
}

void serialize(const FileMetaData& m, std::vector<uint8_t>& out) {
  CompactWriter w(out);
  w.begin_struct();
  w.field_i32(1, m.version);
  w.field_list(2, CType::structure, m.schema.size());
  for (const SchemaElement& e : m.schema) write_schema_element(w, e);
  w.field_i64(3, m.num_rows);
  w.field_list(4, CType::structure, m.row_groups.size());
  for (const RowGroup& g : m.row_groups) write_row_group(w, g);
  w.field_binary(6, m.created_by);
  size_t leaves = leaf_count(m.schema);
  w.field_list(7, CType::structure, leaves);
  for (size_t i = 0; i < leaves; ++i) {
    w.begin_struct();   // ColumnOrder union
    w.field_struct(1);  // TYPE_ORDER: TypeDefinedOrder {}
    w.end_struct();
    w.end_struct();
  }
  w.end_struct();
}

}  // namespace questlog::parquet::format
