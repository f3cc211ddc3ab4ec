// `questlog tail`: kcat -C for the event log.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace questlog::cli {

struct TailArgs {
  std::string data = "./data";
  std::string topic = "events";
  std::string kafka;
  std::vector<std::string> properties;  // -X prop=value, for --kafka
  std::string offset = "beginning";
  bool exit_at_end = false;
  bool skip_damaged = false;
  std::string format;         // -f, kcat's output format; empty: "%s\n"
  std::string key_delimiter;  // -K, kcat's: the key, this, the value
};

void add_tail(CLI::App& app, TailArgs& args);
int run_tail(const TailArgs& args);

}  // namespace questlog::cli
