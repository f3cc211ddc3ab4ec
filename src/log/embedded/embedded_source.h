// The embedded log as a RecordSource: one partition, numbered 0.
#pragma once

#include <filesystem>
#include <memory>

#include "log/record_source.h"
#include "util/status.h"

namespace questlog::log::embedded {

// Opens the partition in `dir` (DATA/<topic>/0) and fixes its range now.
// Fails with Errc::not_found when `dir` holds no log.
Result<std::unique_ptr<RecordSource>> open_source(const std::filesystem::path& dir);

}  // namespace questlog::log::embedded
