#include "extract/table_dir.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <regex>
#include <thread>
#include <vector>

#include "io/posix_file_system.h"
#include "util/parallel.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kReady = ".ready";
constexpr std::string_view kOld = ".old";
// Directories made, then files renamed, at once when publishing a run.
constexpr size_t kRoundTrips = 8;

// What a refused link's message says after "<link> is a symbolic link; ".
constexpr const char* kLakeLinkRule =
    "questlog never follows links inside the lake (remove it or point --lake at the real "
    "directory)";

bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

const char* codec_suffix(parquet::Codec c) {
  switch (c) {
    case parquet::Codec::snappy:
      return ".snappy.parquet";
    case parquet::Codec::zstd:
      return ".zstd.parquet";
    case parquet::Codec::uncompressed:
      break;
  }
  return ".parquet";
}

// "a/b" -> "a%2Fb": one flat name per table under .staging.
std::string table_key(const std::string& relative) {
  std::string out;
  for (char c : relative) {
    if (c == '/')
      out += "%2F";
    else if (c == '%')
      out += "%25";
    else
      out += c;
  }
  return out;
}

}  // namespace

struct TableDir::Impl {
  io::FileSystem& lake;
  fs::path table;         // relative to the lake
  fs::path staging_root;  // .staging/<key>
  std::unique_ptr<io::FileLock> lock;
  fs::path run;  // the current run's staging directory, if any
  Mode mode = Mode::overwrite;
  bool prepared = false;  // `run` made by prepare(), not yet returned by begin()
  std::atomic<bool> success_written = false;  // the run's _SUCCESS is in it (write_success())

  explicit Impl(io::FileSystem& l) : lake(l) {}
  Status make_dirs(const fs::path& dir) { return lake.create_dirs(dir).status(); }
  Status sync_dirs_of(const fs::path& root, const std::vector<fs::path>& files);
  Status recover();
  Status publish_files(const fs::path& ready);
  Status swap_by_renames();
};

// Directories under `root` that hold `files` (and `root` itself), fsynced.
Status TableDir::Impl::sync_dirs_of(const fs::path& root, const std::vector<fs::path>& files) {
  std::vector<fs::path> dirs{fs::path()};
  for (const fs::path& f : files)
    if (f.has_parent_path()) dirs.push_back(f.parent_path());
  std::sort(dirs.begin(), dirs.end());
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  for (const fs::path& d : dirs)
    if (Status s = lake.sync_dir(d.empty() ? root : root / d); !s.ok()) return s;
  return {};
}

// Publishes every file of a ready append/incremental run that is not yet in
// the table (a rename already done is found missing in staging and skipped).
Status TableDir::Impl::publish_files(const fs::path& ready) {
  auto files = lake.list_files(ready);
  if (!files.ok()) return files.status();
  if (Status s = make_dirs(table); !s.ok()) return s;
  std::vector<fs::path> moved;
  for (const fs::path& rel : *files)
    if (rel != "_SUCCESS") moved.push_back(rel);
  // No directory made or file renamed depends on another: side by side (on
  // HDFS each is a round trip to the namenode).
  std::vector<fs::path> parents;
  for (const fs::path& rel : moved)
    if (rel.has_parent_path()) parents.push_back(table / rel.parent_path());
  std::sort(parents.begin(), parents.end());
  parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
  if (Status s = parallel_for(parents.size(), kRoundTrips,
                              [&](size_t i) { return make_dirs(parents[i]); });
      !s.ok())
    return s;
  if (Status s =
          parallel_for(moved.size(), kRoundTrips,
                       [&](size_t i) { return lake.rename(ready / moved[i], table / moved[i]); });
      !s.ok())
    return s;
  if (Status s = sync_dirs_of(table, moved); !s.ok()) return s;
  if (Status s = lake.touch(table / "_SUCCESS"); !s.ok()) return s;
  if (Status s = lake.sync_dir(table); !s.ok()) return s;
  return lake.remove_all(ready);
}

Status TableDir::Impl::recover() {
  auto entries = lake.list(staging_root);
  if (!entries.ok()) {
    if (entries.status().code() == Errc::not_found) return {};  // nothing staged
    return entries.status();
  }
  for (const io::DirEntry& e : *entries) {
    const fs::path path = staging_root / e.name;
    if (e.kind != io::FileKind::directory) {
      // Not ours (a link or a file put here): removed as it is, never followed.
      if (Status s = lake.remove(path); !s.ok()) return s;
      continue;
    }
    const bool ready = ends_with(e.name, kReady);
    const bool overwrite = e.name.rfind("overwrite-", 0) == 0;
    // An overwrite on a file system without an atomic swap moves the old table
    // aside to "<run>.old" only once the run is complete: the pair says so.
    const bool swapping = !ready && overwrite && !ends_with(e.name, kOld) &&
                          std::any_of(entries->begin(), entries->end(), [&](const io::DirEntry& o) {
                            return o.name == e.name + std::string(kOld);
                          });
    if ((ready && overwrite) || swapping) {
      auto table_there = lake.kind(table);
      if (!table_there.ok()) return table_there.status();
      if (!*table_there) {
        // Died between marking the new table ready (or moving the old one
        // aside) and moving the new one in, with no table in place: finish.
        if (Status s = make_dirs(table.parent_path()); !s.ok()) return s;
        if (Status s = lake.rename(path, table); !s.ok()) return s;
        if (Status s = lake.sync_dir(table.parent_path()); !s.ok()) return s;
        continue;
      }
    }
    if (ready && !overwrite) {
      if (Status s = publish_files(path); !s.ok()) return s;
      continue;
    }
    // An unfinished run, or an old table swapped out: nothing anyone reads.
    if (Status s = lake.remove_all(path); !s.ok()) return s;
  }
  return {};
}

TableDir::TableDir(std::unique_ptr<Impl> impl, std::string path)
    : impl_(std::move(impl)), path_(std::move(path)) {}

TableDir::~TableDir() {
  // `run` is the old table a published overwrite moved aside (swap_by_renames).
  if (!ends_with(impl_->run.string(), kOld) || !impl_->lock) {
    abort();  // then the lock goes with impl_
    return;
  }
  // The old table of a published overwrite is deleted while the lock is
  // released (on HDFS two round trips at once): the next writer's open()
  // deletes it too if this one does not get to.
  std::thread old_table([this] { abort(); });
  impl_->lock.reset();
  old_table.join();
}

std::unique_ptr<io::FileSystem> TableDir::lake_file_system(const fs::path& lake) {
  io::PosixOptions o;
  o.beneath = true;
  o.create_root = true;
  o.link_refusal = kLakeLinkRule;
  return std::make_unique<io::PosixFileSystem>(lake, std::move(o));
}

io::FileSystem& TableDir::file_system() const { return impl_->lake; }

Result<std::unique_ptr<TableDir>> TableDir::open(io::FileSystem& lake,
                                                 const std::string& relative) {
  auto impl = std::make_unique<Impl>(lake);
  impl->table = relative;
  const fs::path staging = ".staging";
  const std::string key = table_key(relative);
  impl->staging_root = staging / key;
  // A link on the table's path is refused before anything is touched.
  if (auto there = lake.kind(impl->table); !there.ok()) return there.status();
  if (Status s = impl->make_dirs(staging); !s.ok()) return s;
  auto lock = lake.lock(staging / (key + ".lock"));
  if (!lock.ok()) {
    if (lock.status().code() == Errc::busy)
      return Status::error(Errc::busy,
                           fmt::format("{}: another extract is writing this table now ({})",
                                       lake.describe(impl->table), lock.status().message()));
    return lock.status();
  }
  impl->lock = std::move(lock).value();
  if (Status s = impl->recover(); !s.ok()) return s;
  std::string path = lake.describe(impl->table);
  return std::unique_ptr<TableDir>(new TableDir(std::move(impl), std::move(path)));
}

Result<std::optional<int64_t>> TableDir::committed_end() const {
  static const std::regex kName(R"(part-(\d{20})-(\d{20})-.*)");
  std::optional<int64_t> end;
  auto there = impl_->lake.kind(impl_->table);
  if (!there.ok()) return there.status();
  if (!*there) return end;
  auto files = impl_->lake.list_files(impl_->table);
  if (!files.ok()) return files.status();
  for (const fs::path& f : *files) {
    std::string name = f.filename().string();
    std::smatch m;
    if (!std::regex_match(name, m, kName)) continue;
    int64_t e = std::stoll(m[2].str());
    if (!end || e > *end) end = e;
  }
  return end;
}

Result<fs::path> TableDir::begin(Mode mode) {
  if (impl_->prepared && impl_->mode == mode && !impl_->run.empty()) {
    impl_->prepared = false;
    return impl_->run;
  }
  abort();
  const char* kind = mode == Mode::overwrite ? "overwrite-"
                     : mode == Mode::append  ? "append-"
                                             : "incremental-";
  fs::path run = impl_->staging_root / (kind + random_uuid());
  if (Status s = impl_->make_dirs(run); !s.ok()) return s;
  impl_->run = run;
  impl_->mode = mode;
  impl_->prepared = false;
  impl_->success_written = false;
  return run;
}

Status TableDir::prepare(Mode mode) {
  auto run = begin(mode);
  if (!run.ok()) return run.status();
  impl_->prepared = true;
  // An overwrite's _SUCCESS too: nobody reads the run before it is published.
  return write_success();
}

Status TableDir::write_success() {
  if (impl_->run.empty() || impl_->mode != Mode::overwrite || impl_->success_written) return {};
  if (Status s = impl_->lake.touch(impl_->run / "_SUCCESS"); !s.ok()) return s;
  impl_->success_written = true;
  return {};
}

Status TableDir::commit() {
  Impl& r = *impl_;
  io::FileSystem& lake = r.lake;
  if (r.run.empty()) return Status::error(Errc::invalid_argument, "commit without begin");
  const fs::path run = r.run;
  r.prepared = false;
  if (r.mode == Mode::overwrite && !r.success_written) {
    if (Status s = lake.touch(run / "_SUCCESS"); !s.ok()) return s;
  }
  if (lake.dirs_need_sync()) {
    auto files = lake.list_files(run);
    if (!files.ok()) return files.status();
    if (Status s = r.sync_dirs_of(run, *files); !s.ok()) return s;
  }

  if (r.mode == Mode::overwrite && !lake.atomic_exchange()) return r.swap_by_renames();

  // Mark the run complete: from here on a crash finishes it instead of losing it.
  const fs::path ready = run.string() + std::string(kReady);
  if (Status s = lake.rename(run, ready); !s.ok()) return s;
  r.run = ready;
  if (Status s = lake.sync_dir(r.staging_root); !s.ok()) return s;

  if (r.mode != Mode::overwrite) {
    // Marked ready, the run is published: if this fails halfway, the files
    // already moved stay in the table and the rest stay ready for the next
    // open() to move (deleting them would publish part of the run).
    r.run.clear();
    return r.publish_files(ready);
  }
  if (Status s = r.make_dirs(r.table.parent_path()); !s.ok()) return s;
  Status swapped = lake.exchange(ready, r.table);
  if (swapped.code() == Errc::not_found) {  // no table yet
    if (Status s = lake.rename(ready, r.table); !s.ok()) return s;
  } else if (!swapped.ok()) {
    return swapped;
  }
  // `r.run` now holds the old table (or nothing): abort() deletes it.
  if (Status s = lake.sync_dir(r.table.parent_path()); !s.ok()) return s;
  abort();
  return {};
}

// No atomic swap (HDFS): two renames and no ready mark. The old table goes
// aside first, to "<run>.old" in staging, which also says that the run is
// complete; then the run takes its place. A crash between the two leaves the
// pair, which the next open() finishes (recover()). The old table is deleted
// by the next begin() or by the destructor, beside the lock's release: the
// table is published once the second rename is done.
Status TableDir::Impl::swap_by_renames() {
  const fs::path complete = run;
  const fs::path old = complete.string() + std::string(kOld);
  if (Status s = make_dirs(table.parent_path()); !s.ok()) return s;
  Status aside = lake.rename(table, old);
  if (!aside.ok() && aside.code() != Errc::not_found) return aside;
  if (Status s = lake.rename(complete, table); !s.ok()) {
    // The old table back; if that fails too, neither is deleted here: the
    // next open() finishes the swap.
    if (aside.ok() && !lake.rename(old, table).ok()) run.clear();
    return s;
  }
  run = aside.ok() ? old : fs::path();
  return lake.sync_dir(table.parent_path());
}

void TableDir::abort() {
  impl_->prepared = false;
  impl_->success_written = false;
  if (impl_->run.empty()) return;
  (void)impl_->lake.remove_all(impl_->run);
  impl_->run.clear();
}

std::string TableDir::part_name(int index, const std::string& uuid, parquet::Codec codec) {
  char head[32];
  std::snprintf(head, sizeof head, "part-%05d-", index);
  return head + uuid + "-c000" + codec_suffix(codec);
}

std::string TableDir::incremental_part_name(int64_t start, int64_t end, const std::string& uuid,
                                            parquet::Codec codec) {
  char head[64];
  std::snprintf(head, sizeof head, "part-%020lld-%020lld-", static_cast<long long>(start),
                static_cast<long long>(end));
  return head + uuid + "-c000" + codec_suffix(codec);
}

std::string random_uuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xF000ull) | 0x4000ull;                            // version 4
  lo = (lo & ~(0xC000000000000000ull)) | 0x8000000000000000ull;  // variant 1
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xFFFF),
                static_cast<unsigned long long>(hi & 0xFFFF),
                static_cast<unsigned long long>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return buf;
}

void append_hive_escaped(std::string& out, std::string_view value) {
  if (value.empty()) {
    out += "__HIVE_DEFAULT_PARTITION__";
    return;
  }
  static constexpr std::string_view kEscape = "\"#%'*/:=?\\\x7f{[]^";
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || kEscape.find(c) != std::string_view::npos) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
}

std::string hive_escape(std::string_view value) {
  std::string out;
  append_hive_escaped(out, value);
  return out;
}

}  // namespace questlog::extract
