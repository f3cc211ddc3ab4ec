// The unit of work of an extract pass: a few thousand consecutive records,
// copied out of the log, turned into encoded rows per table by one worker,
// then merged into the tables in log order by the reading thread. Workers
// share nothing but the job (read-only) and the field dictionary (locked,
// cached per worker), so a pass scales with cores and its result does not
// depend on how many there are.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "extract/event.h"
#include "extract/event_parser.h"
#include "extract/filter.h"
#include "extract/row_buffer.h"
#include "extract/transforms.h"

namespace questlog::extract {

// What a worker needs to know about a table.
struct TablePlan {
  const Filter* where = nullptr;
  // Per range of the pass (Batch::RecordRef::range): records of that range
  // before this offset are not the table's.
  std::vector<int64_t> starts;
  bool keep_all = true;  // false: keep only the first `keep` rows (printed, not written)
  uint64_t keep = 0;
};

// The first time, within a batch, that a field of a table had a kind: enough
// to replay the batch's schema changes (widening only depends on which kinds
// were seen, and changes at their first appearance).
struct KindSeen {
  FieldId field;
  Kind kind;
  int64_t offset;
};

struct Batch {
  struct RecordRef {
    int64_t offset;
    int64_t timestamp_ms;
    uint32_t position;  // in bytes
    uint32_t size;
    uint32_t range;  // which range of the pass (one per partition) it was read from
  };
  struct TableOut {
    std::string rows;      // a chunk of encoded rows (RowBuffer::append_chunk)
    uint64_t encoded = 0;  // rows in `rows`
    uint64_t matched = 0;  // rows the table took, encoded or not
    std::vector<KindSeen> seen;
  };
  struct RejectedOut {
    std::string rows;  // error, offset, raw (field ids in the worker's Rejects)
    uint64_t count = 0;
    int64_t first_offset = -1;
    std::string first_error;
  };

  // In: filled by the reader.
  std::string bytes;
  std::vector<RecordRef> records;
  // Out: filled by a worker.
  std::vector<TableOut> tables;
  RejectedOut rejected;
  bool done = true;  // guarded by the worker pool's mutex

  void clear_input() {
    bytes.clear();
    records.clear();
  }
  std::string_view value(const RecordRef& r) const { return {bytes.data() + r.position, r.size}; }
};

// The field ids of the _rejected table's columns.
struct RejectFields {
  FieldId error;
  FieldId offset;
  FieldId raw;
};

// One worker's state: its parser, transformer and encoders. Not thread-safe:
// one per thread.
class BatchProcessor {
 public:
  BatchProcessor(FieldNames& names, const std::vector<Transform>& transforms,
                 const std::vector<TablePlan>& tables, RejectFields reject_fields);

  // Fills the outputs of `batch` from its records.
  void process(Batch& batch);

 private:
  void note(size_t table, FieldId field, Kind kind, int64_t offset, Batch::TableOut& out);

  EventParser parser_;
  Transformer transformer_;
  const std::vector<TablePlan>& tables_;
  RejectFields reject_fields_;
  Event event_;
  Event rejected_event_;
  std::string raw_;
  std::vector<RowEncoder> encoders_;  // per table
  RowEncoder rejected_encoder_;
  std::vector<std::vector<uint8_t>> kinds_seen_;  // per table, per field id: bit per Kind
};

// `s` as valid UTF-8: well-formed sequences kept, any other byte read as
// Latin-1 (as the event encoder reads header bytes).
std::string to_utf8(std::string_view s);

}  // namespace questlog::extract
