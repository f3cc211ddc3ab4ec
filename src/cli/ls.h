// `questlog ls [LAKE]`: the tables in a lake, local or on HDFS, as the seed's
// `hadoop fs -ls /tmp` showed its tables, with rows, files, bytes and last
// write time read from the files' footers.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace questlog::cli {

struct LsArgs {
  std::string lake = "./lake";
  std::vector<std::string> properties;  // -X user.name=NAME
};

void add_ls(CLI::App& app, LsArgs& args);
int run_ls(const LsArgs& args);

}  // namespace questlog::cli
