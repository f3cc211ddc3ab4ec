// The embedded log as a RecordSource: one partition, numbered 0.
#pragma once

#include <filesystem>
#include <memory>

#include "log/embedded/log_reader.h"
#include "log/record_source.h"
#include "util/status.h"

namespace questlog::log::embedded {

// Opens the partition in `dir` (DATA/<topic>/0) and fixes its range now.
// Fails with Errc::not_found when `dir` holds no log. next() fails with
// Errc::corruption where the log is damaged within the ranges read, or skips
// such ranges with `options.skip_damaged`, and never ends before a range's end.
Result<std::unique_ptr<RecordSource>> open_source(const std::filesystem::path& dir,
                                                  ReaderOptions options = {});

}  // namespace questlog::log::embedded
