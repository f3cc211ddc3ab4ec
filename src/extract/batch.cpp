#include "extract/batch.h"

#include <simdjson.h>

namespace questlog::extract {

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

BatchProcessor::BatchProcessor(FieldNames& names, const std::vector<Transform>& transforms,
                               const std::vector<TablePlan>& tables, RejectFields reject_fields)
    : parser_(names),
      transformer_(transforms),
      tables_(tables),
      reject_fields_(reject_fields),
      encoders_(tables.size()),
      kinds_seen_(tables.size()) {}

void BatchProcessor::note(size_t table, FieldId field, Kind kind, int64_t offset,
                          Batch::TableOut& out) {
  std::vector<uint8_t>& seen = kinds_seen_[table];
  if (field >= seen.size()) seen.resize(field + 1, 0);
  auto bit = static_cast<uint8_t>(1u << static_cast<unsigned>(kind));
  if (seen[field] & bit) return;
  seen[field] |= bit;
  out.seen.push_back({field, kind, offset});
}

void BatchProcessor::process(Batch& batch) {
  batch.tables.resize(tables_.size());
  for (size_t t = 0; t < tables_.size(); ++t) {
    Batch::TableOut& out = batch.tables[t];
    out.rows.clear();
    out.encoded = out.matched = 0;
    out.seen.clear();
    encoders_[t].reset();
  }
  Batch::RejectedOut& rejected = batch.rejected;
  rejected.rows.clear();
  rejected.count = 0;
  rejected.first_offset = -1;
  rejected.first_error.clear();
  rejected_encoder_.reset();

  for (const Batch::RecordRef& r : batch.records) {
    std::string_view value = batch.value(r);
    if (!parser_.parse(value, event_)) {
      if (rejected.count++ == 0) {
        rejected.first_offset = r.offset;
        rejected.first_error = parser_.error();
      }
      raw_ = to_utf8(value);
      rejected_event_.clear();
      rejected_event_.timestamp_ms = r.timestamp_ms;
      rejected_event_.set(reject_fields_.error, Value::of_string(parser_.error()));
      rejected_event_.set(reject_fields_.offset, Value::of_int(r.offset));
      rejected_event_.set(reject_fields_.raw, Value::of_string(raw_));
      rejected_encoder_.encode(rejected_event_, rejected.rows);
      continue;
    }
    event_.offset = r.offset;
    event_.timestamp_ms = r.timestamp_ms;
    if (!transformer_.apply(event_)) continue;
    for (size_t t = 0; t < tables_.size(); ++t) {
      const TablePlan& plan = tables_[t];
      if (r.offset < plan.starts[r.range] || !plan.where->matches(event_)) continue;
      Batch::TableOut& out = batch.tables[t];
      ++out.matched;
      for (const Event::Field& f : event_.fields())
        if (f.present) note(t, f.id, f.value.kind, r.offset, out);
      if (plan.keep_all || out.encoded < plan.keep) {
        encoders_[t].encode(event_, out.rows);
        ++out.encoded;
      }
    }
  }
  // Forget this batch's kinds: the next batch reports its own first sightings.
  for (size_t t = 0; t < tables_.size(); ++t)
    for (const KindSeen& s : batch.tables[t].seen) kinds_seen_[t][s.field] = 0;
}

}  // namespace questlog::extract
