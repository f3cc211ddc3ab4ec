// Where a topic's embedded log lives: DATA/<topic>/<partition>/.
#pragma once

#include <filesystem>
#include <string>

#include "util/status.h"

namespace questlog::cli {

// Topic names follow Kafka's rule: 1-249 characters of [a-zA-Z0-9._-], not "." or "..".
Status check_topic(const std::string& topic);

inline std::filesystem::path partition_dir(const std::string& data, const std::string& topic) {
  return std::filesystem::path(data) / topic / "0";
}

}  // namespace questlog::cli
