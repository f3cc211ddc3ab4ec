#include "extract/schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace questlog::extract {

ColumnType widen(ColumnType t, Kind k) {
  ColumnType v = ColumnType::none;
  switch (k) {
    case Kind::null:
      return t;
    case Kind::boolean:
      v = ColumnType::boolean;
      break;
    case Kind::int64:
      v = ColumnType::int64;
      break;
    case Kind::float64:
      v = ColumnType::float64;
      break;
    case Kind::string:
    case Kind::json:
      v = ColumnType::string;
      break;
  }
  if (t == ColumnType::none || t == v) return v;
  if (t == ColumnType::boolean || v == ColumnType::boolean) return ColumnType::string;
  return std::max(t, v);  // int64 < float64 < string
}

const char* type_name(ColumnType t) {
  switch (t) {
    case ColumnType::none:
      return "null";
    case ColumnType::boolean:
      return "boolean";
    case ColumnType::int64:
      return "int64";
    case ColumnType::float64:
      return "float64";
    case ColumnType::string:
      return "string";
  }
  return "?";
}

parquet::ColumnType parquet_type(ColumnType t) {
  switch (t) {
    case ColumnType::boolean:
      return parquet::ColumnType::boolean;
    case ColumnType::int64:
      return parquet::ColumnType::int64;
    case ColumnType::float64:
      return parquet::ColumnType::float64;
    case ColumnType::none:
    case ColumnType::string:
      break;
  }
  return parquet::ColumnType::string;
}

void append_as_string(const Value& v, std::string& out) {
  switch (v.kind) {
    case Kind::null:
      return;
    case Kind::boolean:
      out += v.boolean ? "true" : "false";
      return;
    case Kind::int64:
      fmt::format_to(std::back_inserter(out), "{}", v.int64);
      return;
    case Kind::float64: {
      size_t start = out.size();
      fmt::format_to(std::back_inserter(out), "{}", v.float64);
      if (out.find_first_not_of("-0123456789", start) == std::string::npos) out += ".0";
      return;
    }
    case Kind::string:
    case Kind::json:
      out += v.text;
      return;
  }
}

void TableSchema::grow(FieldId field) {
  types_.resize(field + 1, ColumnType::none);
  present_.resize(field + 1, 0);
}

void TableSchema::first_seen(FieldId field) {
  present_[field] = 1;
  if (field != FieldNames::kTimestamp) order_.push_back(field);
}

std::vector<FieldId> TableSchema::keys() const {
  std::vector<FieldId> keys{FieldNames::kTimestamp};
  keys.insert(keys.end(), order_.begin(), order_.end());
  return keys;
}

ColumnNaming TableSchema::naming(const FieldNames& names, const std::vector<FieldId>& keys) const {
  std::vector<std::string_view> spellings;
  for (FieldId id : keys) spellings.push_back(names.name(id));
  return name_columns(spellings, rules_);
}

void TableSchema::changed(FieldId field, ColumnType from, ColumnType to, int64_t offset) {
  types_[field] = to;
  if (from == ColumnType::none) return;  // the first value: not a widening
  for (ColumnHistory& h : history_) {
    if (h.field == field) {
      h.steps.push_back({from, to, offset});
      return;
    }
  }
  history_.push_back({field, {{from, to, offset}}});
}

std::vector<SchemaColumn> TableSchema::columns(const FieldNames& names,
                                               const std::vector<FieldId>& exclude) const {
  const std::vector<FieldId> ids = keys();
  ColumnNaming named = naming(names, ids);
  std::vector<SchemaColumn> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    FieldId id = ids[i];
    if (std::find(exclude.begin(), exclude.end(), id) != exclude.end()) continue;
    parquet::ColumnType type = id == FieldNames::kTimestamp ? parquet::ColumnType::timestamp_micros
                                                            : parquet_type(types_[id]);
    out.push_back({id, std::move(named.names[i]), type});
  }
  std::sort(out.begin(), out.end(),
            [](const SchemaColumn& a, const SchemaColumn& b) { return a.name < b.name; });
  return out;
}

std::string TableSchema::describe(const std::string& column, const std::vector<Widening>& steps) {
  std::string out = fmt::format("column {} widened", column);
  for (size_t i = 0; i < steps.size(); ++i) {
    if (i == 0) out += fmt::format(" from {}", type_name(steps[i].from));
    out += fmt::format("{}{} at offset {}", i == 0 ? " to " : ", to ", type_name(steps[i].to),
                       steps[i].offset);
  }
  return out;
}

std::vector<std::string> TableSchema::notes(const FieldNames& names) const {
  const std::vector<FieldId> ids = keys();
  ColumnNaming named = naming(names, ids);
  std::vector<std::string> out;
  for (const ColumnNaming::Rename& r : named.renames) {
    if (r.kept == r.key)
      out.push_back(describe_delta_rename(names.name(ids[r.key]), named.names[r.key]));
    else
      out.push_back(
          describe_rename(names.name(ids[r.key]), named.names[r.key], named.names[r.kept]));
  }
  for (const ColumnHistory& h : history_) {
    size_t i = std::find(ids.begin(), ids.end(), h.field) - ids.begin();
    out.push_back(describe(i < ids.size() ? named.names[i] : names.name(h.field), h.steps));
  }
  return out;
}

}  // namespace questlog::extract
