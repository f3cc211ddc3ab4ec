// The lake's share of the command line: --lake and -X user.name=NAME.
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace questlog::cli {

// What --lake's help says.
inline constexpr const char* kLakeHelp =
    "Where the tables are: a directory, or webhdfs://NAMENODE:HTTP_PORT/PATH on HDFS (the "
    "namenode's HTTP port, dfs.namenode.http-address, 9870 by default; hdfs:// and its RPC "
    "port are not used)";

// Takes -X user.name=NAME (WebHDFS's user, for a webhdfs:// lake) out of
// `properties`, leaving librdkafka's. An empty NAME is an error.
Status take_webhdfs_user(std::vector<std::string>& properties, std::string& user);

}  // namespace questlog::cli
