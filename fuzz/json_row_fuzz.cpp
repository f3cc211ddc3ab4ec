// Records (one JSON text per line) -> events -> rows -> schema, as extract
// decodes and buffers them (extract/event_parser.h, row_buffer.h, schema.h).
// What must hold: a row reads back as the event it was made from, spilled or
// not, and the schema's column names differ from each other even without case.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "extract/event_parser.h"
#include "extract/row_buffer.h"
#include "extract/schema.h"
#include "util/case_fold.h"

using namespace questlog;
using namespace questlog::extract;

namespace {

struct Cell {
  FieldId id;
  Kind kind;
  bool boolean;
  int64_t int64;
  double float64;
  std::string text;
  bool operator==(const Cell& o) const {
    return id == o.id && kind == o.kind && boolean == o.boolean && int64 == o.int64 &&
           std::memcmp(&float64, &o.float64, sizeof float64) == 0 && text == o.text;
  }
};

Cell cell(FieldId id, const Value& v) {
  return {id, v.kind, v.boolean, v.int64, v.float64, std::string(v.text)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  FieldNames names;
  EventParser parser(names);
  Event e;
  TableSchema schema;
  RowBuffer rows(std::filesystem::temp_directory_path());
  std::vector<std::vector<Cell>> expected;
  std::vector<int64_t> timestamps;
  int64_t offset = 0;
  while (!in.empty()) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
    e.offset = offset;
    e.timestamp_ms = offset * 1000 - 5;
    ++offset;
    if (!parser.parse(line, e)) {
      if (parser.error().empty()) std::abort();
      continue;
    }
    std::vector<Cell> cells;
    for (const Event::Field& f : e.fields()) {
      if (!f.present) continue;
      if (f.id == FieldNames::kTimestamp) std::abort();  // the ingest time's alone
      schema.observe(f.id, f.value.kind, e.offset);
      cells.push_back(cell(f.id, f.value));
    }
    expected.push_back(std::move(cells));
    timestamps.push_back(e.timestamp_ms);
    rows.append(e);
    if (expected.size() == 2 && !rows.spill().ok()) std::abort();
  }

  RowBuffer::Cursor cursor(rows);
  RowBuffer::Row row;
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::vector<Cell>& want = expected[i];
    auto more = cursor.next(row);
    if (!more.ok() || !*more || row.timestamp_ms != timestamps[i]) std::abort();
    std::vector<Cell> got;
    for (const auto& [id, v] : row.fields) got.push_back(cell(id, v));
    if (got != want) std::abort();
  }
  auto end = cursor.next(row);
  if (!end.ok() || *end) std::abort();

  std::set<std::string> folded;
  for (const SchemaColumn& c : schema.columns(names))
    if (!folded.insert(fold_case(c.name)).second) std::abort();
  (void)schema.notes(names);
  return 0;
}
