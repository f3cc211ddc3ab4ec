// The file layer (LevelDB's Env): every file, directory and lock operation
// questlog makes on a local disk goes through a FileSystem, so that a test can
// put a FaultFileSystem (fault_file_system.h) in front of the real one and fail
// any step: a short write at byte N, EIO or ENOSPC from a write or a sync, a
// rename failing while a table is published.
//
// Paths are std::filesystem::path values interpreted by the FileSystem: an
// unrooted one (local_file_system()) takes them as the process does (relative
// to the working directory, links followed); a rooted PosixFileSystem takes
// them relative to its root and may refuse every symbolic link beneath it
// (posix_file_system.h).
//
// Errors are Status values whose message names the path as the user knows it
// (describe()): Errc::not_found when the path or a parent is missing,
// Errc::busy for a lock held elsewhere, Errc::invalid_argument for a path the
// file system refuses (a symbolic link where links are not followed, a path
// leaving the root), Errc::io_error for any other failed system call.
//
// Durability: nothing is durable until synced. A File's bytes and size are on
// disk once sync() returns ok; a directory's entries (files created, renamed
// or removed in it) once sync_dir() on it returns ok. create_dirs() and touch()
// sync what they change themselves.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace questlog::io {

// What is at a path. A symbolic link is reported as one (by list()), never as
// what it points to.
enum class FileKind { regular, directory, symlink, other };

struct DirEntry {
  std::string name;
  FileKind kind = FileKind::other;
  bool operator==(const DirEntry&) const = default;
};

// An entry of a directory with its size and modification time (of the entry
// itself: a link's own, not its target's).
struct FileStatus {
  std::string name;
  FileKind kind = FileKind::other;
  uint64_t size = 0;        // bytes; meaningful for regular files
  int64_t modified_ms = 0;  // milliseconds since the Unix epoch
};

enum class OpenMode {
  read,            // an existing file, read only
  read_write,      // an existing file, read and write
  open_or_create,  // read and write; created empty when missing, kept as it is otherwise
  truncate,        // read and write; created when missing, emptied otherwise
};

// An open file. Closed (without syncing) when destroyed.
//
// Thread-safety: write_at, read_at, size, truncate and sync may run on several
// threads at once (they name their position or size, as pwrite, pread and
// ftruncate do); append and close must not run concurrently with any other call.
class File {
 public:
  virtual ~File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Writes all of `data` at byte `offset`, retrying short writes and
  // interruptions. On an error some prefix of `data` may be in the file.
  virtual Status write_at(uint64_t offset, std::string_view data) = 0;
  // Reads up to `n` bytes at `offset` into `out`; fewer only at the end of the
  // file. Returns the number read.
  virtual Result<size_t> read_at(uint64_t offset, char* out, size_t n) = 0;
  virtual Result<uint64_t> size() = 0;
  // Cuts (or extends with zeros) the file to `size` bytes.
  virtual Status truncate(uint64_t size) = 0;
  // fdatasync: the bytes written so far and the file's size are on disk.
  virtual Status sync() = 0;
  // Closes now, reporting close's error; any later call fails.
  virtual Status close() = 0;

  // write_at() at the append position, which then moves past `data`. The
  // position starts at the file's size when it was opened (0 for a new or
  // truncated file) and moves only by append().
  Status append(std::string_view data);
  uint64_t append_position() const { return append_position_; }

  // The file's path as the user knows it, for messages.
  const std::string& name() const { return name_; }

 protected:
  File(std::string name, uint64_t append_position)
      : name_(std::move(name)), append_position_(append_position) {}

 private:
  std::string name_;
  uint64_t append_position_;
};

// An exclusive lock, released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

// Thread-safety: every method may be called from several threads at once.
// Files, locks and the FileSystem's root must not outlive the FileSystem.
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // `path` as messages name it (the root joined with it, for a rooted one).
  virtual std::string describe(const std::filesystem::path& path) const = 0;

  virtual Result<std::unique_ptr<File>> open(const std::filesystem::path& path, OpenMode mode) = 0;
  // A new file in directory `dir` (which must exist) with no name: nothing is
  // left behind when it is closed or the process dies (O_TMPFILE; where the
  // file system has none, a named file removed at once).
  virtual Result<std::unique_ptr<File>> temp_file(const std::filesystem::path& dir) = 0;

  // Creates `dir` and its missing parents, syncing each directory that gained
  // an entry. True when it created anything. A non-directory in the way is an
  // error.
  virtual Result<bool> create_dirs(const std::filesystem::path& dir) = 0;
  // fsync of directory `dir`: its entries are on disk.
  virtual Status sync_dir(const std::filesystem::path& dir) = 0;

  // rename(2): `from` takes the name `to`, replacing a file or an empty
  // directory there. A symbolic link at `from` is renamed itself.
  virtual Status rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  // Swaps the entries `a` and `b` (renameat2 RENAME_EXCHANGE): atomic where the
  // file system supports it. Where it does not, three renames: `b` to a name
  // beside `a` ("<a>.exchange"), `a` to `b`, that name to `a`; a crash between
  // them leaves `b` missing, or `b` holding the new entry with the old one at
  // "<a>.exchange". Errc::not_found when either is missing (nothing changed).
  virtual Status exchange(const std::filesystem::path& a, const std::filesystem::path& b) = 0;
  // Removes a file, a symbolic link (not what it points to) or an empty
  // directory.
  virtual Status remove(const std::filesystem::path& path) = 0;
  // Removes `path` and everything under it, never following a symbolic link:
  // links are removed as links. A missing path is not an error.
  virtual Status remove_all(const std::filesystem::path& path) = 0;

  // What `path` resolves to under this file system's rule for links (an
  // unrooted one follows them; one that refuses links refuses them here too,
  // the last component included), or nullopt when nothing is there.
  virtual Result<std::optional<FileKind>> kind(const std::filesystem::path& path) = 0;
  // The entries of directory `dir` (without "." and ".."), sorted by name.
  virtual Result<std::vector<DirEntry>> list(const std::filesystem::path& dir) = 0;
  // list() with each entry's size and modification time, sorted by name.
  virtual Result<std::vector<FileStatus>> list_status(const std::filesystem::path& dir) = 0;
  // Every regular file under `dir`, as paths relative to it, sorted. Symbolic
  // links are neither followed nor listed.
  virtual Result<std::vector<std::filesystem::path>> list_files(
      const std::filesystem::path& dir) = 0;

  // flock(LOCK_EX | LOCK_NB) on `path` (created when missing), which then
  // holds this process's id, padded with spaces, and a newline. Errc::busy when
  // another open file holds it, naming the holder's pid when the file has one:
  // "<path>: held by another process (pid 1234)".
  virtual Result<std::unique_ptr<FileLock>> lock(const std::filesystem::path& path) = 0;
  // Creates `path` empty (or empties it), sets its modification time to now,
  // and syncs it: a marker such as _SUCCESS. The directory entry needs sync_dir.
  virtual Status touch(const std::filesystem::path& path) = 0;
  // Creates `path` holding exactly `data` only when nothing is there (put if
  // absent): Errc::already_exists, nothing changed, when an entry is. Readers
  // find no file or the whole of it, never a part. Of several callers racing
  // for one path exactly one gets ok. Once it returns ok the file and its
  // directory entry are durable. A Delta Lake commit is one of these.
  virtual Status put_if_absent(const std::filesystem::path& path, std::string_view data) = 0;

  // False when sync_dir() has nothing to do (every operation is durable once
  // it returns, as on HDFS), so that a caller need not find the directories to
  // sync.
  virtual bool dirs_need_sync() const { return true; }
  // False when exchange() is always its three renames (no atomic swap), so
  // that a caller that only needs `a` moved to `b` and the old `b` out of the
  // way may take two renames instead.
  virtual bool atomic_exchange() const { return true; }

 protected:
  FileSystem() = default;
};

// The process's file system: paths as the process sees them, links followed.
// Lives as long as the process.
FileSystem& local_file_system();

// Opens /dev/null on each of the standard descriptors 0, 1 and 2 the process
// was started without (`serve 2>&-`), so that no file questlog opens later
// (a log segment, a lock) gets one of them and receives what is printed to
// stdout or stderr. Called first thing; fails only if /dev/null cannot be opened.
Status open_standard_streams();

// The whole of the file at `path`, read through `fs` (a configuration file).
Result<std::string> read_file(FileSystem& fs, const std::filesystem::path& path);

}  // namespace questlog::io
