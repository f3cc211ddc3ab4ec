#include "extract/table_dir.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <vector>

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kReady = ".ready";

Status fs_error(const fs::path& p, const std::error_code& ec) {
  return Status::error(Errc::io_error, p.string() + ": " + ec.message());
}

Status fsync_path(const fs::path& p, bool directory) {
  int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return errno_status(p.string(), errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return errno_status(p.string() + ": fsync", err);
  return {};
}

// Creates `p` and every missing parent, fsyncing each parent whose entries changed.
Status make_dirs(const fs::path& p) {
  std::error_code ec;
  if (fs::is_directory(p, ec)) return {};
  if (p.has_parent_path() && p.parent_path() != p) {
    if (Status s = make_dirs(p.parent_path()); !s.ok()) return s;
  }
  if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) return errno_status(p.string(), errno);
  if (p.has_parent_path()) return fsync_path(p.parent_path(), true);
  return {};
}

// An empty _SUCCESS, fsynced.
Status write_success(const fs::path& dir) {
  fs::path p = dir / "_SUCCESS";
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status(p.string(), errno);
  ::futimens(fd, nullptr);  // refreshed: the time of this run
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return errno_status(p.string() + ": fsync", err);
  return {};
}

// Every regular file under `root`, as paths relative to it.
Result<std::vector<fs::path>> files_under(const fs::path& root) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(fs::relative(it->path(), root));
  }
  if (ec) return fs_error(root, ec);
  return out;
}

// Directories that hold files, relative to `root` ("" for the root itself).
Status fsync_dirs_of(const fs::path& root, const std::vector<fs::path>& files) {
  std::vector<fs::path> dirs{fs::path()};
  for (const fs::path& f : files)
    if (f.has_parent_path()) dirs.push_back(f.parent_path());
  std::sort(dirs.begin(), dirs.end());
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  for (const fs::path& d : dirs)
    if (Status s = fsync_path(root / d, true); !s.ok()) return s;
  return {};
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
  fs::path table;         // <lake>/<relative>
  fs::path staging_root;  // <lake>/.staging/<key>
  int lock_fd = -1;
  fs::path run;  // the current run's staging directory, if any
  Mode mode = Mode::overwrite;

  Status recover();
  Status publish_files(const fs::path& ready);
};

// Publishes every file of a ready append/incremental run that is not yet in
// the table (a rename already done is found missing in staging and skipped).
Status TableDir::Impl::publish_files(const fs::path& ready) {
  auto files = files_under(ready);
  if (!files.ok()) return files.status();
  if (Status s = make_dirs(table); !s.ok()) return s;
  std::vector<fs::path> moved;
  for (const fs::path& rel : *files) {
    if (rel == "_SUCCESS") continue;
    fs::path target = table / rel;
    if (Status s = make_dirs(target.parent_path()); !s.ok()) return s;
    if (::rename((ready / rel).c_str(), target.c_str()) != 0)
      return errno_status("publishing " + target.string(), errno);
    moved.push_back(rel);
  }
  if (Status s = fsync_dirs_of(table, moved); !s.ok()) return s;
  if (Status s = write_success(table); !s.ok()) return s;
  if (Status s = fsync_path(table, true); !s.ok()) return s;
  std::error_code ec;
  fs::remove_all(ready, ec);
  if (ec) return fs_error(ready, ec);
  return {};
}

Status TableDir::Impl::recover() {
  std::error_code ec;
  if (!fs::exists(staging_root, ec)) return {};
  std::vector<fs::path> entries;
  for (auto& e : fs::directory_iterator(staging_root, ec)) entries.push_back(e.path());
  if (ec) return fs_error(staging_root, ec);
  std::sort(entries.begin(), entries.end());
  for (const fs::path& e : entries) {
    std::string name = e.filename().string();
    bool ready = name.size() > kReady.size() &&
                 name.compare(name.size() - kReady.size(), kReady.size(), kReady) == 0;
    if (ready && name.rfind("overwrite-", 0) == 0 && !fs::exists(table, ec)) {
      // Died between marking the new table ready and swapping it in, with no
      // table in place: finish.
      if (Status s = make_dirs(table.parent_path()); !s.ok()) return s;
      if (::rename(e.c_str(), table.c_str()) != 0)
        return errno_status("recovering " + table.string(), errno);
      if (Status s = fsync_path(table.parent_path(), true); !s.ok()) return s;
      continue;
    }
    if (ready && name.rfind("overwrite-", 0) != 0) {
      if (Status s = publish_files(e); !s.ok()) return s;
      continue;
    }
    // An unfinished run, or an old table swapped out: nothing anyone reads.
    fs::remove_all(e, ec);
    if (ec) return fs_error(e, ec);
  }
  return {};
}

TableDir::TableDir(std::unique_ptr<Impl> impl, fs::path path)
    : impl_(std::move(impl)), path_(std::move(path)) {}

TableDir::~TableDir() {
  abort();
  if (impl_->lock_fd >= 0) ::close(impl_->lock_fd);
}

Result<std::unique_ptr<TableDir>> TableDir::open(const fs::path& lake,
                                                 const std::string& relative) {
  auto impl = std::make_unique<Impl>();
  impl->table = lake / relative;
  fs::path staging = lake / ".staging";
  std::string key = table_key(relative);
  impl->staging_root = staging / key;
  if (Status s = make_dirs(staging); !s.ok()) return s;
  fs::path lock = staging / (key + ".lock");
  impl->lock_fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (impl->lock_fd < 0) return errno_status(lock.string(), errno);
  if (::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(impl->lock_fd);
    if (err == EWOULDBLOCK)
      return Status::error(Errc::busy,
                           impl->table.string() + ": another extract is writing this table now");
    return errno_status(lock.string(), err);
  }
  if (Status s = impl->recover(); !s.ok()) {
    ::close(impl->lock_fd);
    return s;
  }
  fs::path table = impl->table;
  return std::unique_ptr<TableDir>(new TableDir(std::move(impl), std::move(table)));
}

Result<std::optional<int64_t>> TableDir::committed_end() const {
  static const std::regex kName(R"(part-(\d{20})-(\d{20})-.*)");
  std::optional<int64_t> end;
  std::error_code ec;
  if (!fs::exists(path_, ec)) return end;
  for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string name = it->path().filename().string();
    std::smatch m;
    if (!std::regex_match(name, m, kName)) continue;
    int64_t e = std::stoll(m[2].str());
    if (!end || e > *end) end = e;
  }
  if (ec) return fs_error(path_, ec);
  return end;
}

Result<fs::path> TableDir::begin(Mode mode) {
  abort();
  const char* kind = mode == Mode::overwrite ? "overwrite-"
                     : mode == Mode::append  ? "append-"
                                             : "incremental-";
  fs::path run = impl_->staging_root / (kind + random_uuid());
  if (Status s = make_dirs(run); !s.ok()) return s;
  impl_->run = run;
  impl_->mode = mode;
  return run;
}

Status TableDir::commit() {
  Impl& r = *impl_;
  if (r.run.empty()) return Status::error(Errc::invalid_argument, "commit without begin");
  fs::path run = r.run;
  auto files = files_under(run);
  if (!files.ok()) return files.status();
  if (r.mode == Mode::overwrite) {
    if (Status s = write_success(run); !s.ok()) return s;
    files->push_back("_SUCCESS");
  }
  if (Status s = fsync_dirs_of(run, *files); !s.ok()) return s;

  // Mark the run complete: from here on a crash finishes it instead of losing it.
  fs::path ready = run;
  ready += std::string(kReady);
  if (::rename(run.c_str(), ready.c_str()) != 0) return errno_status(ready.string(), errno);
  r.run = ready;
  if (Status s = fsync_path(r.staging_root, true); !s.ok()) return s;

  if (r.mode != Mode::overwrite) {
    Status s = r.publish_files(ready);
    if (s.ok()) r.run.clear();
    return s;
  }
  if (Status s = make_dirs(r.table.parent_path()); !s.ok()) return s;
  if (::renameat2(AT_FDCWD, ready.c_str(), AT_FDCWD, r.table.c_str(), RENAME_EXCHANGE) != 0) {
    int err = errno;
    if (err == ENOENT) {  // no table yet
      if (::rename(ready.c_str(), r.table.c_str()) != 0)
        return errno_status("publishing " + r.table.string(), errno);
    } else if (err == EINVAL || err == ENOSYS) {
      // No RENAME_EXCHANGE on this file system: move the old table aside, then
      // the new one in. A crash between the two leaves no table and the ready
      // run, which the next open() moves in.
      fs::path retired = r.staging_root / ("retired-" + random_uuid());
      if (::rename(r.table.c_str(), retired.c_str()) != 0)
        return errno_status("retiring " + r.table.string(), errno);
      if (::rename(ready.c_str(), r.table.c_str()) != 0)
        return errno_status("publishing " + r.table.string(), errno);
      ready = retired;
    } else {
      return errno_status("publishing " + r.table.string(), err);
    }
  }
  r.run = ready;  // now the old table (or nothing)
  if (Status s = fsync_path(r.table.parent_path(), true); !s.ok()) return s;
  abort();
  return {};
}

void TableDir::abort() {
  if (impl_->run.empty()) return;
  std::error_code ec;
  fs::remove_all(impl_->run, ec);
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
