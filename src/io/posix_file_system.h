// The FileSystem on Linux system calls, unrooted or rooted at a directory.
//
// Unrooted (local_file_system()): paths are taken as the process takes them,
// relative to the working directory, links followed.
//
// Rooted: every path is relative to the root and may not contain "..". The
// root is opened as a directory descriptor the first time an operation needs
// it and held from then on, so renaming the root's path later redirects
// nothing. The root itself may be a symbolic link: the user chose it. With
// `create_root`, the first operation that writes creates the root (and its
// missing parents, synced) when it is missing; operations that only read or
// remove find nothing there and create nothing.
//
// Rooted with `beneath`: every path resolves beneath the root without following
// any symbolic link, by openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
// (Linux 5.6 or later). Operations on a last component (rename, exchange,
// remove, mkdir) open its parent that way and act on the entry itself, so a
// link there is renamed or removed as a link, never followed; remove_all and
// list_files walk with the same rule. A path that meets a link anywhere else is
// refused with Errc::invalid_argument and one line naming the link:
//   "lake/evil/sub: lake/evil is a symbolic link; <link_refusal>"
// and nothing outside the root is read, written or removed.
#pragma once

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>

#include "io/file_system.h"

namespace questlog::io {

struct PosixOptions {
  bool beneath = false;      // refuse every symbolic link beneath the root
  bool create_root = false;  // create the root on the first operation that writes
  // What a refusal says after "<link> is a symbolic link; ".
  std::string link_refusal = "links beneath the root are not followed";
  // False: exchange() always takes its three-rename fallback, as on a file
  // system without RENAME_EXCHANGE (for tests of that path).
  bool rename_exchange = true;
  // False: every sync (File::sync, sync_dir, and those inside create_dirs and
  // touch) succeeds without reaching the disk: for scratch data, and for tests
  // that never cut the power (a FaultFileSystem in front still tracks them).
  bool sync = true;
};

class PosixFileSystem final : public FileSystem {
 public:
  // Unrooted: the process's view.
  PosixFileSystem();
  // Rooted at `root` (absolute or relative to the working directory now).
  PosixFileSystem(std::filesystem::path root, PosixOptions options);
  ~PosixFileSystem() override;

  std::string describe(const std::filesystem::path& path) const override;
  Result<std::unique_ptr<File>> open(const std::filesystem::path& path, OpenMode mode) override;
  Result<std::unique_ptr<File>> temp_file(const std::filesystem::path& dir) override;
  Result<bool> create_dirs(const std::filesystem::path& dir) override;
  Status sync_dir(const std::filesystem::path& dir) override;
  Status rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  Status exchange(const std::filesystem::path& a, const std::filesystem::path& b) override;
  Status remove(const std::filesystem::path& path) override;
  Status remove_all(const std::filesystem::path& path) override;
  Result<std::optional<FileKind>> kind(const std::filesystem::path& path) override;
  Result<std::vector<DirEntry>> list(const std::filesystem::path& dir) override;
  Result<std::vector<FileStatus>> list_status(const std::filesystem::path& dir) override;
  Result<std::vector<std::filesystem::path>> list_files(const std::filesystem::path& dir) override;
  Result<std::unique_ptr<FileLock>> lock(const std::filesystem::path& path) override;
  Status touch(const std::filesystem::path& path) override;
  Status put_if_absent(const std::filesystem::path& path, std::string_view data) override;

  struct Fd;  // an owned descriptor (posix_file_system.cpp)

 private:
  enum class Root { existing, create };
  // The root's descriptor (AT_FDCWD unrooted); Errc::not_found when the root is
  // missing and `want` does not create it.
  Result<int> root_fd(Root want);
  // Checks a rooted path: relative, no "..". Unrooted paths pass as they are.
  Status check(const std::filesystem::path& path) const;
  // open(2) of `path` under `dirfd` by this file system's rule; `shown` names
  // it in messages (relative to the root).
  Result<Fd> open_at(int dirfd, const std::filesystem::path& path, int flags, unsigned mode,
                     const std::filesystem::path& shown);
  Result<Fd> open_path(const std::filesystem::path& path, int flags, unsigned mode, Root want);
  // The parent directory of `path` (O_PATH) and its last component.
  Result<Fd> open_parent(const std::filesystem::path& path, std::string& name, Root want);
  // A failed call on `path` as a Status; ELOOP/EXDEV under `beneath` become the
  // refusal naming the link.
  Status failure(const std::filesystem::path& path, const std::string& what, int err);
  Status refusal(const std::filesystem::path& path, int err);
  Status remove_tree(int parent, const std::string& name, const std::filesystem::path& shown);
  Status walk_files(int dir, const std::filesystem::path& prefix,
                    const std::filesystem::path& shown, std::vector<std::filesystem::path>& out);
  Status exchange_by_renames(int pa, const std::string& na, int pb, const std::string& nb,
                             const std::filesystem::path& a, const std::filesystem::path& b);

  const bool rooted_;
  const std::filesystem::path root_;
  const PosixOptions options_;
  std::mutex root_mu_;
  std::atomic<int> root_fd_{-1};
};

}  // namespace questlog::io
