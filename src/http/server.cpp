#include "http/server.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <cstring>
#include <ctime>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "event/event_id.h"
#include "http/event_assembler.h"
#include "http/request_parser.h"

namespace questlog::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kNotFoundBody =
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again.</p>\n";
constexpr std::string_view kMethodNotAllowedBody =
    "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n"
    "<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n";
constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kTextHtml = "text/html; charset=utf-8";

// "Date: Wed, 25 Nov 2026 12:00:00 GMT\r\n" for now.
std::string date_header() {
  char buf[64];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  size_t n = std::strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
  return std::string(buf, n);
}

Result<tcp::endpoint> parse_listen(const std::string& listen) {
  auto bad = [&](const std::string& why) {
    return Status::error(Errc::invalid_argument, fmt::format("--listen {}: {}", listen, why));
  };
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return bad("expected HOST:PORT");
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  unsigned long p = 0;
  try {
    size_t used = 0;
    p = std::stoul(port, &used);
    if (used != port.size() || p > 65535) return bad(fmt::format("bad port '{}'", port));
  } catch (const std::exception&) {
    return bad(fmt::format("bad port '{}'", port));
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return bad(fmt::format("bad address '{}' (give a numeric IPv4 or IPv6 address)", host));
  return tcp::endpoint(addr, static_cast<unsigned short>(p));
}

}  // namespace

class Connection;

// A connection past --max-connections. It is answered 503 and then closed the
// way any other is (what the client sent is read and dropped until it closes,
// at most 2 s), so the client reads the 503 instead of a reset. At most
// Shared::max_refusals linger at once; past that one is closed at once.
class Refusal : public std::enable_shared_from_this<Refusal> {
 public:
  Refusal(tcp::socket socket, std::atomic<size_t>& lingering)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), lingering_(lingering) {}
  ~Refusal() { lingering_.fetch_sub(1); }

  void start() {
    static constexpr std::string_view kFull =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 53\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        "Service Unavailable: too many connections; retry later\n";
    timer_.expires_after(std::chrono::seconds(2));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->finish();
    });
    asio::async_write(socket_, asio::buffer(kFull),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        if (ec) return self->finish();
                        boost::system::error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
                        self->discard();
                      });
  }

 private:
  void discard() {
    socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](
                                                    const boost::system::error_code& ec, size_t) {
      if (ec) return self->finish();
      self->discard();
    });
  }
  void finish() {
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::array<char, 4096> buf_;
  std::atomic<size_t>& lingering_;
};

// What all event loops share. Read-only after start, but for the counters.
struct Shared {
  ServerOptions options;
  RouteTable routes;
  log::EventLog& log;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> refusals{0};  // refused connections still lingering
  size_t max_refusals = 0;          // set by listen()
};

// One event loop: its thread, listening socket and connections.
class Worker {
 public:
  explicit Worker(Shared& shared) : shared_(shared), sweep_(ioc_) {}

  void start() { sweep(); }
  void run() { ioc_.run(); }
  void stop();  // thread-safe

  // Called by connections of this loop.
  void add(Connection* c);
  void remove(Connection* c);
  void log_event(std::shared_ptr<Connection> c);

  Shared& shared() { return shared_; }
  EventAssembler& assembler() { return assembler_; }
  event::UuidV7Generator& ids() { return ids_; }
  const std::string& date() const { return date_; }
  Clock::time_point now() const { return now_; }
  bool stopping() const { return stopping_; }
  asio::io_context& io_context() { return ioc_; }
  // Serves a connection accepted elsewhere. Thread-safe.
  void adopt(tcp::socket socket);

 private:
  void sweep();
  void flush();

  Shared& shared_;
  asio::io_context ioc_{1};
  asio::steady_timer sweep_;
  std::vector<Connection*> connections_;
  std::vector<std::shared_ptr<Connection>> batch_;  // events of this round, not yet appended
  std::vector<std::string_view> batch_events_;
  std::vector<std::string_view> batch_keys_;
  bool flush_posted_ = false;
  bool stopping_ = false;
  Clock::time_point stop_deadline_;
  Clock::time_point now_ = Clock::now();
  std::string date_ = date_header();
  EventAssembler assembler_;    // events of routes with parameters or bodies
  event::UuidV7Generator ids_;  // this loop's event ids
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Worker& worker, tcp::socket socket)
      : worker_(worker), socket_(std::move(socket)), buf_(kBufferSize) {}
  ~Connection() { worker_.remove(this); }

  void start() {
    worker_.add(this);
    deadline_ = worker_.now() + worker_.shared().options.idle_timeout;
    next_request();
  }

  // The event of the current request: valid while it is being logged.
  std::string_view event() const { return event_; }
  // Its id: the client's Idempotency-Key, or a UUIDv7 made for it.
  std::string_view key() const { return key_; }

  // The log's answer for this connection's event.
  void on_logged(const Status& s) {
    if (state_ == State::closed) return;  // the client left; the event stays logged
    if (s.ok()) {
      respond(route_->status, route_->content_type, route_->body, {}, Body::lives_on);
    } else if (s.code() == Errc::busy) {
      respond(503, kTextPlain, fmt::format("Service Unavailable: {}; retry later\n", s.message()),
              "Retry-After: 1\r\n");
    } else {
      keep_alive_ = false;
      respond(503, kTextPlain, fmt::format("Service Unavailable: event log: {}\n", s.message()),
              "Retry-After: 1\r\n");
    }
  }

  // Called once a second by the loop.
  void check_deadline(Clock::time_point now) {
    if (now < deadline_ || state_ == State::logging || state_ == State::closed) return;
    if (state_ == State::reading && request_started()) {
      keep_alive_ = false;
      respond(408, kTextPlain, "Request Timeout: the request did not arrive in time\n", {});
    } else {
      close();
    }
  }

  // Graceful stop: an idle connection closes now, a busy one after its response.
  void begin_stop() {
    keep_alive_ = false;
    if (state_ == State::reading && !request_started()) close();
  }

  void close() {
    if (state_ == State::closed) return;
    state_ = State::closed;
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  enum class State { reading, logging, writing, draining, closed };
  static constexpr size_t kBufferSize = 16384;

  bool request_started() const { return started_ || begin_ < end_; }

  void next_request() {
    state_ = State::reading;
    started_ = false;
    head_.reset();
    if (event_.capacity() > RequestHead::kKeptBodyCapacity) std::string().swap(event_);
    const auto& o = worker_.shared().options;
    parser_.emplace(head_, worker_.shared().routes, o.header_limit, o.body_limit);
    parse();
  }

  void read() {
    if (begin_ > 0) {  // keep the unparsed bytes at the front
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    socket_.async_read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_),
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        size_t n) { self->on_read(ec, n); });
  }

  void on_read(const boost::system::error_code& ec, size_t n) {
    if (state_ == State::closed) return;
    if (ec) {  // EOF or reset: a half-received request is dropped, as nothing was logged
      close();
      return;
    }
    if (!started_ && begin_ == end_)
      deadline_ = worker_.now() + worker_.shared().options.read_timeout;
    end_ += n;
    parse();
  }

  void parse() {
    while (begin_ < end_) {
      boost::beast::error_code ec;
      size_t used = parser_->put(asio::buffer(buf_.data() + begin_, end_ - begin_), ec);
      begin_ += used;
      if (used > 0) started_ = true;
      if (ec == boost::beast::http::error::need_more) break;
      if (ec) return reject(ec);
      if (parser_->is_done()) return dispatch();
    }
    if (end_ - begin_ == buf_.size()) {  // a header line longer than the buffer
      return reject(boost::beast::http::error::header_limit);
    }
    if (head_.expects_continue && parser_->is_header_done() && !parser_->is_done()) {
      head_.expects_continue = false;  // once per request
      return send_continue();
    }
    read();
  }

  // The client waits for this before it sends the body (RFC 9110, 10.1.1).
  void send_continue() {
    static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(socket_, asio::buffer(k100),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        if (self->state_ == State::closed) return;
                        if (ec) return self->close();
                        self->read();
                      });
  }

  void reject(const boost::beast::error_code& ec) {
    using boost::beast::http::error;
    keep_alive_ = false;
    if (ec == error::header_limit) {
      respond(431, kTextPlain,
              fmt::format("Request Header Fields Too Large: the request line and headers exceed "
                          "{} bytes\n",
                          worker_.shared().options.header_limit),
              {});
    } else if (ec == error::body_limit) {
      respond(413, kTextPlain,
              fmt::format("Content Too Large: the body exceeds {} bytes\n",
                          worker_.shared().options.body_limit),
              {});
    } else {
      respond(400, kTextPlain, fmt::format("Bad Request: {}\n", ec.message()), {});
    }
  }

  void dispatch() {
    keep_alive_ = parser_->keep_alive() && !worker_.stopping();
    head_only_ = head_.method == "HEAD";
    // RFC 9112 3.2: exactly one Host in HTTP/1.1, never more than one.
    if (head_.host_fields > 1 || (head_.version >= 11 && head_.host_fields == 0)) {
      keep_alive_ = false;
      return respond(400, kTextPlain,
                     head_.host_fields > 1
                         ? "Bad Request: more than one Host header\n"
                         : "Bad Request: an HTTP/1.1 request needs a Host header\n",
                     {});
    }
    const Route* route = head_.route;
    if (!route) return respond(404, kTextHtml, kNotFoundBody, {});
    if (head_.method == "OPTIONS")
      return respond(200, kTextHtml, {}, fmt::format("Allow: {}\r\n", route->allow_header()));
    if (!route->allows(head_.method))
      return respond(405, kTextHtml, kMethodNotAllowedBody,
                     fmt::format("Allow: {}\r\n", route->allow_header()));
    if (head_.idempotency_key_fields > 1)
      return respond(400, kTextPlain, "Bad Request: more than one Idempotency-Key header\n", {});
    if (head_.idempotency_key_fields == 1) {
      if (std::string why = event::idempotency_key_problem(head_.idempotency_key); !why.empty())
        return respond(400, kTextPlain, fmt::format("Bad Request: {}\n", why), {});
      key_.assign(head_.idempotency_key);
    } else {
      worker_.ids().next(key_);
    }
    route_ = route;
    if (route->plain()) {
      head_.headers.build(route->fields, event_);
    } else {
      EventAssembler& events = worker_.assembler();
      std::string* body = route->takes_body(head_.method) ? &head_.body : nullptr;
      if (!events.build(*route, head_.match, query_of(origin_form(head_.target)), body,
                        head_.headers, event_))
        return respond(400, kTextPlain, fmt::format("Bad Request: {}\n", events.error()), {});
    }
    state_ = State::logging;
    worker_.log_event(shared_from_this());
  }

  // Whether a response body outlives the write (a route's, held by the route
  // table for the server's life): then a large one is sent from where it is
  // rather than copied into every connection's buffer.
  enum class Body { copy, lives_on };
  static constexpr size_t kCopyBodyBelow = 4096;

  void respond(int status, std::string_view content_type, std::string_view body,
               std::string_view extra_headers, Body kind = Body::copy) {
    state_ = State::writing;
    if (worker_.stopping()) keep_alive_ = false;
    out_.clear();
    out_.append("HTTP/1.1 ").append(std::to_string(status)).push_back(' ');
    auto reason =
        boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
    out_.append(reason.data(), reason.size()).append("\r\nServer: questlog\r\n");
    out_.append(worker_.date());
    if (status != 204) {  // RFC 9110 8.6: a 204 has no Content-Length (and no content)
      out_.append("Content-Type: ").append(content_type).append("\r\n");
      out_.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    out_.append(extra_headers);
    if (!keep_alive_)
      out_.append("Connection: close\r\n");
    else if (head_.version == 10)
      out_.append("Connection: keep-alive\r\n");
    out_.append("\r\n");
    if (head_only_) body = {};
    if (kind == Body::copy || body.size() < kCopyBodyBelow) {
      out_.append(body);
      body = {};
    }
    deadline_ = worker_.now() + worker_.shared().options.read_timeout;
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(out_),
                                                    asio::buffer(body.data(), body.size())};
    asio::async_write(socket_, buffers,
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        self->on_written(ec);
                      });
  }

  void on_written(const boost::system::error_code& ec) {
    if (state_ == State::closed) return;
    if (ec) return close();
    if (!keep_alive_) return drain();
    deadline_ = worker_.now() + worker_.shared().options.idle_timeout;
    next_request();
  }

  // Closing right after a response while the client may still be sending (the
  // rest of a rejected request, a pipelined one) would make the kernel answer
  // with a reset that can destroy the response before the client reads it. So:
  // end our side, read and drop what still arrives until the client closes or
  // the read timeout passes (nginx's "lingering close").
  void drain() {
    // Stopping, with nothing more from the client: close now rather than wait
    // for an idle keep-alive client to close first (it may never).
    boost::system::error_code ec;
    if (worker_.stopping() && socket_.available(ec) == 0 && !ec) return close();
    state_ = State::draining;
    deadline_ = worker_.now() +
                std::min(worker_.shared().options.read_timeout, std::chrono::milliseconds(2000));
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    begin_ = end_ = 0;
    discard();
  }

  void discard() {
    socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](
                                                    const boost::system::error_code& ec, size_t) {
      if (self->state_ != State::draining) return;
      if (ec) return self->close();
      self->discard();
    });
  }

  Worker& worker_;
  tcp::socket socket_;
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;  // unparsed bytes are buf_[begin_, end_)
  RequestHead head_;
  std::optional<RequestParser> parser_;
  bool started_ = false;  // the parser has taken bytes of the current request
  const Route* route_ = nullptr;
  std::string event_;
  std::string key_;
  std::string out_;
  bool keep_alive_ = true;
  bool head_only_ = false;
  State state_ = State::reading;
  Clock::time_point deadline_;

 public:
  size_t index_in_worker = 0;
};

void Worker::adopt(tcp::socket socket) {
  asio::post(ioc_, [this, socket = std::move(socket)]() mutable {
    if (stopping_) return;
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Connection>(*this, std::move(socket))->start();
  });
}

// The one listening socket. It accepts on the first event loop and hands each
// connection to the loops in turn. (Not SO_REUSEPORT: that would let a second
// server on the same port silently take half the traffic.)
class Listener {
 public:
  Listener(Shared& shared, std::vector<std::unique_ptr<Worker>>& workers)
      : shared_(shared), workers_(workers), acceptor_(workers.front()->io_context()) {}

  Status bind(const tcp::endpoint& ep) {
    boost::system::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      std::ostringstream os;
      os << ep;
      return Status::error(Errc::io_error,
                           fmt::format("cannot listen on {}: {}", os.str(), ec.message()));
    }
    return Status();
  }

  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

  void start() { accept(); }

  // Thread-safe.
  void stop() {
    asio::post(acceptor_.get_executor(), [this] {
      stopping_ = true;
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
  }

 private:
  void accept() {
    Worker& next = *workers_[next_++ % workers_.size()];
    acceptor_.async_accept(
        next.io_context(), [this, &next](const boost::system::error_code& ec, tcp::socket socket) {
          if (ec == asio::error::operation_aborted || stopping_) return;
          if (ec) {  // out of descriptors, say: back off a little rather than spin
            auto t = std::make_shared<asio::steady_timer>(acceptor_.get_executor(),
                                                          std::chrono::milliseconds(50));
            t->async_wait([this, t](const boost::system::error_code&) {
              if (!stopping_) accept();
            });
            return;
          }
          if (shared_.connections.fetch_add(1) >= shared_.options.max_connections) {
            shared_.connections.fetch_sub(1);
            refuse(socket);
          } else {
            next.adopt(std::move(socket));
          }
          accept();
        });
  }

  void refuse(tcp::socket& socket) {
    if (shared_.refusals.fetch_add(1) >= shared_.max_refusals) {
      shared_.refusals.fetch_sub(1);
      boost::system::error_code ignored;
      socket.close(ignored);
      return;
    }
    std::make_shared<Refusal>(std::move(socket), shared_.refusals)->start();
  }

  Shared& shared_;
  std::vector<std::unique_ptr<Worker>>& workers_;
  tcp::acceptor acceptor_;
  size_t next_ = 0;
  bool stopping_ = false;
};

void Worker::add(Connection* c) {
  c->index_in_worker = connections_.size();
  connections_.push_back(c);
}

void Worker::remove(Connection* c) {
  size_t i = c->index_in_worker;
  connections_[i] = connections_.back();
  connections_[i]->index_in_worker = i;
  connections_.pop_back();
  shared_.connections.fetch_sub(1);
  if (stopping_ && connections_.empty()) sweep_.cancel();  // nothing left to wait for
}

void Worker::sweep() {
  now_ = Clock::now();
  date_ = date_header();
  if (stopping_ && now_ >= stop_deadline_) {
    for (size_t i = connections_.size(); i-- > 0;) connections_[i]->close();
  }
  // check_deadline may close a connection, which leaves the list when its last
  // handler is done, never during this loop.
  for (Connection* c : connections_) c->check_deadline(now_);
  if (stopping_ && connections_.empty()) return;
  sweep_.expires_after(std::chrono::seconds(1));
  sweep_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) sweep();
  });
}

void Worker::stop() {
  asio::post(ioc_, [this] {
    if (stopping_) return;
    stopping_ = true;
    stop_deadline_ = Clock::now() + shared_.options.stop_timeout;
    for (Connection* c : connections_) c->begin_stop();
    if (connections_.empty()) sweep_.cancel();
  });
}

void Worker::log_event(std::shared_ptr<Connection> c) {
  batch_.push_back(std::move(c));
  if (flush_posted_) return;
  flush_posted_ = true;
  // Runs after the handlers that are ready now, so one append carries every
  // event this round of the loop produced.
  asio::post(ioc_, [this] { flush(); });
}

void Worker::flush() {
  flush_posted_ = false;
  batch_events_.clear();
  batch_keys_.clear();
  for (auto& c : batch_) {
    batch_events_.push_back(c->event());
    batch_keys_.push_back(c->key());
  }
  auto waiting = std::make_shared<std::vector<std::shared_ptr<Connection>>>(std::move(batch_));
  batch_.clear();
  // A tracked executor keeps run() going until the acknowledgement is answered.
  auto ex = asio::prefer(ioc_.get_executor(), asio::execution::outstanding_work.tracked);
  shared_.log.append(batch_events_, batch_keys_, [ex, waiting](const log::Outcome& outcome) {
    auto answer = [waiting, outcome] {
      for (size_t i = 0; i < waiting->size(); ++i) (*waiting)[i]->on_logged(outcome.of(i));
    };
    if (ex.running_in_this_thread())
      answer();
    else
      asio::post(ex, answer);
  });
}

struct Server::Impl {
  Shared shared;
  std::string limit_note;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<Listener> listener;
  std::vector<std::thread> threads;
};

Server::Server(ServerOptions options, RouteTable routes, log::EventLog& log)
    : impl_(
          new Impl{Shared{std::move(options), std::move(routes), log, {}, {}, 0}, {}, {}, {}, {}}) {
  unsigned n = impl_->shared.options.threads;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i)
    impl_->workers.push_back(std::make_unique<Worker>(impl_->shared));
  impl_->listener = std::make_unique<Listener>(impl_->shared, impl_->workers);
}

Server::~Server() = default;

Status Server::listen() {
  auto ep = parse_listen(impl_->shared.options.listen);
  if (!ep.ok()) return ep.status();
  fit_open_file_limit();
  return impl_->listener->bind(*ep);
}

const std::string& Server::limit_note() const { return impl_->limit_note; }

// Every connection, and every refusal while it lingers, holds a descriptor.
void Server::fit_open_file_limit() {
  constexpr size_t kOtherFiles = 64;  // the log, the listener, libraries' own
  constexpr size_t kMaxRefusals = 1024;
  Shared& s = impl_->shared;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  size_t files = rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(rl.rlim_cur);
  files = files > kOtherFiles ? files - kOtherFiles : 1;
  s.max_refusals = std::min(kMaxRefusals, files / 8);
  const size_t fits = files - s.max_refusals;
  if (s.options.max_connections <= fits) return;
  impl_->limit_note = fmt::format(
      "--max-connections {} does not fit the open-file limit of {}: serving at most {} "
      "connections at once (raise it with ulimit -n)",
      s.options.max_connections, rl.rlim_cur, fits);
  s.options.max_connections = fits;
}

std::string Server::local_address() const {
  std::ostringstream os;
  os << impl_->listener->local_endpoint();
  return os.str();
}

void Server::run() {
  impl_->listener->start();
  for (auto& w : impl_->workers) w->start();
  for (size_t i = 1; i < impl_->workers.size(); ++i)
    impl_->threads.emplace_back([w = impl_->workers[i].get()] { w->run(); });
  impl_->workers.front()->run();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

void Server::stop() {
  impl_->listener->stop();
  for (auto& w : impl_->workers) w->stop();
}

}  // namespace questlog::http
