#include "extract/extract.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "extract/event_parser.h"
#include "extract/row_buffer.h"
#include "extract/schema.h"
#include "extract/table_dir.h"
#include "extract/table_printer.h"
#include "extract/table_writer.h"
#include "extract/transforms.h"
#include "log/embedded/log_reader.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;

// One table's state during a run.
struct TableRun {
  std::string name;
  std::string relative;  // under the lake; empty: printed only
  const TableSpec* spec = nullptr;
  Mode mode = Mode::overwrite;
  parquet::Codec codec = parquet::Codec::snappy;
  std::vector<FieldId> partition_by;
  const Filter* where = nullptr;  // nullptr: every event
  bool print_schema = false;
  int64_t show = 0;
  int64_t start = 0;  // the first offset this table takes
  TableSchema schema;
  std::unique_ptr<RowBuffer> rows;
  uint64_t count = 0;
  std::unique_ptr<TableDir> dir;
  bool staged = false;
  TableWriteResult written;
};

// `s` as valid UTF-8: well-formed sequences kept, any other byte read as
// Latin-1 (as the event encoder reads header bytes).
std::string to_utf8(std::string_view s) {
  if (simdjson::validate_utf8(s.data(), s.size())) return std::string(s);
  std::string out;
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n > 0 && i + n <= s.size() && simdjson::validate_utf8(s.data() + i, n)) {
      out.append(s.data() + i, n);
      i += n;
    } else {
      out += static_cast<char>(0xC0 | (b >> 6));
      out += static_cast<char>(0x80 | (b & 0x3F));
      ++i;
    }
  }
  return out;
}

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

class Progress {
 public:
  Progress(bool on, std::FILE* err, int64_t start, int64_t end)
      : on_(on), err_(err), start_(start), end_(end), began_(Clock::now()), last_(began_) {}

  void update(int64_t offset, uint64_t records) {
    if (!on_) return;
    auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - began_).count();
    std::fprintf(err_, "\rquestlog: offset %lld of %lld (%.0f%%), %.0f events/s\x1b[K",
                 static_cast<long long>(offset), static_cast<long long>(end_),
                 end_ > start_ ? 100.0 * static_cast<double>(offset - start_) /
                                     static_cast<double>(end_ - start_)
                               : 100.0,
                 secs > 0 ? static_cast<double>(records) / secs : 0.0);
    std::fflush(err_);
    shown_ = true;
  }
  void clear() {
    if (shown_) std::fputs("\r\x1b[K", err_);
    shown_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;
  bool on_;
  std::FILE* err_;
  int64_t start_, end_;
  Clock::time_point began_, last_;
  bool shown_ = false;
};

// printSchema() and show() of a table, from its first rows.
Status print_table(TableRun& t, const FieldNames& names, std::FILE* out) {
  std::vector<SchemaColumn> columns = t.schema.columns(names);
  if (t.print_schema) std::fputs(schema_tree(columns).c_str(), out);
  if (t.show <= 0) return {};
  std::vector<std::string> header;
  for (const SchemaColumn& c : columns) header.push_back(c.name);
  ShowTable table(std::move(header));
  RowBuffer::Cursor cursor(*t.rows);
  RowBuffer::Row row;
  std::vector<const Value*> by_field(names.size(), nullptr);
  for (int64_t i = 0; i < t.show; ++i) {
    auto more = cursor.next(row);
    if (!more.ok()) return more.status();
    if (!*more) break;
    for (const auto& [id, v] : row.fields)
      if (id < by_field.size()) by_field[id] = &v;
    std::vector<std::optional<std::string>> cells;
    for (const SchemaColumn& c : columns) {
      if (c.field == FieldNames::kTimestamp) {
        cells.push_back(format_timestamp(row.timestamp_ms));
      } else {
        const Value* v = c.field < by_field.size() ? by_field[c.field] : nullptr;
        cells.push_back(v ? format_cell(*v, c.type) : std::nullopt);
      }
    }
    for (const auto& [id, v] : row.fields)
      if (id < by_field.size()) by_field[id] = nullptr;
    table.add_row(std::move(cells));
  }
  std::fputs(table.render(static_cast<uint64_t>(t.show), t.count).c_str(), out);
  return {};
}

// Writes the table into a fresh staging directory (not yet published).
Status stage_table(TableRun& t, const FieldNames& names, int64_t end, uint64_t budget) {
  auto staging = t.dir->begin(t.mode);
  if (!staging.ok()) return staging.status();
  TableWriteSpec spec;
  spec.columns = t.schema.columns(names);
  spec.partition_by = t.partition_by;
  spec.codec = t.codec;
  spec.empty_file = t.mode == Mode::overwrite;
  spec.memory_budget = budget;
  const std::string uuid = random_uuid();
  if (t.mode == Mode::incremental) {
    int64_t start = t.start;
    spec.file_name = [start, end, uuid, codec = t.codec](int) {
      return TableDir::incremental_part_name(start, end, uuid, codec);
    };
  } else {
    spec.file_name = [uuid, codec = t.codec](int i) { return TableDir::part_name(i, uuid, codec); };
  }
  auto written = write_table(*t.rows, *staging, spec);
  if (!written.ok())
    return Status::error(written.status().code(),
                         "table " + t.name + ": " + written.status().message());
  t.written = *written;
  // An append or incremental run with no rows has nothing to publish.
  t.staged = t.mode == Mode::overwrite || t.written.files > 0;
  if (!t.staged) t.dir->abort();
  return {};
}

Result<std::pair<int64_t, int64_t>> resolve_range(const Job& job,
                                                  log::embedded::LogReader& reader) {
  auto first = reader.start_offset();
  if (!first.ok()) return first.status();
  auto last = reader.end_offset();
  if (!last.ok()) return last.status();
  int64_t start = *first, end = *last;
  switch (job.starting.kind) {
    case OffsetSpec::Kind::earliest:
      break;
    case OffsetSpec::Kind::latest:
      start = *last;
      break;
    case OffsetSpec::Kind::at:
      start = std::clamp(job.starting.offset, *first, *last);
      break;
  }
  if (job.ending.kind == OffsetSpec::Kind::at) end = std::clamp(job.ending.offset, start, *last);
  return std::make_pair(start, std::max(start, end));
}

}  // namespace

Result<ExtractReport> run_extract(Job& job, const ExtractOptions& o) {
  FieldNames& names = *job.names;
  const fs::path spill_dir = o.lake / ".staging";

  auto opened = log::embedded::LogReader::open(o.log_dir);
  if (!opened.ok()) return opened.status();
  log::embedded::LogReader& reader = **opened;
  // The range is fixed now: what arrives while the job runs waits for the next run.
  auto range = resolve_range(job, reader);
  if (!range.ok()) return range.status();
  const auto [start, end] = *range;

  std::vector<TableRun> tables(job.tables.size());
  for (size_t i = 0; i < job.tables.size(); ++i) {
    const TableSpec& spec = job.tables[i];
    TableRun& t = tables[i];
    t.name = spec.name;
    t.relative = spec.path;
    t.spec = &spec;
    t.mode = spec.mode;
    t.codec = spec.codec;
    t.partition_by = spec.partition_by;
    t.where = &spec.where;
    t.print_schema = spec.print_schema;
    t.show = o.show ? *o.show : spec.show;
    t.start = start;
    t.rows = std::make_unique<RowBuffer>(spill_dir);
    if (t.relative.empty()) continue;
    auto dir = TableDir::open(o.lake, t.relative);
    if (!dir.ok()) return dir.status();
    t.dir = std::move(dir).value();
    if (t.mode == Mode::incremental) {
      auto committed = t.dir->committed_end();
      if (!committed.ok()) return committed.status();
      if (*committed) t.start = std::min(**committed, end);
    }
  }

  // One pass from the earliest offset any table needs.
  int64_t pass_start = end;
  for (const TableRun& t : tables) pass_start = std::min(pass_start, t.start);
  if (Status s = reader.seek(pass_start); !s.ok()) return s;

  ExtractReport report;
  report.start = pass_start;
  report.end = end;
  const FieldId error_id = names.intern("error");
  const FieldId offset_id = names.intern("offset");
  const FieldId raw_id = names.intern("raw");
  // Records that are not JSON objects: <lake>/_rejected/<job stem>.
  TableRun rejects;
  rejects.name = "_rejected";
  rejects.relative = "_rejected/" + job.stem;
  rejects.rows = std::make_unique<RowBuffer>(spill_dir);
  Event rejected_row;
  std::string raw_text;

  EventParser parser(names);
  Transformer transformer(job.transforms);
  Event event;
  log::Record rec;
  Progress progress(o.progress, o.err, pass_start, end);
  uint64_t until_check = 1024;
  while (pass_start < end) {
    auto more = reader.next(rec);
    if (!more.ok()) return more.status();
    if (!*more || rec.offset >= end) break;
    ++report.records;
    if (!parser.parse(rec.value, event)) {
      if (o.strict)
        return Status::error(Errc::corruption, "offset " + std::to_string(rec.offset) + ": " +
                                                   parser.error() + " (--strict)");
      ++report.rejected;
      raw_text = to_utf8(rec.value);
      rejected_row.clear();
      rejected_row.timestamp_ms = rec.timestamp_ms;
      rejected_row.set(error_id, Value::of_string(parser.error()));
      rejected_row.set(offset_id, Value::of_int(rec.offset));
      rejected_row.set(raw_id, Value::of_string(raw_text));
      rejects.rows->append(rejected_row);
      continue;
    }
    event.offset = rec.offset;
    event.timestamp_ms = rec.timestamp_ms;
    if (!transformer.apply(event)) continue;
    for (TableRun& t : tables) {
      if (rec.offset < t.start || !t.where->matches(event)) continue;
      ++t.count;
      for (const Event::Field& f : event.fields())
        if (f.present) t.schema.observe(f.id, f.value.kind, rec.offset);
      if (!t.relative.empty() || t.count <= static_cast<uint64_t>(t.show)) t.rows->append(event);
    }
    if (--until_check == 0) {
      until_check = 1024;
      uint64_t memory = rejects.rows->memory_bytes();
      for (const TableRun& t : tables) memory += t.rows->memory_bytes();
      if (memory > o.memory_budget) {
        for (TableRun& t : tables)
          if (Status s = t.rows->spill(); !s.ok()) return s;
        if (Status s = rejects.rows->spill(); !s.ok()) return s;
      }
      progress.update(rec.offset, report.records);
    }
  }
  progress.clear();

  // The schemas are final: report widenings, print, and stage every table.
  for (TableRun& t : tables) {
    for (const auto& h : t.schema.widenings())
      std::fprintf(o.err, "questlog: table %s: %s\n", t.name.c_str(),
                   TableSchema::describe(names.name(h.field), h.steps).c_str());
  }
  for (TableRun& t : tables) {
    if (Status s = print_table(t, names, o.out); !s.ok()) return s;
    std::fflush(o.out);
    if (t.dir) {
      if (Status s = stage_table(t, names, end, o.memory_budget); !s.ok()) return s;
    }
  }

  // The rejected records of this run (replacing the last run's, once the
  // table exists, so it never shows rejects of an older range).
  std::error_code ec;
  if (report.rejected > 0 || fs::exists(o.lake / rejects.relative, ec)) {
    auto dir = TableDir::open(o.lake, rejects.relative);
    if (!dir.ok()) return dir.status();
    rejects.dir = std::move(dir).value();
    rejects.schema.observe(error_id, Kind::string, 0);
    rejects.schema.observe(offset_id, Kind::int64, 0);
    rejects.schema.observe(raw_id, Kind::string, 0);
    rejects.count = report.rejected;
    if (Status s = stage_table(rejects, names, end, o.memory_budget); !s.ok()) return s;
  }

  // Publish.
  for (TableRun& t : tables) {
    if (t.staged) {
      if (Status s = t.dir->commit(); !s.ok()) return s;
    }
  }
  if (rejects.staged) {
    if (Status s = rejects.dir->commit(); !s.ok()) return s;
  }

  for (TableRun& t : tables) {
    TableReport r;
    r.name = t.name;
    r.rows = t.count;
    r.files = t.written.files;
    r.bytes = t.written.bytes;
    r.start = t.start;
    r.end = end;
    if (t.dir) r.path = (o.lake / t.relative).lexically_normal().string();
    std::string line = "questlog: table " + t.name + ": " + plural(t.count, "row", "rows");
    if (t.dir) {
      line += ", " + plural(r.files, "file", "files") + ", " + plural(r.bytes, "byte", "bytes") +
              " -> " + r.path;
      if (t.mode == Mode::incremental)
        line += " (offsets " + std::to_string(t.start) + " to " + std::to_string(end) + ")";
      else if (t.mode == Mode::append)
        line += " (appended)";
    } else {
      line += " (printed only: no path)";
    }
    std::fprintf(o.err, "%s\n", line.c_str());
    report.tables.push_back(std::move(r));
  }
  if (report.rejected > 0)
    std::fprintf(o.err, "questlog: %s not a JSON object -> %s\n",
                 plural(report.rejected, "record", "records").c_str(),
                 (o.lake / rejects.relative).lexically_normal().string().c_str());
  return report;
}

}  // namespace questlog::extract
