// A FileSystem in front of another that fails the operations it is told to
// (Redpanda's fs_finject): "the 3rd write to a path containing part- fails with
// ENOSPC after 100 bytes", "every sync fails with EIO", "operation number 17
// fails", "the process crashes at operation 17". It counts every operation, so
// a test can run a procedure once to count its steps and then fail (or crash
// at) each step in turn; and it tracks what is written but not yet synced, so a
// test can check that a procedure syncs what it claims before it publishes.
//
// A failed operation changes nothing and returns Errc::io_error (Errc::not_found
// for ENOENT) with the path and "(injected)"; a torn write writes its first K
// bytes, then fails. A crash is a process crash (kill -9): the operation it hits
// and every later one fail ("simulated crash") and change nothing, while what
// the earlier ones did stays, as the kernel's page cache keeps it. Reopen the
// directory with the real FileSystem to see what a restart would. A power loss
// (power_loss()) is a crash that also loses what was not synced.
//
// Thread-safe: rules, counters and tracking are guarded by a mutex; the wrapped
// file system's calls run outside it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "io/file_system.h"

namespace questlog::io {

// Every operation of FileSystem and File, as the fault rules name them.
enum class Op {
  open,
  temp_file,
  write,  // File::write_at and File::append
  read,
  size,
  truncate,
  sync,
  close,
  create_dirs,
  sync_dir,
  rename,
  exchange,
  remove,
  remove_all,
  kind,
  list,  // list and list_status
  list_files,
  lock,
  touch,
  put_if_absent,
};
inline constexpr size_t kOpCount = static_cast<size_t>(Op::put_if_absent) + 1;
std::string_view op_name(Op op);

// One rule: the nth call of `op` on a path containing `path_contains` (counted
// from when the rule is added) fails with `error`. Built as
//   Fault::on(Op::write).path("part-").nth(2).error(ENOSPC).torn(100)
struct Fault {
  Op op = Op::write;
  std::string path_contains;  // "" for any path; rename and exchange match either path
  uint64_t call = 1;          // 1: the first matching call
  bool every_later = false;   // every later matching call fails too
  int errno_value = EIO;      // 0: the call does not fail (only its delay applies)
  // Writes only: the first `torn_bytes` bytes of the write reach the file,
  // then it fails (a short write that ran out of room).
  std::optional<size_t> torn_bytes;
  std::chrono::milliseconds wait{0};  // the call waits this long before it runs (or fails)

  static Fault on(Op op) {
    Fault f;
    f.op = op;
    return f;
  }
  Fault& path(std::string contains) {
    path_contains = std::move(contains);
    return *this;
  }
  Fault& nth(uint64_t n) {
    call = n;
    return *this;
  }
  Fault& and_every_later() {
    every_later = true;
    return *this;
  }
  Fault& error(int e) {
    errno_value = e;
    return *this;
  }
  Fault& torn(size_t bytes) {
    torn_bytes = bytes;
    return *this;
  }
  Fault& delay(std::chrono::milliseconds d) {
    wait = d;
    return *this;
  }
};

class FaultFileSystem final : public FileSystem {
 public:
  // `base` must outlive this.
  explicit FaultFileSystem(FileSystem& base);
  ~FaultFileSystem() override;

  void inject(Fault fault);
  // Operation number `step` (as steps() counts: 0 is the first operation this
  // file system ever ran) fails with `error`, once.
  void fail_step(uint64_t step, int error = EIO);
  // Operation number `step` and every later one fail: a crash just before it.
  void crash_at(uint64_t step);
  // Forgets the rules, the failing step and the crash; counters stay.
  void clear();

  // What a power loss leaves of the bytes written to a file since its last sync.
  enum class Loss {
    cut,    // nothing: the file is back to its size at that sync
    zeros,  // zeros: its size reached the disk, its data did not
  };
  // A power loss now (LevelDB's FaultInjectionTestEnv): a crash, as crash_at(),
  // that also loses what was not synced. Every write over bytes that were
  // already in a file (a preallocated segment) that no successful sync covered
  // (one that began after the write finished) is undone: the old bytes come
  // back. Then each file written or truncated through this file system since
  // its last sync keeps only its bytes below the size it had at that sync (at
  // its first opening here if none; 0 for OpenMode::truncate) and below every
  // size it was cut to since; the bytes after that are cut or zeroed as `loss`
  // says. Each file created here in a
  // directory not synced since is removed. Renames and removals stay as done.
  // Returns the first error of the real file system.
  Status power_loss(Loss loss = Loss::cut);

  bool crashed() const;
  // Operations started so far, of any kind, failed ones included.
  uint64_t steps() const;
  uint64_t calls(Op op) const;
  // One line per operation (the last 100,000): "12 rename .staging/t/x.ready -> t",
  // with " FAILED" or " CRASHED" when a fault stopped it; for a test to print.
  std::vector<std::string> journal() const;

  // Called before each operation runs (or fails) with its kind and path(s),
  // outside the lock: a test can check the state at that moment.
  void on_step(
      std::function<void(Op, const std::filesystem::path&, const std::filesystem::path&)> observer);

  // Files written or truncated through this file system and not synced since,
  // and directories whose entries changed (a file created, renamed in or out,
  // removed) and were not synced since, as normalised relative paths. Paths
  // follow renames. Temporary files and lock files are not tracked.
  std::set<std::filesystem::path> unsynced_files() const;
  std::set<std::filesystem::path> unsynced_dirs() const;

  std::string describe(const std::filesystem::path& path) const override;
  Result<std::unique_ptr<File>> open(const std::filesystem::path& path, OpenMode mode) override;
  Result<std::unique_ptr<File>> temp_file(const std::filesystem::path& dir) override;
  Result<bool> create_dirs(const std::filesystem::path& dir) override;
  Status sync_dir(const std::filesystem::path& dir) override;
  Status rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  Status exchange(const std::filesystem::path& a, const std::filesystem::path& b) override;
  bool dirs_need_sync() const override { return dirs_need_sync_.value_or(base_.dirs_need_sync()); }
  bool atomic_exchange() const override {
    return atomic_exchange_.value_or(base_.atomic_exchange());
  }
  // Answers dirs_need_sync() and atomic_exchange() as HDFS does (false),
  // whatever `base` answers: the callers' other way, on a local disk.
  void act_as_hdfs() {
    dirs_need_sync_ = false;
    atomic_exchange_ = false;
  }
  Status remove(const std::filesystem::path& path) override;
  Status remove_all(const std::filesystem::path& path) override;
  Result<std::optional<FileKind>> kind(const std::filesystem::path& path) override;
  Result<std::vector<DirEntry>> list(const std::filesystem::path& dir) override;
  Result<std::vector<FileStatus>> list_status(const std::filesystem::path& dir) override;
  Result<std::vector<std::filesystem::path>> list_files(const std::filesystem::path& dir) override;
  Result<std::unique_ptr<FileLock>> lock(const std::filesystem::path& path) override;
  Status touch(const std::filesystem::path& path) override;
  Status put_if_absent(const std::filesystem::path& path, std::string_view data) override;

  // What a step does: run, fail with an errno, or tear (write K bytes, then fail).
  struct Verdict {
    int error = 0;                     // 0: run the operation
    std::optional<size_t> torn_bytes;  // writes: bytes to write before failing
    bool crash = false;
    Status status;  // the failure, when error != 0
  };
  // Counts and judges one operation (used by the files it opens too).
  Verdict step(Op op, const std::filesystem::path& a, const std::filesystem::path& b = {},
               const std::string& shown = {});
  // Tracking, for the files it opens. A write first hands over the bytes it
  // replaces (file_overwriting() returns its id), then reports itself done
  // (file_written()); a sync takes the ids of the writes done when it began
  // (finished_writes()) and reports them covered with the file's size at that
  // moment (what it made durable).
  uint64_t file_overwriting(const std::filesystem::path& path, uint64_t offset, std::string had);
  void file_written(const std::filesystem::path& path, std::optional<uint64_t> undo = {});
  std::vector<uint64_t> finished_writes(const std::filesystem::path& path);
  void file_synced(const std::filesystem::path& path, std::optional<uint64_t> size = {},
                   const std::vector<uint64_t>& covered = {});
  void file_cut(const std::filesystem::path& path, uint64_t size);

 private:
  // A write over bytes that were there, not yet covered by a sync.
  struct Undo {
    uint64_t id = 0;
    uint64_t offset = 0;
    std::string had;  // the bytes it replaced
    bool finished = false;
  };
  struct Rule {
    Fault fault;
    uint64_t seen = 0;
    bool spent = false;
  };
  void entries_changed(const std::filesystem::path& path);  // its parent's entries changed
  void moved(const std::filesystem::path& from, const std::filesystem::path& to);
  void dropped(const std::filesystem::path& path);

  FileSystem& base_;
  std::optional<bool> dirs_need_sync_, atomic_exchange_;
  mutable std::mutex mu_;
  std::vector<Rule> rules_;
  std::optional<uint64_t> fail_step_;
  int fail_step_error_ = EIO;
  std::optional<uint64_t> crash_at_;
  bool crashed_ = false;
  uint64_t steps_ = 0;
  uint64_t calls_[kOpCount] = {};
  std::deque<std::string> journal_;
  std::function<void(Op, const std::filesystem::path&, const std::filesystem::path&)> observer_;
  std::set<std::filesystem::path> unsynced_files_;
  std::set<std::filesystem::path> unsynced_dirs_;
  // For power_loss(): each tracked file's bytes known to be on disk (a prefix),
  // and the files created in a directory not synced since.
  std::map<std::filesystem::path, uint64_t> durable_;
  std::set<std::filesystem::path> created_;
  // Writes over existing bytes since the last sync that covered them, per file.
  std::map<std::filesystem::path, std::vector<Undo>> undo_;
  uint64_t undo_ids_ = 0;
};

}  // namespace questlog::io
