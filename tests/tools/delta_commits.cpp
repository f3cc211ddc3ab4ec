// delta_commits: makes a Delta table with a long log, for measuring what reading
// one costs (docs/formats.md, "Reading a long log").
//
//   delta_commits TABLE_DIR N [checkpoints]
//     appends N commits to the Delta table at TABLE_DIR (made when missing),
//     each adding one Parquet file of one row (columns n: long, timestamp) with
//     a txn, encoded by the same delta_log.h extract uses. One writer only.
//     With "checkpoints", writes a checkpoint when a version is due one, as
//     extract does (delta_checkpoint.h). Prints the last version.
//
// Exit status 1 with one line on stderr on failure.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "extract/delta_checkpoint.h"
#include "extract/delta_table.h"
#include "extract/table_dir.h"
#include "io/posix_file_system.h"
#include "parquet/file_writer.h"

namespace ex = questlog::extract;
namespace pq = questlog::parquet;

int main(int argc, char** argv) {
  const bool checkpoints = argc == 4 && std::string(argv[3]) == "checkpoints";
  if (argc != 3 && !checkpoints) {
    std::fprintf(stderr, "usage: delta_commits TABLE_DIR N [checkpoints]\n");
    return 1;
  }
  questlog::io::PosixOptions o;
  o.create_root = true;
  o.sync = false;
  questlog::io::PosixFileSystem fs(argv[1], o);
  const long n = std::atol(argv[2]);
  auto table = ex::DeltaTable::open(fs, ".");
  if (!table.ok()) {
    std::fprintf(stderr, "delta_commits: %s\n", table.status().message().c_str());
    return 1;
  }
  const std::vector<pq::Column> columns = {{"n", pq::ColumnType::int64},
                                           {"timestamp", pq::ColumnType::timestamp_micros}};
  int64_t version = -1;
  namespace delta = questlog::extract::delta;
  delta::Snapshot snapshot = (*table)->snapshot();  // kept current without reading the log
  for (long i = 0; i < n; ++i) {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const std::string name = ex::TableDir::part_name(0, ex::random_uuid(), pq::Codec::snappy);
    auto w = pq::FileWriter::create(fs, name, columns);
    if (!w.ok()) {
      std::fprintf(stderr, "delta_commits: %s\n", w.status().message().c_str());
      return 1;
    }
    (*w)->set_int64(0, i);
    (*w)->set_int64(1, now * 1000);
    if (auto s = (*w)->end_row(); !s.ok()) return 1;
    auto summary = (*w)->close();
    if (!summary.ok()) return 1;
    // The commit of that one file, as extract makes it (delta_log.h).
    questlog::extract::delta::Commit c;
    version = (*table)->snapshot().version + 1 + i;
    c.protocol = version == 0;
    if (version == 0) {
      c.metadata = questlog::extract::delta::Metadata{
          ex::random_uuid(), {{"n", "long"}, {"timestamp", "timestamp"}}, {}, {}, now};
    }
    questlog::extract::delta::FileAction add;
    add.path = name;
    add.size = static_cast<int64_t>(summary->bytes);
    add.modification_time = now;
    add.stats = "{\"numRecords\":1}";
    c.adds = {add};
    c.txns = {{"delta_commits", i + 1}};
    c.timestamp_ms = now;
    if (auto s = questlog::extract::delta::write_commit(fs, ".", version, c); !s.ok()) {
      std::fprintf(stderr, "delta_commits: %s\n", s.message().c_str());
      return 1;
    }
    snapshot.version = version;
    if (c.protocol) {
      snapshot.min_reader_version = delta::kReaderVersion;
      snapshot.min_writer_version = delta::kWriterVersion;
    }
    if (c.metadata) snapshot.metadata = c.metadata;
    snapshot.files[add.path] = add;
    for (const auto& [app, v] : c.txns) snapshot.txns[app] = v;
    if (checkpoints && delta::checkpoint_due(snapshot)) {
      if (auto cp = delta::write_checkpoint(fs, ".", snapshot, now); !cp.ok()) {
        std::fprintf(stderr, "delta_commits: %s\n", cp.status().message().c_str());
        return 1;
      }
    }
  }
  std::printf("%lld\n", static_cast<long long>(version));
  return 0;
}
