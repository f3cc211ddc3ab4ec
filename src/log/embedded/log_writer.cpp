#include "log/embedded/log_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "log/embedded/format.h"
#include "log/embedded/segment.h"
#include "log/record_source.h"

namespace questlog::log::embedded {
namespace {

namespace fs = std::filesystem;

// A batch buffer grown past this (by a very large value) is released after use.
constexpr size_t kKeepBufferBytes = 4 << 20;

// Zeros are written in writes of this size.
constexpr size_t kZeroChunkBytes = 1 << 20;

// Writes zeros over bytes [from, to) of `file`.
Status write_zeros(io::File& file, uint64_t from, uint64_t to) {
  static const std::string zeros(kZeroChunkBytes, '\0');
  for (uint64_t at = from; at < to;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(to - at, zeros.size()));
    if (Status s = file.write_at(at, std::string_view(zeros).substr(0, n)); !s.ok()) return s;
    at += n;
  }
  return {};
}

// The pid the lock file at `path` names (io::FileSystem::lock writes it), or "unknown".
std::string holder_of(io::FileSystem& files, const fs::path& path) {
  auto file = files.open(path, io::OpenMode::read);
  if (!file.ok()) return "unknown";
  char pid[32];
  auto got = (*file)->read_at(0, pid, sizeof pid);
  if (!got.ok()) return "unknown";
  std::string holder(pid, *got);
  while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
  return holder.empty() ? "unknown" : holder;
}

// Holds `dir`'s lock file locked for as long as the returned lock lives.
Result<std::unique_ptr<io::FileLock>> lock_dir(io::FileSystem& files, const fs::path& dir) {
  const fs::path path = dir / format::kLockFileName;
  auto lock = files.lock(path);
  if (lock.ok() || lock.status().code() != Errc::busy) return lock;
  return Status::error(Errc::busy, fmt::format("{} is locked by another questlog writer (pid {})",
                                               files.describe(dir), holder_of(files, path)));
}

// Refuses a log in which a sealed segment holds offsets at or past the next
// segment's base (a segment copied in from another log, say): appends would
// give offsets the log already has, and no reader reads past that segment.
Status check_sealed_segments(io::FileSystem& files, const std::vector<SegmentFile>& segments) {
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    auto last = last_offset_of(files, segments[i]);
    if (!last.ok()) return last.status();
    const SegmentFile& next = segments[i + 1];
    if (!*last || **last < next.base_offset) continue;
    return Status::error(
        Errc::corruption,
        fmt::format("{} holds offsets up to {}, but the next segment, {}, starts at offset {}: two "
                    "segments hold the same offsets, and no reader reads past the first (a "
                    "segment copied in from another log?); move the one that does not belong "
                    "out of {}",
                    segments[i].path.string(), **last, next.path.filename().string(),
                    next.base_offset, segments[i].path.parent_path().string()));
  }
  return {};
}

}  // namespace

struct LogWriter::Impl {
  explicit Impl(const WriterOptions& o) : options(o), files(o.file_system) {}
  ~Impl() {
    if (spare_thread.joinable()) spare_thread.join();
  }

  const WriterOptions options;
  io::FileSystem& files;
  std::unique_ptr<io::FileLock> dir_lock;  // held for the writer's lifetime
  RecoveryReport report;
  std::atomic<int64_t> next_offset{0};

  std::mutex mu;  // guards everything below
  // The active segment. sync() holds a reference while it runs outside `mu`, so a
  // roll cannot close the file under it.
  std::shared_ptr<io::File> segment;
  uint64_t segment_size = 0;  // appends go at this byte
  bool roll_pending = false;  // the segment is full but the last roll failed
  Status broken;              // a failed append could not be cut back: refuse appends
  Status sync_error;          // the first failed fsync: data may be lost, report it forever
  std::vector<char> batch;    // encoded records of one append; capacity is reused

  // The next segment, preallocated under kSpareSegmentName (Preallocation::ahead:
  // by spare_thread, which leaves its outcome in spare_status).
  std::thread spare_thread;
  Status spare_status = Status::error(Errc::not_found, "no spare segment yet");

  bool preallocates() const { return options.preallocation != Preallocation::none; }
  Status recover(const SegmentFile& last);
  Status start_segment(int64_t base_offset);
  Status roll();
  Status sync_active(io::File& file);
  // Writes the spare segment: segment_bytes of zeros, synced.
  Status prepare_spare();
  // Starts preparing the spare on spare_thread (Preallocation::ahead only).
  void start_spare();
  // Waits for the spare; prepares it here when there is none.
  Status take_spare();
  // Makes the active segment at least segment_bytes long with zeros, synced.
  Status fill_active();
};

Status LogWriter::Impl::prepare_spare() {
  auto file = files.open(options.dir / kSpareSegmentName, io::OpenMode::truncate);
  if (!file.ok()) return file.status();
  if (Status s = write_zeros(**file, 0, options.segment_bytes); !s.ok()) return s;
  if (Status s = (*file)->sync(); !s.ok()) return s;
  return (*file)->close();
}

void LogWriter::Impl::start_spare() {
  if (options.preallocation != Preallocation::ahead) return;
  spare_thread = std::thread([this] { spare_status = prepare_spare(); });
}

Status LogWriter::Impl::take_spare() {
  if (spare_thread.joinable()) spare_thread.join();
  if (!spare_status.ok()) spare_status = prepare_spare();
  Status taken = std::move(spare_status);
  spare_status = Status::error(Errc::not_found, "no spare segment yet");
  return taken;
}

Status LogWriter::Impl::fill_active() {
  auto size = segment->size();
  if (!size.ok()) return size.status();
  if (*size >= options.segment_bytes) return {};
  if (Status s = write_zeros(*segment, *size, options.segment_bytes); !s.ok()) return s;
  return segment->sync();
}

Status LogWriter::Impl::recover(const SegmentFile& last) {
  auto reader = SegmentReader::open(files, last);
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

  auto file = files.open(last.path, io::OpenMode::read_write);
  if (!file.ok()) return file.status();
  auto size = (*file)->size();
  if (!size.ok()) return size.status();
  const uint64_t good = reader->position();
  if (*size > good && !preallocates()) {
    if (Status s = (*file)->truncate(good); !s.ok()) return s;
    if (Status s = (*file)->sync(); !s.ok()) return s;
    report.truncated_bytes = *size - good;
    report.detail = fmt::format("{}; cut {} bytes, next offset {}", reader->describe(outcome),
                                *size - good, reader->next_offset());
  } else if (*size > good) {
    // Preallocated: the space stays, and the torn bytes in it become zeros again
    // (a zero tail is the end already).
    auto end = reader->data_end();
    if (!end.ok()) return end.status();
    if (*end > good) {
      if (Status s = write_zeros(**file, good, *end); !s.ok()) return s;
      if (Status s = (*file)->sync(); !s.ok()) return s;
      report.truncated_bytes = *end - good;
      report.detail = fmt::format("{}; zeroed {} bytes, next offset {}", reader->describe(outcome),
                                  *end - good, reader->next_offset());
    }
  }
  next_offset = reader->next_offset();
  if (report.damaged.empty()) {
    segment = std::move(file).value();
    segment_size = good;
    if (!preallocates()) return {};
    if (Status s = fill_active(); !s.ok()) return s;
    start_spare();
    return {};
  }

  // Damage with valid records after it is no torn tail: keep every byte, seal
  // the segment as a roll would, and continue after its greatest offset.
  if (Status s = (*file)->sync(); !s.ok()) return s;
  const Damage& first = report.damaged.front();
  const size_t more = report.damaged.size() - 1;
  const std::string past = more == 0   ? ""
                           : more == 1 ? " (past 1 more damaged range)"
                                       : fmt::format(" (past {} more damaged ranges)", more);
  report.damaged_segment = last.path;
  report.damage = fmt::format(
      "{}: {}, offset {}: {} lost, {} valid records follow{}; the segment is kept as it is and "
      "sealed, and the log continues at offset {} (readers stop at the damage unless "
      "--skip-damaged)",
      last.path.string(), first.why, first.first_offset,
      log::describe_offsets(first.first_offset, first.end_offset), report.records_after_damage,
      past, next_offset.load());
  return start_segment(next_offset.load());
}

// Creates the segment whose first record will be `base_offset` and makes it active.
Status LogWriter::Impl::start_segment(int64_t base_offset) {
  const fs::path path = segment_in(options.dir, base_offset).path;
  if (preallocates()) {
    // The spare takes the segment's name (replacing what a roll that failed
    // after this rename left there: zeros).
    if (Status s = take_spare(); !s.ok()) return s;
    if (Status s = files.rename(options.dir / kSpareSegmentName, path); !s.ok()) return s;
    if (Status s = files.sync_dir(options.dir); !s.ok()) return s;
    auto file = files.open(path, io::OpenMode::read_write);
    if (!file.ok()) return file.status();
    segment = std::move(file).value();
    segment_size = 0;
    start_spare();
    return {};
  }
  auto file = files.open(path, io::OpenMode::open_or_create);
  if (!file.ok()) return file.status();
  auto size = (*file)->size();
  if (!size.ok()) return size.status();
  if (*size != 0) {
    // Only an earlier roll that failed after creating the file leaves one behind, empty.
    return Status::error(Errc::corruption, fmt::format("{}: new segment already holds {} bytes",
                                                       (*file)->name(), *size));
  }
  if (Status s = files.sync_dir(options.dir); !s.ok()) return s;
  segment = std::move(file).value();
  segment_size = 0;
  return {};
}

Status LogWriter::Impl::sync_active(io::File& file) {
  Status s = file.sync();
  if (s.ok()) return s;
  std::lock_guard lock(mu);
  if (sync_error.ok()) sync_error = std::move(s);
  return sync_error;
}

// Seals the active segment (durably) and starts the next. Called with `mu` held.
Status LogWriter::Impl::roll() {
  if (!sync_error.ok()) return sync_error;
  // A sealed segment holds its records and nothing after them.
  if (preallocates()) {
    if (Status s = segment->truncate(segment_size); !s.ok()) return s;
  }
  if (Status s = segment->sync(); !s.ok()) {
    sync_error = std::move(s);
    return sync_error;
  }
  Status started = start_segment(next_offset.load());
  if (started.ok()) roll_pending = false;
  return started;
}

LogWriter::LogWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LogWriter::~LogWriter() {
  std::lock_guard lock(impl_->mu);
  if (impl_->spare_thread.joinable()) impl_->spare_thread.join();
  if (impl_->segment) (void)impl_->segment->sync();
  // Members go in reverse order: the segment closes before the lock is released.
}

Result<std::unique_ptr<LogWriter>> LogWriter::open(const WriterOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  io::FileSystem& files = impl->files;
  // Creates the directory and its missing parents, each synced.
  if (auto made = files.create_dirs(options.dir); !made.ok()) return made.status();

  auto lock = lock_dir(files, options.dir);
  if (!lock.ok()) return lock.status();
  impl->dir_lock = std::move(lock).value();

  auto segments = list_segments(files, options.dir);
  if (!segments.ok()) return segments.status();
  if (Status s = check_sealed_segments(files, *segments); !s.ok()) return s;
  if (!impl->preallocates()) {
    // A spare a preallocating writer left behind is of no use here.
    Status removed = files.remove(options.dir / kSpareSegmentName);
    if (!removed.ok() && removed.code() != Errc::not_found) return removed;
  }
  Status ready = segments->empty() ? impl->start_segment(0) : impl->recover(segments->back());
  if (!ready.ok()) return ready;

  impl->report.segments = segments->empty() ? 1 : static_cast<int>(segments->size());
  if (!impl->report.damaged.empty()) ++impl->report.segments;  // the new one after the damage
  impl->report.next_offset = impl->next_offset;
  return std::unique_ptr<LogWriter>(new LogWriter(std::move(impl)));
}

Result<int64_t> LogWriter::append(std::span<const std::string_view> values, int64_t timestamp_ms,
                                  std::span<const std::string_view> keys) {
  if (!keys.empty() && keys.size() != values.size())
    return Status::error(Errc::invalid_argument, "append: one key per event, or none");
  auto key_of = [&](size_t i) { return keys.empty() ? std::string_view() : keys[i]; };
  size_t total = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    std::string_view v = values[i];
    if (v.size() > format::kMaxPayload) {
      return Status::error(
          Errc::invalid_argument,
          fmt::format("event of {} bytes exceeds the limit of {}", v.size(), format::kMaxPayload));
    }
    if (key_of(i).size() > format::kMaxKey)
      return Status::error(Errc::invalid_argument,
                           fmt::format("key of {} bytes exceeds the limit of {}", key_of(i).size(),
                                       format::kMaxKey));
    total += format::record_size(v.size(), key_of(i).size());
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
  for (size_t i = 0; i < values.size(); ++i) {
    format::encode_record(p, offset++, timestamp_ms, values[i], key_of(i));
    p += format::record_size(values[i].size(), key_of(i).size());
  }

  Status wrote = w.segment->write_at(w.segment_size, std::string_view(w.batch.data(), total));
  if (w.batch.size() > kKeepBufferBytes) w.batch = {};
  if (!wrote.ok()) {
    if (Status cut = w.segment->truncate(w.segment_size); !cut.ok()) {
      w.broken = Status::error(
          Errc::io_error,
          fmt::format("{} (cutting back a failed append); reopen the log", cut.message()));
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
  std::shared_ptr<io::File> file;
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->sync_error.ok()) return impl_->sync_error;
    file = impl_->segment;
  }
  // Records in earlier segments were made durable when their segment rolled.
  return impl_->sync_active(*file);
}

int64_t LogWriter::next_offset() const { return impl_->next_offset.load(); }

const RecoveryReport& LogWriter::recovery() const { return impl_->report; }

}  // namespace questlog::log::embedded
