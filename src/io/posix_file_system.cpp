#include "io/posix_file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

namespace questlog::io {
namespace {

namespace fs = std::filesystem;

Status error_for(const std::string& what, int err) {
  return Status::error(err == ENOENT ? Errc::not_found : Errc::io_error,
                       fmt::format("{}: {}", what, std::strerror(err)));
}

FileKind kind_of(mode_t mode) {
  if (S_ISREG(mode)) return FileKind::regular;
  if (S_ISDIR(mode)) return FileKind::directory;
  if (S_ISLNK(mode)) return FileKind::symlink;
  return FileKind::other;
}

// pwrite of all of `data` at `offset`, through short writes and interruptions:
// 0 or the errno that stopped it.
int pwrite_all(int fd, std::string_view data, uint64_t offset) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::pwrite(fd, p, left, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    p += n;
    left -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return 0;
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string name, uint64_t size, bool sync = true)
      : File(std::move(name), size), fd_(fd), sync_(sync) {}
  ~PosixFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status write_at(uint64_t offset, std::string_view data) override {
    if (int err = pwrite_all(fd_, data, offset); err != 0) return fail("write", err);
    return {};
  }

  Result<size_t> read_at(uint64_t offset, char* out, size_t n) override {
    size_t have = 0;
    while (have < n) {
      ssize_t got = ::pread(fd_, out + have, n - have, static_cast<off_t>(offset + have));
      if (got < 0) {
        if (errno == EINTR) continue;
        return fail("read", errno);
      }
      if (got == 0) break;
      have += static_cast<size_t>(got);
    }
    return have;
  }

  Result<uint64_t> size() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return fail("fstat", errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Status truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return fail("ftruncate", errno);
    return {};
  }

  Status sync() override {
    if (fd_ < 0) return fail("fsync", EBADF);
    if (sync_ && ::fdatasync(fd_) != 0) return fail("fsync", errno);
    return {};
  }

  Status close() override {
    int fd = fd_;
    fd_ = -1;
    if (fd < 0) return fail("close", EBADF);
    if (::close(fd) != 0) return fail("close", errno);
    return {};
  }

 private:
  Status fail(const char* what, int err) const {
    return Status::error(Errc::io_error,
                         fmt::format("{}: {}: {}", name(), what, std::strerror(err)));
  }
  int fd_;
  bool sync_;
};

class PosixLock final : public FileLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  ~PosixLock() override { ::close(fd_); }  // releases the flock

 private:
  int fd_;
};

}  // namespace

struct PosixFileSystem::Fd {
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd >= 0) ::close(fd);
      fd = std::exchange(o.fd, -1);
    }
    return *this;
  }
  int release() { return std::exchange(fd, -1); }
  int fd = -1;
};

PosixFileSystem::PosixFileSystem() : rooted_(false) {}

PosixFileSystem::PosixFileSystem(fs::path root, PosixOptions options)
    : rooted_(true), root_(std::move(root)), options_(std::move(options)) {}

PosixFileSystem::~PosixFileSystem() {
  int fd = root_fd_.load();
  if (fd >= 0) ::close(fd);
}

std::string PosixFileSystem::describe(const fs::path& path) const {
  if (!rooted_) return path.string();
  if (path.empty() || path == ".") return root_.string();
  return (root_ / path).string();
}

Result<int> PosixFileSystem::root_fd(Root want) {
  if (!rooted_) return AT_FDCWD;
  int fd = root_fd_.load(std::memory_order_acquire);
  if (fd >= 0) return fd;
  std::lock_guard lock(root_mu_);
  fd = root_fd_.load(std::memory_order_relaxed);
  if (fd >= 0) return fd;
  // Follows a link: the root is the user's choice.
  fd = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && want == Root::create && options_.create_root) {
    auto made = local_file_system().create_dirs(root_);
    if (!made.ok()) return made.status();
    fd = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  if (fd < 0) return error_for(root_.string(), errno);
  root_fd_.store(fd, std::memory_order_release);
  return fd;
}

Status PosixFileSystem::check(const fs::path& path) const {
  if (!rooted_) return {};
  bool outside = path.is_absolute();
  for (const fs::path& part : path) outside = outside || part == "..";
  if (outside)
    return Status::error(Errc::invalid_argument,
                         fmt::format("{}: not a path beneath {}", describe(path), root_.string()));
  return {};
}

Status PosixFileSystem::refusal(const fs::path& path, int err) {
  // Name the first component that is a link (checked in order, so each
  // fstatat below meets no earlier link).
  fs::path link;
  auto root = root_fd(Root::existing);
  if (root.ok()) {
    fs::path prefix;
    for (const fs::path& part : path) {
      if (part.empty() || part == ".") continue;
      prefix /= part;
      struct stat st {};
      if (::fstatat(*root, prefix.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) break;
      if (S_ISLNK(st.st_mode)) {
        link = prefix;
        break;
      }
    }
  }
  if (link.empty())
    return Status::error(
        Errc::invalid_argument,
        fmt::format("{}: resolves outside {} or through a symbolic link ({}); {}", describe(path),
                    root_.string(), std::strerror(err), options_.link_refusal));
  std::string head = link == path ? "" : fmt::format("{}: ", describe(path));
  return Status::error(Errc::invalid_argument, fmt::format("{}{} is a symbolic link; {}", head,
                                                           describe(link), options_.link_refusal));
}

Status PosixFileSystem::failure(const fs::path& path, const std::string& what, int err) {
  if (rooted_ && options_.beneath && (err == ELOOP || err == EXDEV)) return refusal(path, err);
  if (err == ENOSYS && rooted_ && options_.beneath)
    return Status::error(Errc::io_error,
                         fmt::format("{}: openat2 is not available (Linux 5.6 or later is needed "
                                     "to keep paths beneath {})",
                                     describe(path), root_.string()));
  return error_for(what.empty() ? describe(path) : fmt::format("{}: {}", describe(path), what),
                   err);
}

Result<PosixFileSystem::Fd> PosixFileSystem::open_at(int dirfd, const fs::path& path, int flags,
                                                     unsigned mode, const fs::path& shown) {
  const char* p = path.empty() ? "." : path.c_str();
  const bool creates = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
  if (rooted_ && options_.beneath) {
    struct open_how how {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.mode = creates ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
    for (;;) {
      long fd = ::syscall(SYS_openat2, dirfd, p, &how, sizeof how);
      if (fd >= 0) return Fd(static_cast<int>(fd));
      if (errno == EINTR || errno == EAGAIN) continue;  // EAGAIN: a rename raced the walk
      return failure(shown, "", errno);
    }
  }
  for (;;) {
    int fd = ::openat(dirfd, p, flags | O_CLOEXEC, creates ? mode : 0);
    if (fd >= 0) return Fd(fd);
    if (errno == EINTR) continue;
    return failure(shown, "", errno);
  }
}

Result<PosixFileSystem::Fd> PosixFileSystem::open_path(const fs::path& path, int flags,
                                                       unsigned mode, Root want) {
  if (Status s = check(path); !s.ok()) return s;
  auto root = root_fd(want);
  if (!root.ok()) return root.status();
  return open_at(*root, path, flags, mode, path);
}

Result<PosixFileSystem::Fd> PosixFileSystem::open_parent(const fs::path& path, std::string& name,
                                                         Root want) {
  name = path.filename().string();
  if (name.empty() || name == "." || name == "..")
    return Status::error(Errc::invalid_argument,
                         fmt::format("{}: not the name of a file or directory", describe(path)));
  if (Status s = check(path); !s.ok()) return s;
  auto root = root_fd(want);
  if (!root.ok()) return root.status();
  // Messages name the whole path: "lake/evil/sub: lake/evil is a symbolic link".
  return open_at(*root, path.parent_path(), O_PATH | O_DIRECTORY, 0, path);
}

namespace {

// The entries of the open directory `dir` (not consumed), without "." and "..".
Result<std::vector<DirEntry>> read_entries(int dir, const std::string& shown) {
  int dup = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return error_for(shown, errno);
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    int err = errno;
    ::close(dup);
    return error_for(shown, err);
  }
  ::rewinddir(d);
  std::vector<DirEntry> out;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d);
    if (e == nullptr) break;
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    FileKind kind = FileKind::other;
    switch (e->d_type) {
      case DT_REG:
        kind = FileKind::regular;
        break;
      case DT_DIR:
        kind = FileKind::directory;
        break;
      case DT_LNK:
        kind = FileKind::symlink;
        break;
      case DT_UNKNOWN: {
        struct stat st {};
        if (::fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) kind = kind_of(st.st_mode);
        break;
      }
      default:
        break;
    }
    out.push_back({std::string(name), kind});
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return error_for(shown, err);
  std::sort(out.begin(), out.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

}  // namespace

Result<std::unique_ptr<File>> PosixFileSystem::open(const fs::path& path, OpenMode mode) {
  int flags = O_RDWR;
  switch (mode) {
    case OpenMode::read:
      flags = O_RDONLY;
      break;
    case OpenMode::read_write:
      break;
    case OpenMode::open_or_create:
      flags |= O_CREAT;
      break;
    case OpenMode::truncate:
      flags |= O_CREAT | O_TRUNC;
      break;
  }
  auto fd = open_path(path, flags, 0644, flags & O_CREAT ? Root::create : Root::existing);
  if (!fd.ok()) return fd.status();
  uint64_t size = 0;
  if (mode != OpenMode::truncate) {
    struct stat st {};
    if (::fstat(fd->fd, &st) != 0)
      return error_for(fmt::format("{}: fstat", describe(path)), errno);
    size = static_cast<uint64_t>(st.st_size);
  }
  return std::unique_ptr<File>(new PosixFile(fd->release(), describe(path), size, options_.sync));
}

Result<std::unique_ptr<File>> PosixFileSystem::temp_file(const fs::path& dir) {
  std::string name = fmt::format("{}: temporary file", describe(dir));
  auto fd = open_path(dir, O_TMPFILE | O_RDWR, 0600, Root::create);
  if (fd.ok()) return std::unique_ptr<File>(new PosixFile(fd->release(), name, 0, options_.sync));
  if (fd.status().code() != Errc::io_error) return fd.status();
  // No O_TMPFILE on this file system: a named file, removed at once.
  auto parent = open_path(dir, O_PATH | O_DIRECTORY, 0, Root::create);
  if (!parent.ok()) return parent.status();
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 100; ++attempt) {
    char base[32];
    std::snprintf(base, sizeof base, ".tmp-%016llx", static_cast<unsigned long long>(rng()));
    int f = ::openat(parent->fd, base, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0 && errno == EEXIST) continue;
    if (f < 0) return failure(dir / base, "", errno);
    ::unlinkat(parent->fd, base, 0);
    return std::unique_ptr<File>(new PosixFile(f, name, 0, options_.sync));
  }
  return failure(dir, "temporary file", EEXIST);
}

Result<bool> PosixFileSystem::create_dirs(const fs::path& dir) {
  if (Status s = check(dir); !s.ok()) return s;
  auto root = root_fd(Root::create);
  if (!root.ok()) return root.status();
  auto there = open_at(*root, dir, O_PATH | O_DIRECTORY, 0, dir);
  if (there.ok()) return false;
  if (there.status().code() != Errc::not_found) return there.status();

  // Walk from the root (or "/" or the working directory), one component at a time.
  fs::path shown = rooted_ || dir.is_relative() ? fs::path() : dir.root_path();
  auto cur = open_at(*root, shown, O_RDONLY | O_DIRECTORY, 0, shown);
  if (!cur.ok()) return cur.status();
  bool created = false;
  for (const fs::path& part : dir.relative_path()) {
    if (part.empty() || part == ".") continue;
    fs::path next = shown / part;
    if (::mkdirat(cur->fd, part.c_str(), 0755) == 0) {
      created = true;
      if (options_.sync && ::fsync(cur->fd) != 0) return failure(shown, "fsync", errno);
    } else if (errno != EEXIST) {
      return failure(next, "mkdir", errno);
    }
    auto sub = open_at(cur->fd, part, O_RDONLY | O_DIRECTORY, 0, next);
    if (!sub.ok()) return sub.status();
    cur = std::move(sub).value();
    shown = std::move(next);
  }
  return created;
}

Status PosixFileSystem::sync_dir(const fs::path& dir) {
  auto fd = open_path(dir, O_RDONLY | O_DIRECTORY, 0, Root::existing);
  if (!fd.ok()) return fd.status();
  if (options_.sync && ::fsync(fd->fd) != 0) return failure(dir, "fsync", errno);
  return {};
}

Status PosixFileSystem::rename(const fs::path& from, const fs::path& to) {
  std::string nf, nt;
  auto pf = open_parent(from, nf, Root::existing);
  if (!pf.ok()) return pf.status();
  auto pt = open_parent(to, nt, Root::existing);
  if (!pt.ok()) return pt.status();
  if (::renameat(pf->fd, nf.c_str(), pt->fd, nt.c_str()) != 0)
    return failure(from, fmt::format("rename to {}", describe(to)), errno);
  return {};
}

Status PosixFileSystem::exchange_by_renames(int pa, const std::string& na, int pb,
                                            const std::string& nb, const fs::path& a,
                                            const fs::path& b) {
  const std::string aside = na + ".exchange";
  if (::renameat(pb, nb.c_str(), pa, aside.c_str()) != 0)
    return failure(b, fmt::format("rename to {}.exchange", describe(a)), errno);
  if (::renameat(pa, na.c_str(), pb, nb.c_str()) != 0) {
    int err = errno;
    (void)::renameat(pa, aside.c_str(), pb, nb.c_str());  // put `b` back
    return failure(a, fmt::format("rename to {}", describe(b)), err);
  }
  if (::renameat(pa, aside.c_str(), pa, na.c_str()) != 0)
    return failure(a.string() + ".exchange", fmt::format("rename to {}", describe(a)), errno);
  return {};
}

Status PosixFileSystem::exchange(const fs::path& a, const fs::path& b) {
  std::string na, nb;
  auto pa = open_parent(a, na, Root::existing);
  if (!pa.ok()) return pa.status();
  auto pb = open_parent(b, nb, Root::existing);
  if (!pb.ok()) return pb.status();
  if (!options_.rename_exchange) return exchange_by_renames(pa->fd, na, pb->fd, nb, a, b);
  if (::renameat2(pa->fd, na.c_str(), pb->fd, nb.c_str(), RENAME_EXCHANGE) == 0) return {};
  int err = errno;
  if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP)
    return exchange_by_renames(pa->fd, na, pb->fd, nb, a, b);
  return failure(a, fmt::format("exchange with {}", describe(b)), err);
}

Status PosixFileSystem::remove(const fs::path& path) {
  std::string name;
  auto parent = open_parent(path, name, Root::existing);
  if (!parent.ok()) return parent.status();
  if (::unlinkat(parent->fd, name.c_str(), 0) == 0) return {};
  if (errno == EISDIR && ::unlinkat(parent->fd, name.c_str(), AT_REMOVEDIR) == 0) return {};
  return failure(path, "remove", errno);
}

Status PosixFileSystem::remove_tree(int parent, const std::string& name, const fs::path& shown) {
  struct stat st {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return failure(shown, "remove", errno);
  }
  if (S_ISDIR(st.st_mode)) {
    int d = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d >= 0) {
      Fd dir(d);
      auto entries = read_entries(dir.fd, describe(shown));
      if (!entries.ok()) return entries.status();
      for (const DirEntry& e : *entries)
        if (Status s = remove_tree(dir.fd, e.name, shown / e.name); !s.ok()) return s;
      if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        return failure(shown, "remove", errno);
      return {};
    }
    // Replaced by a link or a file since the fstatat: remove that, as it is.
    if (errno != ELOOP && errno != ENOTDIR) {
      if (errno == ENOENT) return {};
      return failure(shown, "remove", errno);
    }
  }
  if (::unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT)
    return failure(shown, "remove", errno);
  return {};
}

Status PosixFileSystem::remove_all(const fs::path& path) {
  std::string name;
  auto parent = open_parent(path, name, Root::existing);
  if (!parent.ok()) return parent.status().code() == Errc::not_found ? Status() : parent.status();
  return remove_tree(parent->fd, name, path);
}

Result<std::optional<FileKind>> PosixFileSystem::kind(const fs::path& path) {
  auto fd = open_path(path, O_PATH, 0, Root::existing);
  if (!fd.ok()) {
    if (fd.status().code() == Errc::not_found) return std::optional<FileKind>();
    return fd.status();
  }
  struct stat st {};
  if (::fstat(fd->fd, &st) != 0) return failure(path, "fstat", errno);
  return std::optional<FileKind>(kind_of(st.st_mode));
}

Result<std::vector<DirEntry>> PosixFileSystem::list(const fs::path& dir) {
  auto fd = open_path(dir, O_RDONLY | O_DIRECTORY, 0, Root::existing);
  if (!fd.ok()) return fd.status();
  return read_entries(fd->fd, describe(dir));
}

Result<std::vector<FileStatus>> PosixFileSystem::list_status(const fs::path& dir) {
  auto fd = open_path(dir, O_RDONLY | O_DIRECTORY, 0, Root::existing);
  if (!fd.ok()) return fd.status();
  auto entries = read_entries(fd->fd, describe(dir));
  if (!entries.ok()) return entries.status();
  std::vector<FileStatus> out;
  for (const DirEntry& e : *entries) {
    struct stat st {};
    if (::fstatat(fd->fd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed meanwhile
      return failure(dir / e.name, "stat", errno);
    }
    FileStatus f;
    f.name = e.name;
    f.kind = kind_of(st.st_mode);
    f.size = static_cast<uint64_t>(st.st_size);
    f.modified_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    out.push_back(std::move(f));
  }
  return out;
}

Status PosixFileSystem::walk_files(int dir, const fs::path& prefix, const fs::path& shown,
                                   std::vector<fs::path>& out) {
  auto entries = read_entries(dir, describe(shown));
  if (!entries.ok()) return entries.status();
  for (const DirEntry& e : *entries) {
    if (e.kind == FileKind::regular) {
      out.push_back(prefix / e.name);
    } else if (e.kind == FileKind::directory) {
      int d = ::openat(dir, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0) {
        if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) continue;  // changed meanwhile
        return failure(shown / e.name, "", errno);
      }
      Fd sub(d);
      if (Status s = walk_files(sub.fd, prefix / e.name, shown / e.name, out); !s.ok()) return s;
    }
  }
  return {};
}

Result<std::vector<fs::path>> PosixFileSystem::list_files(const fs::path& dir) {
  auto fd = open_path(dir, O_RDONLY | O_DIRECTORY, 0, Root::existing);
  if (!fd.ok()) return fd.status();
  std::vector<fs::path> out;
  if (Status s = walk_files(fd->fd, fs::path(), dir, out); !s.ok()) return s;
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::unique_ptr<FileLock>> PosixFileSystem::lock(const fs::path& path) {
  auto fd = open_path(path, O_RDWR | O_CREAT, 0644, Root::create);
  if (!fd.ok()) return fd.status();
  int rc;
  do {
    rc = ::flock(fd->fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno != EWOULDBLOCK) return failure(path, "flock", errno);
    char pid[32] = {};
    ssize_t got = ::pread(fd->fd, pid, sizeof(pid) - 1, 0);
    std::string holder = got > 0 ? std::string(pid, static_cast<size_t>(got)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Status::error(Errc::busy,
                         fmt::format("{}: held by another process (pid {})", describe(path),
                                     holder.empty() ? "unknown" : holder));
  }
  // The pid, padded to a fixed width: rewritten in place, never truncated (on
  // ext4 a truncate then a write makes close() wait for the disk).
  char pid[24];
  std::snprintf(pid, sizeof pid, "%-22d\n", static_cast<int>(::getpid()));
  if (int err = pwrite_all(fd->fd, std::string_view(pid, 23), 0); err != 0)
    return failure(path, "write", err);
  return std::unique_ptr<FileLock>(new PosixLock(fd->release()));
}

Status PosixFileSystem::touch(const fs::path& path) {
  auto fd = open_path(path, O_WRONLY | O_CREAT | O_TRUNC, 0644, Root::create);
  if (!fd.ok()) return fd.status();
  if (::futimens(fd->fd, nullptr) != 0) return failure(path, "futimens", errno);
  if (options_.sync && ::fsync(fd->fd) != 0) return failure(path, "fsync", errno);
  return {};
}

Status PosixFileSystem::put_if_absent(const fs::path& path, std::string_view data) {
  std::string name;
  auto parent = open_parent(path, name, Root::existing);
  if (!parent.ok()) return parent.status();
  auto dir = open_at(parent->fd, "", O_RDONLY | O_DIRECTORY, 0, path.parent_path());
  if (!dir.ok()) return dir.status();
  auto exists = [&] {
    return Status::error(Errc::already_exists, fmt::format("{}: already exists", describe(path)));
  };
  // The whole file is written and synced under no name (or a hidden one), then
  // linked in: link(2) never replaces an entry, so the link is the decision.
  Fd file(::openat(dir->fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
  std::string temp;  // the hidden name when the file system has no O_TMPFILE
  if (file.fd < 0) {
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
      return failure(path, "temporary file", errno);
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char suffix[24];
    std::snprintf(suffix, sizeof suffix, ".%016llx.tmp", static_cast<unsigned long long>(rng()));
    temp = "." + name + suffix;
    file = Fd(::openat(dir->fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       0644));
    if (file.fd < 0) return failure(path.parent_path() / temp, "create", errno);
  }
  auto drop_temp = [&] {
    if (!temp.empty()) ::unlinkat(dir->fd, temp.c_str(), 0);
  };
  if (int err = pwrite_all(file.fd, data, 0); err != 0) {
    drop_temp();
    return failure(path, "write", err);
  }
  if (options_.sync && ::fsync(file.fd) != 0) {
    int err = errno;
    drop_temp();
    return failure(path, "fsync", err);
  }
  int linked;
  if (temp.empty()) {
    char proc[64];
    std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", file.fd);
    linked = ::linkat(AT_FDCWD, proc, dir->fd, name.c_str(), AT_SYMLINK_FOLLOW);
    if (linked != 0 && errno == ENOENT)  // no /proc: needs CAP_DAC_READ_SEARCH
      linked = ::linkat(file.fd, "", dir->fd, name.c_str(), AT_EMPTY_PATH);
  } else {
    linked = ::linkat(dir->fd, temp.c_str(), dir->fd, name.c_str(), 0);
  }
  int err = linked == 0 ? 0 : errno;
  drop_temp();
  if (err == EEXIST) return exists();
  if (err != 0) return failure(path, "link", err);
  if (options_.sync && ::fsync(dir->fd) != 0) return failure(path.parent_path(), "fsync", errno);
  return {};
}

Status open_standard_streams() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The lowest free descriptor is `fd` itself: the lower ones are open by now.
    const int got = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (got < 0) return errno_status("/dev/null", errno);
    if (got != fd) ::close(got);  // cannot happen: descriptors below fd are open
    ::fcntl(fd, F_SETFD, 0);      // inherited like any standard stream
  }
  return {};
}

FileSystem& local_file_system() {
  static PosixFileSystem local;
  return local;
}

}  // namespace questlog::io
