#include "io/fault_file_system.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace questlog::io {
namespace {

namespace fs = std::filesystem;

// "a/./b/" -> "a/b"; "." -> "".
fs::path normal(const fs::path& p) {
  std::string s = p.lexically_normal().generic_string();
  while (!s.empty() && s.back() == '/') s.pop_back();
  if (s == ".") s.clear();
  return s;
}

bool is_under(const fs::path& p, const fs::path& prefix) {
  if (prefix.empty()) return true;
  const std::string& a = p.native();
  const std::string& b = prefix.native();
  return a == b || (a.size() > b.size() && a.compare(0, b.size(), b) == 0 && a[b.size()] == '/');
}

// `p` with its leading `from` replaced by `to` (p is under from).
fs::path rebase(const fs::path& p, const fs::path& from, const fs::path& to) {
  if (p == from) return to;
  std::string rest = p.native().substr(from.native().size() + (from.empty() ? 0 : 1));
  return to.empty() ? fs::path(rest) : to / rest;
}

void move_tree(std::set<fs::path>& set, const fs::path& from, const fs::path& to) {
  std::vector<fs::path> hit;
  for (const fs::path& p : set)
    if (is_under(p, from)) hit.push_back(p);
  for (const fs::path& p : hit) {
    set.erase(p);
    set.insert(rebase(p, from, to));
  }
}

void drop_tree(std::set<fs::path>& set, const fs::path& at) {
  for (auto it = set.begin(); it != set.end();) it = is_under(*it, at) ? set.erase(it) : ++it;
}

template <typename V>
void move_tree(std::map<fs::path, V>& map, const fs::path& from, const fs::path& to) {
  std::vector<std::pair<fs::path, V>> hit;
  for (const auto& [p, v] : map)
    if (is_under(p, from)) hit.emplace_back(p, v);
  for (const auto& [p, v] : hit) map.erase(p);
  for (auto& [p, v] : hit) map[rebase(p, from, to)] = std::move(v);
}

template <typename V>
void drop_tree(std::map<fs::path, V>& map, const fs::path& at) {
  for (auto it = map.begin(); it != map.end();) it = is_under(it->first, at) ? map.erase(it) : ++it;
}

class FaultFile final : public File {
 public:
  FaultFile(FaultFileSystem& fs, std::unique_ptr<File> base, fs::path path, bool tracked)
      : File(base->name(), base->append_position()),
        fs_(fs),
        base_(std::move(base)),
        path_(std::move(path)),
        tracked_(tracked) {}

  Status write_at(uint64_t offset, std::string_view data) override {
    auto v = fs_.step(Op::write, path_, {}, name());
    if (v.error != 0 && !v.torn_bytes) return v.status;
    if (v.torn_bytes) data = data.substr(0, std::min(*v.torn_bytes, data.size()));
    // For power_loss(): what the write replaces, to put back if no sync covers it.
    std::optional<uint64_t> undo;
    if (tracked_) {
      auto had = overwritten(offset, data.size());
      if (!had.ok()) return had.status();
      undo = fs_.file_overwriting(path_, offset, std::move(had).value());
    }
    Status s = base_->write_at(offset, data);
    if (tracked_) fs_.file_written(path_, undo);
    if (v.error != 0) return s.ok() ? v.status : s;
    return s;
  }
  Result<size_t> read_at(uint64_t offset, char* out, size_t n) override {
    auto v = fs_.step(Op::read, path_, {}, name());
    if (v.error != 0) return v.status;
    return base_->read_at(offset, out, n);
  }
  Result<uint64_t> size() override {
    auto v = fs_.step(Op::size, path_, {}, name());
    if (v.error != 0) return v.status;
    return base_->size();
  }
  Status truncate(uint64_t size) override {
    auto v = fs_.step(Op::truncate, path_, {}, name());
    if (v.error != 0) return v.status;
    Status s = base_->truncate(size);
    if (tracked_) fs_.file_cut(path_, size);
    return s;
  }
  Status sync() override {
    auto v = fs_.step(Op::sync, path_, {}, name());
    if (v.error != 0) return v.status;
    // What the sync makes durable: the bytes there when it begins, and the
    // writes finished by then.
    std::optional<uint64_t> size;
    std::vector<uint64_t> covered;
    if (tracked_) {
      auto now = base_->size();
      if (!now.ok()) return now.status();
      size = *now;
      covered = fs_.finished_writes(path_);
    }
    Status s = base_->sync();
    if (s.ok() && tracked_) fs_.file_synced(path_, size, covered);
    return s;
  }
  Status close() override {
    auto v = fs_.step(Op::close, path_, {}, name());
    if (v.error != 0) return v.status;
    return base_->close();
  }

 private:
  // The bytes of [offset, offset + n) that are in the file now (fewer past its end).
  Result<std::string> overwritten(uint64_t offset, size_t n) {
    auto size = base_->size();
    if (!size.ok()) return size.status();
    if (offset >= *size) return std::string();
    std::string had(static_cast<size_t>(std::min<uint64_t>(n, *size - offset)), '\0');
    auto got = base_->read_at(offset, had.data(), had.size());
    if (!got.ok()) return got.status();
    had.resize(*got);
    return had;
  }

  FaultFileSystem& fs_;
  std::unique_ptr<File> base_;
  fs::path path_;
  bool tracked_;
};

}  // namespace

std::string_view op_name(Op op) {
  static constexpr std::string_view kNames[kOpCount] = {
      "open",  "temp_file",   "write",      "read",   "size",     "truncate",     "sync",
      "close", "create_dirs", "sync_dir",   "rename", "exchange", "remove",       "remove_all",
      "kind",  "list",        "list_files", "lock",   "touch",    "put_if_absent"};
  return kNames[static_cast<size_t>(op)];
}

FaultFileSystem::FaultFileSystem(FileSystem& base) : base_(base) {}
FaultFileSystem::~FaultFileSystem() = default;

void FaultFileSystem::inject(Fault fault) {
  std::lock_guard lock(mu_);
  rules_.push_back({std::move(fault)});
}

void FaultFileSystem::fail_step(uint64_t step, int error) {
  std::lock_guard lock(mu_);
  fail_step_ = step;
  fail_step_error_ = error;
}

void FaultFileSystem::crash_at(uint64_t step) {
  std::lock_guard lock(mu_);
  crash_at_ = step;
}

void FaultFileSystem::clear() {
  std::lock_guard lock(mu_);
  rules_.clear();
  fail_step_.reset();
  crash_at_.reset();
  crashed_ = false;
}

bool FaultFileSystem::crashed() const {
  std::lock_guard lock(mu_);
  return crashed_;
}

uint64_t FaultFileSystem::steps() const {
  std::lock_guard lock(mu_);
  return steps_;
}

uint64_t FaultFileSystem::calls(Op op) const {
  std::lock_guard lock(mu_);
  return calls_[static_cast<size_t>(op)];
}

std::vector<std::string> FaultFileSystem::journal() const {
  std::lock_guard lock(mu_);
  return {journal_.begin(), journal_.end()};
}

void FaultFileSystem::on_step(std::function<void(Op, const fs::path&, const fs::path&)> observer) {
  std::lock_guard lock(mu_);
  observer_ = std::move(observer);
}

std::set<fs::path> FaultFileSystem::unsynced_files() const {
  std::lock_guard lock(mu_);
  return unsynced_files_;
}

std::set<fs::path> FaultFileSystem::unsynced_dirs() const {
  std::lock_guard lock(mu_);
  return unsynced_dirs_;
}

FaultFileSystem::Verdict FaultFileSystem::step(Op op, const fs::path& a, const fs::path& b,
                                               const std::string& shown) {
  Verdict v;
  std::chrono::milliseconds delay{0};
  std::function<void(Op, const fs::path&, const fs::path&)> observer;
  {
    std::lock_guard lock(mu_);
    const uint64_t n = steps_++;
    ++calls_[static_cast<size_t>(op)];
    if (crash_at_ && n >= *crash_at_) crashed_ = true;
    if (crashed_) {
      v.crash = true;
      v.error = EIO;
    } else if (fail_step_ && n == *fail_step_) {
      v.error = fail_step_error_;
      fail_step_.reset();
    } else {
      for (Rule& r : rules_) {
        if (r.fault.op != op || r.spent) continue;
        const std::string& want = r.fault.path_contains;
        if (!want.empty() && a.native().find(want) == std::string::npos &&
            b.native().find(want) == std::string::npos)
          continue;
        ++r.seen;
        if (r.seen < r.fault.call) continue;
        if (!r.fault.every_later) r.spent = true;
        delay = r.fault.wait;
        if (r.fault.errno_value == 0) continue;
        v.error = r.fault.errno_value;
        if (op == Op::write) v.torn_bytes = r.fault.torn_bytes;
        break;
      }
    }
    std::string line = fmt::format("{} {} {}", n, op_name(op), a.string());
    if (!b.empty()) line += fmt::format(" -> {}", b.string());
    if (v.crash)
      line += " CRASHED";
    else if (v.error != 0)
      line += " FAILED";
    if (journal_.size() == 100'000) journal_.pop_front();
    journal_.push_back(std::move(line));
    observer = observer_;
  }
  if (observer) observer(op, a, b);
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  if (v.error != 0) {
    // Worded as the real failure would be ("x: fsync: Input/output error").
    std::string_view call = op == Op::sync || op == Op::sync_dir ? "fsync"
                            : op == Op::truncate                 ? "ftruncate"
                                                                 : op_name(op);
    const std::string what =
        fmt::format("{}: {}: {}", shown.empty() ? base_.describe(a) : shown, call,
                    v.crash ? std::string("simulated crash")
                            : fmt::format("{} (injected)", std::strerror(v.error)));
    v.status = Status::error(v.error == ENOENT ? Errc::not_found : Errc::io_error, what);
  }
  return v;
}

void FaultFileSystem::file_written(const fs::path& path, std::optional<uint64_t> undo) {
  std::lock_guard lock(mu_);
  const fs::path p = normal(path);
  unsynced_files_.insert(p);
  if (!undo) return;
  for (Undo& u : undo_[p])
    if (u.id == *undo) u.finished = true;
}

uint64_t FaultFileSystem::file_overwriting(const fs::path& path, uint64_t offset, std::string had) {
  std::lock_guard lock(mu_);
  const uint64_t id = ++undo_ids_;
  if (!had.empty()) undo_[normal(path)].push_back({id, offset, std::move(had), false});
  return id;
}

std::vector<uint64_t> FaultFileSystem::finished_writes(const fs::path& path) {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> ids;
  auto it = undo_.find(normal(path));
  if (it == undo_.end()) return ids;
  for (const Undo& u : it->second)
    if (u.finished) ids.push_back(u.id);
  return ids;
}

void FaultFileSystem::file_cut(const fs::path& path, uint64_t size) {
  std::lock_guard lock(mu_);
  const fs::path p = normal(path);
  unsynced_files_.insert(p);
  auto it = durable_.find(p);
  if (it != durable_.end() && it->second > size) it->second = size;
}

void FaultFileSystem::file_synced(const fs::path& path, std::optional<uint64_t> size,
                                  const std::vector<uint64_t>& covered) {
  std::lock_guard lock(mu_);
  const fs::path p = normal(path);
  if (size) durable_[p] = *size;
  auto it = undo_.find(p);
  if (it != undo_.end()) {
    std::erase_if(it->second, [&](const Undo& u) {
      return std::find(covered.begin(), covered.end(), u.id) != covered.end();
    });
    if (it->second.empty()) undo_.erase(it);
  }
  // A write that ran during the sync is not covered by it.
  if (undo_.count(p) == 0) unsynced_files_.erase(p);
}

void FaultFileSystem::entries_changed(const fs::path& path) {
  std::lock_guard lock(mu_);
  unsynced_dirs_.insert(normal(path).parent_path());
}

void FaultFileSystem::moved(const fs::path& from, const fs::path& to) {
  std::lock_guard lock(mu_);
  fs::path f = normal(from), t = normal(to);
  drop_tree(unsynced_files_, t);
  drop_tree(unsynced_dirs_, t);
  drop_tree(durable_, t);
  drop_tree(created_, t);
  drop_tree(undo_, t);
  move_tree(undo_, f, t);
  move_tree(unsynced_files_, f, t);
  move_tree(unsynced_dirs_, f, t);
  move_tree(durable_, f, t);
  move_tree(created_, f, t);
  unsynced_dirs_.insert(f.parent_path());
  unsynced_dirs_.insert(t.parent_path());
}

void FaultFileSystem::dropped(const fs::path& path) {
  std::lock_guard lock(mu_);
  fs::path p = normal(path);
  drop_tree(unsynced_files_, p);
  drop_tree(unsynced_dirs_, p);
  drop_tree(durable_, p);
  drop_tree(created_, p);
  drop_tree(undo_, p);
  unsynced_dirs_.insert(p.parent_path());
}

std::string FaultFileSystem::describe(const fs::path& path) const { return base_.describe(path); }

Result<std::unique_ptr<File>> FaultFileSystem::open(const fs::path& path, OpenMode mode) {
  auto v = step(Op::open, path);
  if (v.error != 0) return v.status;
  const bool creates = mode == OpenMode::open_or_create || mode == OpenMode::truncate;
  bool existed = true;
  if (creates) {
    auto there = base_.kind(path);
    existed = !there.ok() || there->has_value();
  }
  auto f = base_.open(path, mode);
  if (!f.ok()) return f.status();
  if (creates) entries_changed(path);
  if (mode == OpenMode::truncate) file_written(path);
  {
    std::lock_guard lock(mu_);
    const fs::path p = normal(path);
    if (!existed) created_.insert(p);
    if (mode == OpenMode::truncate)
      durable_[p] = 0;
    else
      durable_.emplace(p, (*f)->append_position());
  }
  return std::unique_ptr<File>(new FaultFile(*this, std::move(f).value(), path, true));
}

Result<std::unique_ptr<File>> FaultFileSystem::temp_file(const fs::path& dir) {
  auto v = step(Op::temp_file, dir);
  if (v.error != 0) return v.status;
  auto f = base_.temp_file(dir);
  if (!f.ok()) return f.status();
  return std::unique_ptr<File>(new FaultFile(*this, std::move(f).value(), dir, false));
}

Result<bool> FaultFileSystem::create_dirs(const fs::path& dir) {
  auto v = step(Op::create_dirs, dir);
  if (v.error != 0) return v.status;
  return base_.create_dirs(dir);  // syncs each parent it changes
}

Status FaultFileSystem::sync_dir(const fs::path& dir) {
  auto v = step(Op::sync_dir, dir);
  if (v.error != 0) return v.status;
  Status s = base_.sync_dir(dir);
  if (s.ok()) {
    std::lock_guard lock(mu_);
    const fs::path d = normal(dir);
    unsynced_dirs_.erase(d);
    std::erase_if(created_, [&](const fs::path& p) { return p.parent_path() == d; });
  }
  return s;
}

Status FaultFileSystem::power_loss(Loss loss) {
  std::set<fs::path> written, created;
  std::map<fs::path, uint64_t> synced;
  std::map<fs::path, std::vector<Undo>> undo;
  {
    std::lock_guard lock(mu_);
    crashed_ = true;
    written.swap(unsynced_files_);
    created.swap(created_);
    synced = durable_;
    undo.swap(undo_);
  }
  Status first;
  auto note = [&](Status s) {
    if (first.ok() && !s.ok()) first = std::move(s);
  };
  // Bytes appended during a sync are not covered by it: look at every file
  // whose durable size is known, not only those written since their last sync.
  for (const auto& [p, size] : synced) written.insert(p);
  for (const auto& [p, writes] : undo) written.insert(p);
  for (const fs::path& p : created) {
    written.erase(p);
    Status s = base_.remove(p);
    if (s.code() != Errc::not_found) note(s);
  }
  for (const fs::path& p : written) {
    auto it = synced.find(p);
    const uint64_t keep = it == synced.end() ? 0 : it->second;
    auto f = base_.open(p, OpenMode::read_write);
    if (!f.ok()) {
      if (f.status().code() != Errc::not_found) note(f.status());
      continue;
    }
    auto size = (*f)->size();
    if (!size.ok()) {
      note(size.status());
      continue;
    }
    // Writes over bytes already there that no sync covered: the old bytes
    // come back, latest write first.
    if (auto u = undo.find(p); u != undo.end()) {
      for (auto w = u->second.rbegin(); w != u->second.rend(); ++w) {
        if (w->offset >= *size) continue;
        const size_t n = static_cast<size_t>(std::min<uint64_t>(w->had.size(), *size - w->offset));
        note((*f)->write_at(w->offset, std::string_view(w->had).substr(0, n)));
      }
    }
    if (*size <= keep) continue;
    if (loss == Loss::cut)
      note((*f)->truncate(keep));
    else
      note((*f)->write_at(keep, std::string(*size - keep, '\0')));
  }
  return first;
}

Status FaultFileSystem::rename(const fs::path& from, const fs::path& to) {
  auto v = step(Op::rename, from, to);
  if (v.error != 0) return v.status;
  Status s = base_.rename(from, to);
  if (s.ok()) moved(from, to);
  return s;
}

Status FaultFileSystem::exchange(const fs::path& a, const fs::path& b) {
  auto v = step(Op::exchange, a, b);
  if (v.error != 0) return v.status;
  Status s = base_.exchange(a, b);
  if (s.ok()) {
    // a <-> b through a name neither uses.
    fs::path aside = normal(a).string() + "\x01exchange";
    moved(a, aside);
    moved(b, a);
    moved(aside, b);
  }
  return s;
}

Status FaultFileSystem::remove(const fs::path& path) {
  auto v = step(Op::remove, path);
  if (v.error != 0) return v.status;
  Status s = base_.remove(path);
  if (s.ok()) dropped(path);
  return s;
}

Status FaultFileSystem::remove_all(const fs::path& path) {
  auto v = step(Op::remove_all, path);
  if (v.error != 0) return v.status;
  Status s = base_.remove_all(path);
  if (s.ok()) dropped(path);
  return s;
}

Result<std::optional<FileKind>> FaultFileSystem::kind(const fs::path& path) {
  auto v = step(Op::kind, path);
  if (v.error != 0) return v.status;
  return base_.kind(path);
}

Result<std::vector<DirEntry>> FaultFileSystem::list(const fs::path& dir) {
  auto v = step(Op::list, dir);
  if (v.error != 0) return v.status;
  return base_.list(dir);
}

Result<std::vector<FileStatus>> FaultFileSystem::list_status(const fs::path& dir) {
  auto v = step(Op::list, dir);
  if (v.error != 0) return v.status;
  return base_.list_status(dir);
}

Result<std::vector<fs::path>> FaultFileSystem::list_files(const fs::path& dir) {
  auto v = step(Op::list_files, dir);
  if (v.error != 0) return v.status;
  return base_.list_files(dir);
}

Result<std::unique_ptr<FileLock>> FaultFileSystem::lock(const fs::path& path) {
  auto v = step(Op::lock, path);
  if (v.error != 0) return v.status;
  return base_.lock(path);
}

Status FaultFileSystem::touch(const fs::path& path) {
  auto v = step(Op::touch, path);
  if (v.error != 0) return v.status;
  Status s = base_.touch(path);
  if (s.ok()) {
    entries_changed(path);
    file_synced(path);
  }
  return s;
}

Status FaultFileSystem::put_if_absent(const fs::path& path, std::string_view data) {
  auto v = step(Op::put_if_absent, path);
  if (v.error != 0) return v.status;
  Status s = base_.put_if_absent(path, data);
  if (s.ok()) file_synced(path, data.size());  // and its entry: put_if_absent syncs both
  return s;
}

}  // namespace questlog::io
