// write_nested: writes a Parquet file of nested fields with questlog's writer
// (FileWriter::create_nested) from JSON on stdin, for
// tests/integration/test_delta_checkpoint.py.
//
//   write_nested OUT.parquet [page_bytes] < input
//
// Input, one JSON document a line:
//   line 1   the schema: an array of fields, each
//              {"name": N, "kind": K, "required": bool (optional), "children": [...]}
//            K one of string int32 int64 float64 boolean group list map; a
//            list's one child is its element, a map's two are key and value
//            (their names are replaced by element, key and value)
//   then     one row a line: an array with a value per top-level field:
//              null; a string, number or boolean for a scalar; an object for
//              a group (missing fields are null); an array for a list; an
//              array of [key, value] pairs for a map
// Prints "rows=R row_groups=G bytes=B" on success; on failure one line on
// stderr and exit status 1.
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "parquet/file_writer.h"

namespace pq = questlog::parquet;
using simdjson::dom::element;

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "write_nested: %s\n", msg.c_str());
  std::exit(1);
}

pq::Field::Kind kind_of(std::string_view k) {
  using K = pq::Field::Kind;
  if (k == "string") return K::string;
  if (k == "int32") return K::int32;
  if (k == "int64") return K::int64;
  if (k == "float64") return K::float64;
  if (k == "boolean") return K::boolean;
  if (k == "group") return K::group;
  if (k == "list") return K::list;
  if (k == "map") return K::map;
  die("unknown kind " + std::string(k));
}

pq::Field field_of(element e) {
  pq::Field f;
  std::string_view name, kind;
  if (e["name"].get_string().get(name) || e["kind"].get_string().get(kind))
    die("a field needs name and kind");
  f.name = std::string(name);
  f.kind = kind_of(kind);
  bool required = false;
  if (!e["required"].get_bool().get(required)) f.required = required;
  simdjson::dom::array children;
  if (!e["children"].get_array().get(children))
    for (element c : children) f.children.push_back(field_of(c));
  if (f.kind == pq::Field::Kind::list) {
    if (f.children.size() != 1) die("a list needs one child");
    return pq::Field::list(f.name, f.children[0]);
  }
  if (f.kind == pq::Field::Kind::map) {
    if (f.children.size() != 2) die("a map needs two children");
    return pq::Field::map(f.name, f.children[0], f.children[1]);
  }
  return f;
}

pq::Value value_of(const pq::Field& f, element e) {
  if (e.is_null()) return {};
  using K = pq::Field::Kind;
  switch (f.kind) {
    case K::string:
      return pq::Value(std::string(e.get_string().value()));
    case K::int32:
    case K::int64:
      return pq::Value(e.get_int64().value());
    case K::float64:
      return pq::Value(e.get_double().value());
    case K::boolean:
      return pq::Value(e.get_bool().value());
    case K::group: {
      std::vector<pq::Value> parts;
      for (const pq::Field& c : f.children) {
        element v;
        parts.push_back(e[c.name].get(v) ? pq::Value() : value_of(c, v));
      }
      return pq::Value::parts(std::move(parts));
    }
    case K::list: {
      std::vector<pq::Value> parts;
      simdjson::dom::array items = e.get_array().value();
      for (element v : items) parts.push_back(value_of(f.children[0], v));
      return pq::Value::parts(std::move(parts));
    }
    case K::map: {
      std::vector<pq::Value> parts;
      simdjson::dom::array items = e.get_array().value();
      for (element kv : items) {
        simdjson::dom::array pair = kv.get_array().value();
        parts.push_back(pq::Value::entry(value_of(f.children[0], pair.at(0).value()),
                                         value_of(f.children[1], pair.at(1).value())));
      }
      return pq::Value::parts(std::move(parts));
    }
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) die("usage: write_nested OUT.parquet [page_bytes] < input");
  pq::WriterOptions options;
  if (argc == 3) options.page_bytes = std::strtoull(argv[2], nullptr, 10);
  simdjson::dom::parser parser;
  std::string line;
  if (!std::getline(std::cin, line)) die("no schema line");
  std::vector<pq::Field> schema;
  try {
    simdjson::dom::array fields = parser.parse(line).get_array().value();
    for (element f : fields) schema.push_back(field_of(f));
    auto w =
        pq::FileWriter::create_nested(questlog::io::local_file_system(), argv[1], schema, options);
    if (!w.ok()) die(w.status().message());
    while (std::getline(std::cin, line)) {
      if (line.empty()) continue;
      std::vector<pq::Value> row;
      size_t i = 0;
      simdjson::dom::array values = parser.parse(line).get_array().value();
      for (element v : values) {
        if (i >= schema.size()) die("a row with more values than fields");
        row.push_back(value_of(schema[i++], v));
      }
      if (auto s = (*w)->write_row(row); !s.ok()) die(s.message());
    }
    auto summary = (*w)->close();
    if (!summary.ok()) die(summary.status().message());
    std::printf("rows=%llu row_groups=%llu bytes=%llu\n",
                static_cast<unsigned long long>(summary->rows),
                static_cast<unsigned long long>(summary->row_groups),
                static_cast<unsigned long long>(summary->bytes));
  } catch (const simdjson::simdjson_error& e) {
    die(std::string("bad JSON: ") + e.what());
  }
  return 0;
}
