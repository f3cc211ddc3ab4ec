#include "io/webhdfs_file_system.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "io/posix_file_system.h"
#include "util/clock.h"
#include "util/parallel.h"

namespace questlog::io {
namespace {

// Directories listed at once by list_files().
constexpr size_t kListings = 8;

namespace fs = std::filesystem;

Status unsupported(const std::string& what, const char* op) {
  return Status::error(Errc::invalid_argument,
                       fmt::format("{}: {} is not supported on WebHDFS", what, op));
}

// A file being written: staged in a local unnamed file, uploaded by sync().
class UploadFile final : public File {
 public:
  UploadFile(WebHdfsClient& client, std::string path, std::string name, std::unique_ptr<File> local)
      : File(std::move(name), 0),
        client_(client),
        path_(std::move(path)),
        local_(std::move(local)) {}

  Status write_at(uint64_t offset, std::string_view data) override {
    if (Status s = usable(); !s.ok()) return s;
    dirty_ = true;
    return local_->write_at(offset, data);
  }
  Result<size_t> read_at(uint64_t offset, char* out, size_t n) override {
    if (Status s = usable(); !s.ok()) return s;
    return local_->read_at(offset, out, n);
  }
  Result<uint64_t> size() override {
    if (Status s = usable(); !s.ok()) return s;
    return local_->size();
  }
  Status truncate(uint64_t size) override {
    if (Status s = usable(); !s.ok()) return s;
    dirty_ = true;
    return local_->truncate(size);
  }
  Status sync() override {
    if (Status s = usable(); !s.ok()) return s;
    if (!dirty_) return {};
    auto size = local_->size();
    if (!size.ok()) return size.status();
    File& local = *local_;
    WebHdfsClient::BodyReader reader = [&local](uint64_t offset, char* out, size_t n) {
      return local.read_at(offset, out, n);
    };
    if (Status s = client_.create(path_, *size, reader, /*overwrite=*/true); !s.ok()) return s;
    dirty_ = false;
    return {};
  }
  Status close() override {
    if (Status s = usable(); !s.ok()) return s;
    Status synced = sync();
    Status closed = local_->close();
    local_.reset();
    return synced.ok() ? closed : synced;
  }

 private:
  Status usable() const {
    if (!local_) return Status::error(Errc::io_error, fmt::format("{}: closed", name()));
    return {};
  }
  WebHdfsClient& client_;
  std::string path_;
  std::unique_ptr<File> local_;
  bool dirty_ = true;  // a new file is uploaded even when empty
};

// A file read with OPEN, a range at a time.
class ReadFile final : public File {
 public:
  ReadFile(WebHdfsClient& client, std::string path, std::string name)
      : File(std::move(name), 0), client_(client), path_(std::move(path)) {}

  Status write_at(uint64_t, std::string_view) override { return unsupported(name(), "write"); }
  Result<size_t> read_at(uint64_t offset, char* out, size_t n) override {
    if (n == 0) return size_t{0};
    auto bytes = client_.open(path_, offset, n);
    if (!bytes.ok()) return bytes.status();
    size_t k = std::min(n, bytes->size());
    std::copy_n(bytes->data(), k, out);
    return k;
  }
  Result<uint64_t> size() override {
    auto st = client_.get_file_status(path_);
    if (!st.ok()) return st.status();
    if (!*st) return Status::error(Errc::not_found, fmt::format("{}: no such file", name()));
    return (*st)->length;
  }
  Status truncate(uint64_t) override { return unsupported(name(), "truncate"); }
  Status sync() override { return {}; }
  Status close() override { return {}; }

 private:
  WebHdfsClient& client_;
  std::string path_;
};

// Who holds a lock: this host, this process, when the process started (so that
// a pid reused after the holder died is not taken for it), and a token telling
// this lock from others the same process holds. As a name: "host=H,pid=P,start=S,token=T".
struct Holder {
  std::string host;
  long pid = 0;
  std::string start;
  std::string token;

  std::string name() const {
    return fmt::format("host={},pid={},start={},token={}", host, pid, start, token);
  }
};

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  for (char& c : buf)
    if (c == ',' || c == '=' || c == '/' || c == ':') c = '_';
  return buf;
}

// The start time of process `pid` (field 22 of /proc/PID/stat, clock ticks
// since boot), or "" when there is no such process.
std::string process_start(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return "";
  std::istringstream fields(stat.substr(paren + 1));
  std::string f;
  for (int i = 3; i <= 22 && (fields >> f); ++i) {
    if (i == 22) return f;
  }
  return "";
}

std::string random_token() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

std::optional<Holder> parse_holder(std::string_view name) {
  Holder h;
  bool pid = false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find(',', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view field = name.substr(start, end - start);
    size_t eq = field.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = field.substr(0, eq);
      std::string value(field.substr(eq + 1));
      if (key == "host") h.host = value;
      if (key == "start") h.start = value;
      if (key == "token") h.token = value;
      if (key == "pid") {
        char* e = nullptr;
        h.pid = std::strtol(value.c_str(), &e, 10);
        pid = e != value.c_str() && *e == '\0' && h.pid > 0;
      }
    }
    start = end + 1;
  }
  if (h.host.empty() || !pid) return std::nullopt;
  return h;
}

// A holder on this host is alive while a process with its pid and start time runs.
bool alive_here(const Holder& h) {
  if (::kill(static_cast<pid_t>(h.pid), 0) != 0 && errno == ESRCH) return false;
  std::string start = process_start(h.pid);
  return start.empty() || start == h.start;  // unreadable /proc: assume alive
}

class HdfsLock final : public FileLock {
 public:
  // `entry`: this holder's directory inside the lock directory.
  HdfsLock(WebHdfsClient& client, std::string entry, std::chrono::seconds lease)
      : client_(client), entry_(std::move(entry)) {
    renewer_ = std::thread([this, every = std::chrono::milliseconds(lease) / 4] { renew(every); });
  }
  ~HdfsLock() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    renewer_.join();
    (void)client_.remove(entry_, true);
  }

 private:
  void renew(std::chrono::milliseconds every) {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, every, [this] { return stop_; })) {
      lock.unlock();
      (void)client_.set_modification_time(entry_, now_ms());
      lock.lock();
    }
  }

  WebHdfsClient& client_;
  std::string entry_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread renewer_;
};

}  // namespace

WebHdfsFileSystem::WebHdfsFileSystem(WebHdfsUri root, WebHdfsFileSystemOptions options)
    : root_(std::move(root)), options_(std::move(options)), client_(root_, options_.client) {}

WebHdfsFileSystem::~WebHdfsFileSystem() = default;

std::string WebHdfsFileSystem::describe(const fs::path& path) const {
  if (path.empty() || path == ".") return root_.str();
  std::string abs = root_.path == "/" ? std::string() : root_.path;
  abs += '/';
  abs += path.generic_string();
  return client_.describe(abs);
}

Result<std::string> WebHdfsFileSystem::absolute(const fs::path& path) const {
  std::string out = root_.path == "/" ? "" : root_.path;
  if (path.is_absolute())
    return Status::error(
        Errc::invalid_argument,
        fmt::format("{}: not a path beneath {}", describe(path.relative_path()), root_.str()));
  for (const fs::path& part : path) {
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return Status::error(Errc::invalid_argument,
                           fmt::format("{}: not a path beneath {}", describe(path), root_.str()));
    out += '/';
    out += part.string();
  }
  return out.empty() ? std::string("/") : out;
}

Result<std::unique_ptr<File>> WebHdfsFileSystem::open(const fs::path& path, OpenMode mode) {
  auto abs = absolute(path);
  if (!abs.ok()) return abs.status();
  switch (mode) {
    case OpenMode::read:
      return std::unique_ptr<File>(new ReadFile(client_, *abs, describe(path)));
    case OpenMode::truncate: {
      auto local = local_file_system().temp_file(options_.scratch);
      if (!local.ok()) return local.status();
      return std::unique_ptr<File>(
          new UploadFile(client_, *abs, describe(path), std::move(local).value()));
    }
    case OpenMode::read_write:
    case OpenMode::open_or_create:
      break;
  }
  return unsupported(describe(path), "opening a file to change it in place");
}

Result<std::unique_ptr<File>> WebHdfsFileSystem::temp_file(const fs::path&) {
  return local_file_system().temp_file(options_.scratch);
}

bool WebHdfsFileSystem::known_dir(const std::string& path) {
  std::lock_guard lock(dirs_mu_);
  return known_dirs_.count(path) > 0;
}

void WebHdfsFileSystem::remember_dirs(const std::string& path) {
  std::lock_guard lock(dirs_mu_);
  for (std::string p = path; !p.empty() && p != "/"; p = p.substr(0, p.rfind('/')))
    known_dirs_.insert(p);
}

void WebHdfsFileSystem::forget(const std::string& path) {
  std::lock_guard lock(dirs_mu_);
  known_dirs_.erase(path);
  // Everything under it: the names from "path/" up to "path0" ('0' follows '/').
  known_dirs_.erase(known_dirs_.lower_bound(path + "/"), known_dirs_.lower_bound(path + "0"));
}

Result<bool> WebHdfsFileSystem::create_dirs(const fs::path& dir) {
  auto abs = absolute(dir);
  if (!abs.ok()) return abs.status();
  if (known_dir(*abs)) return false;
  if (Status s = client_.mkdirs(*abs); !s.ok()) return s;
  remember_dirs(*abs);
  return true;  // MKDIRS does not say whether it made anything
}

Status WebHdfsFileSystem::sync_dir(const fs::path&) { return {}; }

Status WebHdfsFileSystem::rename(const fs::path& from, const fs::path& to) {
  auto a = absolute(from);
  if (!a.ok()) return a.status();
  auto b = absolute(to);
  if (!b.ok()) return b.status();
  forget(*a);
  forget(*b);
  return client_.rename(*a, *b, /*overwrite=*/true);
}

Status WebHdfsFileSystem::exchange(const fs::path& a, const fs::path& b) {
  auto pa = absolute(a);
  if (!pa.ok()) return pa.status();
  auto pb = absolute(b);
  if (!pb.ok()) return pb.status();
  const std::string aside = *pa + ".exchange";
  forget(*pa);
  forget(*pb);
  forget(aside);
  if (Status s = client_.rename(*pb, aside, true); !s.ok()) return s;
  if (Status s = client_.rename(*pa, *pb, true); !s.ok()) {
    (void)client_.rename(aside, *pb, true);  // put `b` back
    return s;
  }
  return client_.rename(aside, *pa, true);
}

Status WebHdfsFileSystem::remove(const fs::path& path) {
  auto abs = absolute(path);
  if (!abs.ok()) return abs.status();
  forget(*abs);
  auto removed = client_.remove(*abs, false);
  if (!removed.ok()) return removed.status();
  if (!*removed)
    return Status::error(Errc::not_found, fmt::format("{}: remove: not found", describe(path)));
  return {};
}

Status WebHdfsFileSystem::remove_all(const fs::path& path) {
  auto abs = absolute(path);
  if (!abs.ok()) return abs.status();
  if (*abs == root_.path && (path.empty() || path == "."))
    return Status::error(Errc::invalid_argument,
                         fmt::format("{}: the lake itself", describe(path)));
  forget(*abs);
  return client_.remove(*abs, true).status();
}

Result<std::optional<FileKind>> WebHdfsFileSystem::kind(const fs::path& path) {
  auto abs = absolute(path);
  if (!abs.ok()) return abs.status();
  auto st = client_.get_file_status(*abs);
  if (!st.ok()) return st.status();
  if (!*st) return std::optional<FileKind>();
  return std::optional<FileKind>((*st)->kind);
}

Result<std::vector<FileStatus>> WebHdfsFileSystem::list_status(const fs::path& dir) {
  auto abs = absolute(dir);
  if (!abs.ok()) return abs.status();
  auto entries = client_.list_status(*abs);
  if (!entries.ok()) return entries.status();
  std::vector<FileStatus> out;
  for (HdfsFileStatus& e : *entries) {
    // LISTSTATUS of a file answers with the file itself, named "".
    if (e.name.empty())
      return Status::error(Errc::invalid_argument,
                           fmt::format("{}: not a directory", describe(dir)));
    out.push_back({std::move(e.name), e.kind, e.length, e.modification_ms});
  }
  std::sort(out.begin(), out.end(),
            [](const FileStatus& x, const FileStatus& y) { return x.name < y.name; });
  return out;
}

Result<std::vector<DirEntry>> WebHdfsFileSystem::list(const fs::path& dir) {
  auto entries = list_status(dir);
  if (!entries.ok()) return entries.status();
  std::vector<DirEntry> out;
  for (FileStatus& e : *entries) out.push_back({std::move(e.name), e.kind});
  return out;
}

Result<std::vector<fs::path>> WebHdfsFileSystem::list_files(const fs::path& dir) {
  auto abs = absolute(dir);
  if (!abs.ok()) return abs.status();
  // Level by level, the directories of a level listed side by side (each a
  // round trip to the namenode).
  const std::string top = *abs == "/" ? "" : *abs;
  std::vector<fs::path> out;
  std::vector<fs::path> level{fs::path()};
  while (!level.empty()) {
    std::vector<std::vector<HdfsFileStatus>> listed(level.size());
    Status s = parallel_for(level.size(), kListings, [&](size_t i) -> Status {
      const std::string path = level[i].empty() ? top : top + "/" + level[i].string();
      auto entries = client_.list_status(path);
      if (entries.ok()) {
        listed[i] = std::move(entries).value();
        return {};
      }
      // A directory below the top removed meanwhile: skipped.
      if (!level[i].empty() && entries.status().code() == Errc::not_found) return {};
      return entries.status();
    });
    if (!s.ok()) return s;
    std::vector<fs::path> next;
    for (size_t i = 0; i < level.size(); ++i) {
      for (const HdfsFileStatus& e : listed[i]) {
        if (e.name.empty()) continue;
        if (e.kind == FileKind::regular)
          out.push_back(level[i] / e.name);
        else if (e.kind == FileKind::directory)
          next.push_back(level[i] / e.name);
      }
    }
    level = std::move(next);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::unique_ptr<FileLock>> WebHdfsFileSystem::lock(const fs::path& path) {
  auto abs = absolute(path);
  if (!abs.ok()) return abs.status();
  static const std::string kHost = host_name();
  Holder self;
  self.host = kHost;
  self.pid = static_cast<long>(::getpid());
  self.start = process_start(self.pid);
  self.token = random_token();
  const std::string mine = *abs + "/" + self.name();
  if (Status s = client_.mkdirs(mine); !s.ok()) return s;
  auto give_up = [&](Status s) {
    (void)client_.remove(mine, true);
    return s;
  };
  for (int round = 0; round < 5; ++round) {
    auto entries = client_.list_status(*abs);
    if (!entries.ok()) return give_up(entries.status());
    const HdfsFileStatus* me = nullptr;
    for (const HdfsFileStatus& e : *entries)
      if (e.name == self.name()) me = &e;
    if (me == nullptr)  // our entry was judged dead and removed: a holder took it
      return Status::error(Errc::busy, fmt::format("{}: held by another process", describe(path)));
    // The oldest holder still alive holds the lock (inode ids grow with creation).
    const HdfsFileStatus* first = nullptr;
    bool removed = false;
    for (const HdfsFileStatus& e : *entries) {
      if (e.file_id >= me->file_id) continue;
      std::optional<Holder> h = parse_holder(e.name);
      const int64_t idle_ms = now_ms() - e.modification_ms;
      const bool expired = idle_ms > std::chrono::milliseconds(options_.lease).count();
      const bool dead = h && h->host == kHost ? !alive_here(*h) : expired;
      if (dead) {
        auto gone = client_.remove(*abs + "/" + e.name, true);
        if (!gone.ok()) return give_up(gone.status());
        removed = true;
      } else if (first == nullptr || e.file_id < first->file_id) {
        first = &e;
      }
    }
    if (first != nullptr) {
      std::optional<Holder> h = parse_holder(first->name);
      std::string who = h ? fmt::format("pid {} on {}", h->pid, h->host) : first->name;
      int64_t idle_s = std::max<int64_t>(now_ms() - first->modification_ms, 0) / 1000;
      return give_up(Status::error(Errc::busy,
                                   fmt::format("{}: held by another process ({}, renewed {} s ago)",
                                               describe(path), who, idle_s)));
    }
    if (!removed) return std::unique_ptr<FileLock>(new HdfsLock(client_, mine, options_.lease));
    // Dead holders removed: look again (another process may have joined).
  }
  return give_up(
      Status::error(Errc::busy, fmt::format("{}: held by another process", describe(path))));
}

Status WebHdfsFileSystem::touch(const fs::path& path) {
  auto abs = absolute(path);
  if (!abs.ok()) return abs.status();
  return client_.create(*abs, std::string_view(), /*overwrite=*/true);
}

Status WebHdfsFileSystem::put_if_absent(const fs::path& path, std::string_view data) {
  auto abs = absolute(path);
  if (!abs.ok()) return abs.status();
  // A CREATE with overwrite=false would show the file to readers while its
  // data is still being written (and a retried one could find its own first
  // attempt). So the file is written whole under a hidden name beside it, then
  // renamed without overwrite, which the namenode does atomically or refuses.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::string parent = abs->substr(0, abs->rfind('/'));
  const std::string temp = fmt::format("{}/.{}.{:016x}.tmp", parent, path.filename().string(),
                                       static_cast<unsigned long long>(rng()));
  if (Status s = client_.create(temp, data, /*overwrite=*/false); !s.ok()) {
    (void)client_.remove(temp, false);
    return s;
  }
  Status renamed = client_.rename(temp, *abs, /*overwrite=*/false);
  if (!renamed.ok()) {
    (void)client_.remove(temp, false);
    if (renamed.code() == Errc::already_exists)
      return Status::error(Errc::already_exists, fmt::format("{}: already exists", describe(path)));
  }
  return renamed;
}

}  // namespace questlog::io
