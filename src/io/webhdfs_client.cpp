#include "io/webhdfs_client.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include "io/webhdfs_error.h"
#include "util/trace.h"

namespace questlog::io {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One HTTP exchange as it ended: a transport failure (code != CURLE_OK) or a
// response.
struct Response {
  CURLcode code = CURLE_OK;
  std::string curl_error;
  long status = 0;
  std::string body;
  std::string location;  // of a redirect
  bool transport_failed() const { return code != CURLE_OK; }
};

struct Upload {
  const WebHdfsClient::BodyReader* reader = nullptr;
  uint64_t size = 0;
  uint64_t offset = 0;
  Status error;
};

size_t on_write(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_read(char* out, size_t size, size_t n, void* user) {
  auto* up = static_cast<Upload*>(user);
  size_t want = static_cast<size_t>(std::min<uint64_t>(size * n, up->size - up->offset));
  if (want == 0) return 0;
  auto got = (*up->reader)(up->offset, out, want);
  if (!got.ok()) {
    up->error = got.status();
    return CURL_READFUNC_ABORT;
  }
  if (*got == 0) {
    up->error = Status::error(Errc::io_error, "the data to send ended early");
    return CURL_READFUNC_ABORT;
  }
  up->offset += *got;
  return *got;
}

// "PUT CREATE /tmp/t (datanode)" of a request's URL, for the trace.
std::string trace_what(const char* method, const std::string& url) {
  size_t path = url.find("/webhdfs/v1");
  size_t query = url.find('?');
  std::string what = method;
  if (path != std::string::npos && query != std::string::npos && path < query) {
    size_t op = url.find("op=", query);
    if (op != std::string::npos) {
      size_t end = url.find('&', op);
      what += " " + url.substr(op + 3, end == std::string::npos ? std::string::npos : end - op - 3);
    }
    what += " " + url.substr(path + 11, query - path - 11);
  }
  return what;
}

// "host:port" of an http:// URL, for messages.
std::string authority_of(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

FileKind kind_of(std::string_view type) {
  if (type == "FILE") return FileKind::regular;
  if (type == "DIRECTORY") return FileKind::directory;
  if (type == "SYMLINK") return FileKind::symlink;
  return FileKind::other;
}

bool read_status(simdjson::dom::object o, HdfsFileStatus& out) {
  std::string_view s;
  if (o["type"].get(s) != simdjson::SUCCESS) return false;
  out.kind = kind_of(s);
  if (o["pathSuffix"].get(s) == simdjson::SUCCESS) out.name = std::string(s);
  if (o["owner"].get(s) == simdjson::SUCCESS) out.owner = std::string(s);
  uint64_t u = 0;
  int64_t i = 0;
  if (o["length"].get(u) == simdjson::SUCCESS) out.length = u;
  if (o["modificationTime"].get(i) == simdjson::SUCCESS) out.modification_ms = i;
  if (o["fileId"].get(i) == simdjson::SUCCESS) out.file_id = i;
  return true;
}

}  // namespace

struct WebHdfsClient::Impl {
  WebHdfsClient& client;
  std::string base;  // "http://host:port/webhdfs/v1"
  std::mutex mu;
  std::vector<CURL*> idle;

  explicit Impl(WebHdfsClient& c) : client(c) {}
  ~Impl() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }

  CURL* take() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void give(CURL* h) {
    std::lock_guard lock(mu);
    idle.push_back(h);
  }

  // One exchange; `method` GET, PUT or DELETE; a PUT sends `up` (or nothing).
  Response perform(const char* method, const std::string& url, Upload* up) {
    Response r;
    CURL* h = take();
    if (h == nullptr) {
      r.code = CURLE_FAILED_INIT;
      r.curl_error = "curl_easy_init failed";
      return r;
    }
    curl_easy_reset(h);
    char err[CURL_ERROR_SIZE] = {};
    const WebHdfsOptions& o = client.options_;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");  // never a proxy from the environment
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o.stall_timeout.count()));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "questlog/0.1.0");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    curl_slist* headers = nullptr;
    Upload none;
    std::string_view m = method;
    if (m == "PUT") {
      if (up == nullptr) up = &none;
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(up->size));
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, up);
      headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
      headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    } else if (m == "DELETE") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    const double began = trace::on() ? trace::seconds() : 0;
    r.code = curl_easy_perform(h);
    if (r.transport_failed()) {
      r.curl_error = err[0] != '\0' ? std::string(err) : curl_easy_strerror(r.code);
      while (!r.curl_error.empty() && r.curl_error.back() == '\n') r.curl_error.pop_back();
      if (up != nullptr && !up->error.ok()) r.curl_error = up->error.message();
    } else {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
      char* loc = nullptr;
      if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc != nullptr)
        r.location = loc;
    }
    curl_slist_free_all(headers);
    give(h);
    if (trace::on())
      trace::line("webhdfs {} {} -> {} ({:.1f} ms, began {:.4f})", trace_what(method, url),
                  authority_of(url), r.transport_failed() ? r.curl_error : std::to_string(r.status),
                  (trace::seconds() - began) * 1000, began);
    return r;
  }

  std::string url(const std::string& path, std::string_view op, const std::string& params) const {
    std::string u = base + percent_encode_path(path) + "?op=" + std::string(op);
    if (!client.options_.user.empty())
      u += "&user.name=" + percent_encode_path(client.options_.user);
    return u + params;
  }

  static void wait(std::chrono::milliseconds first, int attempt) {
    std::this_thread::sleep_for(first * (1 << std::min(attempt, 10)));
  }

  // A namenode request, sent again while the namenode refuses connections (or,
  // for GET, on any transport failure).
  Result<Response> namenode(const char* method, const std::string& path, std::string_view op,
                            const std::string& params = {}) {
    const std::string u = url(path, op, params);
    const int attempts = std::max(1, client.options_.namenode_attempts);
    for (int attempt = 0;; ++attempt) {
      Response r = perform(method, u, nullptr);
      if (!r.transport_failed()) return r;
      const bool again = r.code == CURLE_COULDNT_CONNECT || std::string_view(method) == "GET";
      if (!again || attempt + 1 >= attempts)
        return Status::error(
            Errc::io_error,
            fmt::format("{}: {}: no answer from the namenode {} ({})", client.describe(path), op,
                        client.namenode_.authority(), r.curl_error));
      wait(client.options_.namenode_retry_wait, attempt);
    }
  }

  Status refused(const std::string& path, std::string_view op, const Response& r,
                 const std::string& by) {
    auto e = parse_remote_exception(r.body);
    return Status::error(e ? errc_for(*e) : Errc::io_error,
                         fmt::format("{}: {} refused by {}: {}", client.describe(path), op, by,
                                     describe_failure(r.status, e, r.body)));
  }

  // A namenode operation answered 200 with JSON: parses it into `doc`.
  Status json(const std::string& path, std::string_view op, const Response& r,
              simdjson::dom::parser& parser, simdjson::dom::element& doc) {
    if (r.status != 200) return refused(path, op, r, "the namenode");
    if (parser.parse(r.body).get(doc) != simdjson::SUCCESS)
      return Status::error(Errc::io_error,
                           fmt::format("{}: {}: the namenode's answer is not JSON: {}",
                                       client.describe(path), op, one_line(r.body.substr(0, 200))));
    return {};
  }

  Status bool_op(const std::string& path, std::string_view op, const Response& r, bool& out) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (Status s = json(path, op, r, parser, doc); !s.ok()) return s;
    if (doc["boolean"].get(out) != simdjson::SUCCESS)
      return Status::error(
          Errc::io_error, fmt::format("{}: {}: no boolean in the answer: {}", client.describe(path),
                                      op, one_line(r.body.substr(0, 200))));
    return {};
  }

  // Step one of CREATE or OPEN: the datanode URL the namenode redirects to.
  // `may_pass`: set when the namenode refused with an error that may pass (it
  // found no datanode to write to, say), not one it would repeat.
  Result<std::string> redirect(const char* method, const std::string& path, std::string_view op,
                               const std::string& params, bool* may_pass = nullptr) {
    auto r = namenode(method, path, op, params);
    if (!r.ok()) return r.status();
    if (r->status != 307) {
      auto e = parse_remote_exception(r->body);
      if (may_pass) *may_pass = e && retryable(*e);
      return refused(path, op, *r, "the namenode");
    }
    if (r->location.rfind("http://", 0) != 0 && r->location.rfind("https://", 0) != 0)
      return Status::error(Errc::io_error,
                           fmt::format("{}: {}: the namenode redirected to '{}', not a datanode",
                                       client.describe(path), op, r->location));
    return std::move(r->location);
  }

  // Both steps of one CREATE. `again`: whether a failure may pass (a datanode
  // that failed or refused for a reason HDFS would not repeat, a namenode that
  // found no datanode).
  Status create_once(const std::string& path, const std::string& params, uint64_t size,
                     const BodyReader& body, bool& again) {
    auto target = redirect("PUT", path, "CREATE", params, &again);
    if (!target.ok()) return target.status();
    const std::string datanode = authority_of(*target);
    Upload up{&body, size, 0, {}};
    Response r = perform("PUT", *target, &up);
    if (!r.transport_failed() && (r.status == 201 || r.status == 200)) return {};
    if (r.transport_failed()) {
      again = up.error.ok();  // not when our side could not read the data
      return Status::error(Errc::io_error,
                           fmt::format("{}: CREATE: the datanode {} failed ({})",
                                       client.describe(path), datanode, r.curl_error));
    }
    auto e = parse_remote_exception(r.body);
    again = e ? retryable(*e) : r.status >= 500;
    return Status::error(
        e ? errc_for(*e) : Errc::io_error,
        fmt::format("{}: CREATE refused by the datanode {}: {}", client.describe(path), datanode,
                    describe_failure(r.status, e, r.body)));
  }
};

WebHdfsClient::WebHdfsClient(WebHdfsUri namenode, WebHdfsOptions options)
    : namenode_(std::move(namenode)),
      options_(std::move(options)),
      impl_(std::make_unique<Impl>(*this)) {
  global_init();
  impl_->base = "http://" + namenode_.authority() + "/webhdfs/v1";
}

WebHdfsClient::~WebHdfsClient() = default;

std::string WebHdfsClient::describe(const std::string& path) const {
  return "webhdfs://" + namenode_.authority() + percent_encode_path(path);
}

Result<std::optional<HdfsFileStatus>> WebHdfsClient::get_file_status(const std::string& path) {
  auto r = impl_->namenode("GET", path, "GETFILESTATUS");
  if (!r.ok()) return r.status();
  if (r->status == 404) {
    auto e = parse_remote_exception(r->body);
    if (!e || e->exception == "FileNotFoundException") return std::optional<HdfsFileStatus>();
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (Status s = impl_->json(path, "GETFILESTATUS", *r, parser, doc); !s.ok()) return s;
  simdjson::dom::object o;
  HdfsFileStatus st;
  if (doc["FileStatus"].get(o) != simdjson::SUCCESS || !read_status(o, st))
    return Status::error(Errc::io_error,
                         fmt::format("{}: GETFILESTATUS: no FileStatus in {}", describe(path),
                                     one_line(r->body.substr(0, 200))));
  return std::optional<HdfsFileStatus>(std::move(st));
}

Result<std::vector<HdfsFileStatus>> WebHdfsClient::list_status(const std::string& path) {
  auto r = impl_->namenode("GET", path, "LISTSTATUS");
  if (!r.ok()) return r.status();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (Status s = impl_->json(path, "LISTSTATUS", *r, parser, doc); !s.ok()) return s;
  simdjson::dom::array entries;
  if (doc["FileStatuses"]["FileStatus"].get(entries) != simdjson::SUCCESS)
    return Status::error(Errc::io_error,
                         fmt::format("{}: LISTSTATUS: no FileStatuses in {}", describe(path),
                                     one_line(r->body.substr(0, 200))));
  std::vector<HdfsFileStatus> out;
  for (simdjson::dom::element e : entries) {
    simdjson::dom::object o;
    HdfsFileStatus st;
    if (e.get(o) != simdjson::SUCCESS || !read_status(o, st))
      return Status::error(Errc::io_error,
                           fmt::format("{}: LISTSTATUS: a bad entry", describe(path)));
    out.push_back(std::move(st));
  }
  return out;
}

Status WebHdfsClient::mkdirs(const std::string& path) {
  auto r = impl_->namenode("PUT", path, "MKDIRS");
  if (!r.ok()) return r.status();
  bool made = false;
  if (Status s = impl_->bool_op(path, "MKDIRS", *r, made); !s.ok()) return s;
  if (!made)
    return Status::error(Errc::io_error,
                         fmt::format("{}: MKDIRS: the namenode did not make it", describe(path)));
  return {};
}

Status WebHdfsClient::rename(const std::string& from, const std::string& to, bool overwrite) {
  const std::string params = "&destination=" + percent_encode_path(to) +
                             (overwrite ? "&renameoptions=OVERWRITE" : "&renameoptions=NONE");
  auto r = impl_->namenode("PUT", from, "RENAME", params);
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    auto e = parse_remote_exception(r->body);
    return Status::error(e ? errc_for(*e) : Errc::io_error,
                         fmt::format("{}: RENAME to {} refused by the namenode: {}", describe(from),
                                     to, describe_failure(r->status, e, r->body)));
  }
  return {};
}

Result<bool> WebHdfsClient::remove(const std::string& path, bool recursive) {
  auto r = impl_->namenode("DELETE", path, "DELETE", recursive ? "&recursive=true" : "");
  if (!r.ok()) return r.status();
  bool removed = false;
  if (Status s = impl_->bool_op(path, "DELETE", *r, removed); !s.ok()) return s;
  return removed;
}

Status WebHdfsClient::set_modification_time(const std::string& path, int64_t ms) {
  auto r = impl_->namenode("PUT", path, "SETTIMES", "&modificationtime=" + std::to_string(ms));
  if (!r.ok()) return r.status();
  if (r->status != 200) return impl_->refused(path, "SETTIMES", *r, "the namenode");
  return {};
}

Status WebHdfsClient::create(const std::string& path, uint64_t size, const BodyReader& body,
                             bool overwrite) {
  const std::string params = overwrite ? "&overwrite=true" : "&overwrite=false";
  const int attempts = std::max(1, options_.write_attempts);
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0 && overwrite) {
      // A half-written file of the last attempt may hold a lease for a minute.
      auto gone = remove(path, false);
      if (!gone.ok() && gone.status().code() != Errc::not_found) return gone.status();
    }
    bool again = false;
    Status failed = impl_->create_once(path, params, size, body, again);
    if (failed.ok() || !again) return failed;
    if (attempt + 1 >= attempts)
      return Status::error(failed.code(),
                           fmt::format("{} (after {} attempts)", failed.message(), attempts));
    auto wait = options_.write_retry_wait * (1 << std::min(attempt, 10));
    if (options_.note)
      options_.note(fmt::format("{}; writing it again in {:.1f} s (attempt {} of {})",
                                failed.message(), std::chrono::duration<double>(wait).count(),
                                attempt + 2, attempts));
    std::this_thread::sleep_for(wait);
  }
}

Status WebHdfsClient::create(const std::string& path, std::string_view data, bool overwrite) {
  BodyReader reader = [data](uint64_t offset, char* out, size_t n) -> Result<size_t> {
    if (offset >= data.size()) return size_t{0};
    size_t k = std::min<size_t>(n, data.size() - offset);
    std::copy_n(data.data() + offset, k, out);
    return k;
  };
  return create(path, data.size(), reader, overwrite);
}

Result<std::string> WebHdfsClient::open(const std::string& path, uint64_t offset, uint64_t length) {
  const std::string params =
      "&offset=" + std::to_string(offset) + "&length=" + std::to_string(length);
  const int attempts = std::max(1, options_.write_attempts);
  for (int attempt = 0;; ++attempt) {
    auto target = impl_->redirect("GET", path, "OPEN", params);
    if (!target.ok()) return target.status();
    Response r = impl_->perform("GET", *target, nullptr);
    if (!r.transport_failed() && r.status == 200) return std::move(r.body);
    if (!r.transport_failed()) {
      auto e = parse_remote_exception(r.body);
      Status s =
          Status::error(e ? errc_for(*e) : Errc::io_error,
                        fmt::format("{}: OPEN refused by the datanode {}: {}", describe(path),
                                    authority_of(*target), describe_failure(r.status, e, r.body)));
      if (!e || !retryable(*e) || attempt + 1 >= attempts) return s;
    } else if (attempt + 1 >= attempts) {
      return Status::error(
          Errc::io_error,
          fmt::format("{}: OPEN: the datanode {} failed ({}) (after {} attempts)", describe(path),
                      authority_of(*target), r.curl_error, attempts));
    }
    Impl::wait(options_.write_retry_wait, attempt);
  }
}

}  // namespace questlog::io
