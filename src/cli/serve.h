// `questlog serve`: the game API on the event log.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "http/server.h"
#include "log/event_log.h"

namespace questlog::cli {

struct ServeArgs {
  http::ServerOptions server;
  std::string routes;  // empty: the seed's routes
  std::string data = "./data";
  std::string topic = "events";
  std::string kafka;
  std::vector<std::string> kafka_props;
  bool unsafe_producer = false;
  log::Durability durability = log::Durability::write;  // parsed once, from its name
  uint64_t segment_bytes = 16ull << 20;
  size_t max_unsynced = 65536;
};

void add_serve(CLI::App& app, ServeArgs& args);
int run_serve(const ServeArgs& args);

}  // namespace questlog::cli
