// `questlog extract`: run a job file (the seed's Spark jobs) over the event log.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace questlog::cli {

struct ExtractArgs {
  std::string job;
  std::string data = "./data";
  std::string lake = "./lake";
  std::string kafka;
  std::vector<std::string> properties;  // -X prop=value, for --kafka
  int64_t show = -1;                    // -1: each table's own show
  bool strict = false;
  bool skip_damaged = false;
  unsigned threads = 0;  // 0: one per core
  bool follow = false;
  std::string trigger = "5s";
  std::string dedup_window = "1h";
};

void add_extract(CLI::App& app, ExtractArgs& args);
int run_extract(const ExtractArgs& args);

}  // namespace questlog::cli
