#include "log/embedded/log_writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>
#include <vector>

#include "log/embedded/format.h"
#include "log/embedded/segment.h"
#include "log/record_source.h"

namespace questlog::log::embedded {
namespace {

namespace fs = std::filesystem;

// A batch buffer grown past this (by a very large value) is released after use.
constexpr size_t kKeepBufferBytes = 4 << 20;

Status fsync_dir(const fs::path& dir) {
  auto fd = open_file(dir, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return fd.status();
  if (::fsync(fd->get()) != 0) return errno_status(dir.string() + ": fsync", errno);
  return {};
}

// Writes data[0, n) at `position`, through short writes and interruptions.
Status write_all(int fd, const char* data, size_t n, uint64_t position, const fs::path& path) {
  while (n > 0) {
    ssize_t wrote = ::pwrite(fd, data, n, static_cast<off_t>(position));
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return errno_status(path.string() + ": write", errno);
    }
    if (wrote == 0) return errno_status(path.string() + ": write", EIO);
    data += wrote;
    n -= static_cast<size_t>(wrote);
    position += static_cast<uint64_t>(wrote);
  }
  return {};
}

// Holds `dir`'s lock file locked for as long as the returned Fd lives.
Result<Fd> lock_dir(const fs::path& dir) {
  fs::path path = dir / format::kLockFileName;
  auto fd = open_file(path, O_RDWR | O_CREAT);
  if (!fd.ok()) return fd.status();
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_status(path.string() + ": flock", errno);
    char pid[32] = {};
    ssize_t got = ::pread(fd->get(), pid, sizeof(pid) - 1, 0);
    std::string holder = got > 0 ? std::string(pid, static_cast<size_t>(got)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Status::error(Errc::busy, dir.string() + " is locked by another questlog writer (pid " +
                                         (holder.empty() ? "unknown" : holder) + ")");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd->get(), 0) != 0) return errno_status(path.string() + ": ftruncate", errno);
  Status wrote = write_all(fd->get(), pid.data(), pid.size(), 0, path);
  if (!wrote.ok()) return wrote;
  return std::move(fd.value());
}

}  // namespace

struct LogWriter::Impl {
  WriterOptions options;
  Fd dir_lock;  // held for the writer's lifetime
  RecoveryReport report;
  std::atomic<int64_t> next_offset{0};

  std::mutex mu;  // guards everything below
  // The active segment. sync() holds a reference while it runs outside `mu`, so a
  // roll cannot close the descriptor under it.
  std::shared_ptr<const Fd> segment;
  fs::path segment_path;
  uint64_t segment_size = 0;  // appends go at this byte
  bool roll_pending = false;  // the segment is full but the last roll failed
  Status broken;              // a failed append could not be cut back: refuse appends
  Status sync_error;          // the first failed fsync: data may be lost, report it forever
  std::vector<char> batch;    // encoded records of one append; capacity is reused

  Status recover(const SegmentFile& last);
  Status start_segment(int64_t base_offset);
  Status roll();
  Status sync_active(const Fd& fd, const fs::path& path);
};

Status LogWriter::Impl::recover(const SegmentFile& last) {
  auto reader = SegmentReader::open(last);
  if (!reader.ok()) return reader.status();
  // Read to the end, resuming past damage with valid records after it; stop at
  // the first record not accepted with none after it: the torn tail.
  Record record;
  SegmentReader::Outcome outcome;
  for (;;) {
    auto got = reader->read(record);
    if (!got.ok()) return got.status();
    outcome = *got;
    if (outcome == SegmentReader::Outcome::record) {
      if (!report.damaged.empty()) ++report.records_after_damage;
      continue;
    }
    if (outcome == SegmentReader::Outcome::end) break;
    auto resume = reader->find_resume();
    if (!resume.ok()) return resume.status();
    if (!*resume) break;
    report.damaged.push_back({reader->position(), (*resume)->position, reader->next_offset(),
                              (*resume)->offset, reader->why(outcome)});
    reader->resume_at(**resume);
  }

  auto fd = open_file(last.path, O_RDWR);
  if (!fd.ok()) return fd.status();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return errno_status(last.path.string() + ": fstat", errno);
  uint64_t good = reader->position();
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > good) {
    if (::ftruncate(fd->get(), static_cast<off_t>(good)) != 0) {
      return errno_status(last.path.string() + ": ftruncate", errno);
    }
    if (::fdatasync(fd->get()) != 0) return errno_status(last.path.string() + ": fsync", errno);
    report.truncated_bytes = size - good;
    report.detail = reader->describe(outcome) + "; cut " + std::to_string(size - good) +
                    " bytes, next offset " + std::to_string(reader->next_offset());
  }
  next_offset = reader->next_offset();
  if (report.damaged.empty()) {
    segment = std::make_shared<const Fd>(std::move(fd.value()));
    segment_path = last.path;
    segment_size = good;
    return {};
  }

  // Damage with valid records after it is no torn tail: keep every byte, seal
  // the segment as a roll would, and continue after its greatest offset.
  if (::fdatasync(fd->get()) != 0) return errno_status(last.path.string() + ": fsync", errno);
  const Damage& first = report.damaged.front();
  const size_t more = report.damaged.size() - 1;
  const std::string past = more == 0   ? ""
                           : more == 1 ? " (past 1 more damaged range)"
                                       : " (past " + std::to_string(more) + " more damaged ranges)";
  report.damaged_segment = last.path;
  report.damage =
      last.path.string() + ": " + first.why + ", offset " + std::to_string(first.first_offset) +
      ": " + log::describe_offsets(first.first_offset, first.end_offset) + " lost, " +
      std::to_string(report.records_after_damage) + " valid records follow" + past +
      "; the segment is kept as it is and sealed, and the log continues at offset " +
      std::to_string(next_offset.load()) + " (readers stop at the damage unless --skip-damaged)";
  return start_segment(next_offset.load());
}

// Creates the segment whose first record will be `base_offset` and makes it active.
Status LogWriter::Impl::start_segment(int64_t base_offset) {
  SegmentFile file = segment_in(options.dir, base_offset);
  auto fd = open_file(file.path, O_RDWR | O_CREAT);
  if (!fd.ok()) return fd.status();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return errno_status(file.path.string() + ": fstat", errno);
  if (st.st_size != 0) {
    // Only an earlier roll that failed after creating the file leaves one behind, empty.
    return Status::error(Errc::corruption, file.path.string() + ": new segment already holds " +
                                               std::to_string(st.st_size) + " bytes");
  }
  Status synced = fsync_dir(options.dir);
  if (!synced.ok()) return synced;
  segment = std::make_shared<const Fd>(std::move(fd.value()));
  segment_path = file.path;
  segment_size = 0;
  return {};
}

Status LogWriter::Impl::sync_active(const Fd& fd, const fs::path& path) {
  if (::fdatasync(fd.get()) != 0) {
    Status failed = errno_status(path.string() + ": fsync", errno);
    std::lock_guard lock(mu);
    if (sync_error.ok()) sync_error = failed;
    return sync_error;
  }
  return {};
}

// Seals the active segment (durably) and starts the next. Called with `mu` held.
Status LogWriter::Impl::roll() {
  if (!sync_error.ok()) return sync_error;
  if (::fdatasync(segment->get()) != 0) {
    sync_error = errno_status(segment_path.string() + ": fsync", errno);
    return sync_error;
  }
  Status started = start_segment(next_offset.load());
  if (started.ok()) roll_pending = false;
  return started;
}

LogWriter::LogWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LogWriter::~LogWriter() {
  std::lock_guard lock(impl_->mu);
  if (impl_->segment) (void)::fdatasync(impl_->segment->get());
  // Members go in reverse order: the segment closes before the lock is released.
}

Result<std::unique_ptr<LogWriter>> LogWriter::open(const WriterOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  std::error_code ec;
  if (fs::create_directories(options.dir, ec)) {
    Status synced =
        fsync_dir(options.dir.parent_path().empty() ? fs::path(".") : options.dir.parent_path());
    if (!synced.ok()) return synced;
  }
  if (ec) return Status::error(Errc::io_error, options.dir.string() + ": " + ec.message());

  auto lock = lock_dir(options.dir);
  if (!lock.ok()) return lock.status();
  impl->dir_lock = std::move(lock.value());

  auto segments = list_segments(options.dir);
  if (!segments.ok()) return segments.status();
  Status ready = segments->empty() ? impl->start_segment(0) : impl->recover(segments->back());
  if (!ready.ok()) return ready;

  impl->report.segments = segments->empty() ? 1 : static_cast<int>(segments->size());
  if (!impl->report.damaged.empty()) ++impl->report.segments;  // the new one after the damage
  impl->report.next_offset = impl->next_offset;
  return std::unique_ptr<LogWriter>(new LogWriter(std::move(impl)));
}

Result<int64_t> LogWriter::append(std::span<const std::string_view> values, int64_t timestamp_ms) {
  size_t total = 0;
  for (std::string_view v : values) {
    if (v.size() > format::kMaxPayload) {
      return Status::error(Errc::invalid_argument, "event of " + std::to_string(v.size()) +
                                                       " bytes exceeds the limit of " +
                                                       std::to_string(format::kMaxPayload));
    }
    total += format::record_size(v.size());
  }

  Impl& w = *impl_;
  std::lock_guard lock(w.mu);
  if (!w.broken.ok()) return w.broken;
  const int64_t first = w.next_offset.load();
  if (values.empty()) return first;
  if (w.roll_pending) {
    Status rolled = w.roll();
    if (!rolled.ok()) return rolled;
  }

  if (w.batch.size() < total) w.batch.resize(total);
  char* p = w.batch.data();
  int64_t offset = first;
  for (std::string_view v : values) {
    format::encode_record(p, offset++, timestamp_ms, v);
    p += format::record_size(v.size());
  }

  Status wrote = write_all(w.segment->get(), w.batch.data(), total, w.segment_size, w.segment_path);
  if (w.batch.size() > kKeepBufferBytes) w.batch = {};
  if (!wrote.ok()) {
    if (::ftruncate(w.segment->get(), static_cast<off_t>(w.segment_size)) != 0) {
      w.broken = Status::error(Errc::io_error, w.segment_path.string() +
                                                   ": cannot cut back a failed append (" +
                                                   std::strerror(errno) + "); reopen the log");
    }
    return wrote;
  }
  w.segment_size += total;
  w.next_offset.store(offset);

  if (w.segment_size >= w.options.segment_bytes) {
    // The batch is in the log whatever happens here; a failed roll is retried
    // before the next append, which reports it if it fails again.
    w.roll_pending = true;
    (void)w.roll();
  }
  return first;
}

Status LogWriter::sync() {
  std::shared_ptr<const Fd> fd;
  fs::path path;
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->sync_error.ok()) return impl_->sync_error;
    fd = impl_->segment;
    path = impl_->segment_path;
  }
  // Records in earlier segments were made durable when their segment rolled.
  return impl_->sync_active(*fd, path);
}

int64_t LogWriter::next_offset() const { return impl_->next_offset.load(); }

const RecoveryReport& LogWriter::recovery() const { return impl_->report; }

}  // namespace questlog::log::embedded
