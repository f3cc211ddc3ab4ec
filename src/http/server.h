// `questlog serve`'s HTTP server: the routes, on Boost.Asio with Beast's HTTP/1.x
// parser. A request that matches a route becomes one event; its response goes out
// only after the event log has acknowledged the event. One event loop per thread
// and one listening socket, which hands connections to the loops in turn; each
// loop appends all the events that one round of its ready connections produced
// as one batch.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "http/routes.h"
#include "log/event_log.h"
#include "util/status.h"

namespace questlog::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:5000";           // HOST:PORT, [IPv6]:PORT; port 0 picks one
  unsigned threads = 0;                            // event loops; 0 = one per core
  size_t max_connections = 10000;                  // past it, 503 and close
  uint32_t header_limit = 8192;                    // request line + headers, else 431
  uint64_t body_limit = 1 << 20;                   // else 413
  std::chrono::milliseconds read_timeout{10'000};  // a started request must arrive whole, else 408
  std::chrono::milliseconds idle_timeout{75'000};  // an idle keep-alive connection is closed
  std::chrono::milliseconds stop_timeout{10'000};  // graceful stop waits this long for in-flight
};

class Server {
 public:
  // `log` must outlive the server.
  Server(ServerOptions options, RouteTable routes, log::EventLog& log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket. Errors name the address. Also raises the
  // process's soft open-file limit to its hard one and, if max_connections
  // still does not fit under it, lowers max_connections (see limit_note()).
  Status listen();
  // One line for the operator when listen() lowered max_connections, else "".
  const std::string& limit_note() const;
  // The address actually bound, e.g. "127.0.0.1:5000".
  std::string local_address() const;

  // Serves until stop(); returns once every connection is closed and every
  // acknowledgement has been answered.
  void run();

  // Stops accepting, closes idle connections, lets in-flight requests finish
  // (their connections then close), and forces the rest closed after
  // stop_timeout. Thread-safe; returns at once.
  void stop();

  struct Impl;

 private:
  void fit_open_file_limit();
  std::unique_ptr<Impl> impl_;
};

}  // namespace questlog::http
