// A fixture for extract tests on a real embedded log: a scratch directory with
// the log in data/events/0 and the lake beside it, jobs run on them with their
// output captured, and a table's files listed.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "extract/extract.h"
#include "extract_test_util.h"
#include "log/embedded/log_writer.h"
#include "log_test_util.h"

namespace questlog::extract::test_util {

class ExtractLogFixture : public ::testing::Test {
 protected:
  ExtractLogFixture() : log_dir_(dir_.path() / "data" / "events" / "0") {}

  // Appends `values` to the log as one batch, each stamped `timestamp_ms`.
  void append(const std::vector<std::string>& values, int64_t timestamp_ms = 1532214012345) {
    log::embedded::WriterOptions wo;
    wo.dir = log_dir_;
    auto w = log::embedded::LogWriter::open(wo);
    ASSERT_TRUE(w.ok()) << w.status().message();
    std::vector<std::string_view> views(values.begin(), values.end());
    ASSERT_TRUE((*w)->append(views, timestamp_ms).ok());
  }

  // Runs the job `job_text` on the log into the lake (o.log_dir and o.lake replaced).
  test_util::Run run(const std::string& job_text, ExtractOptions o = {}) {
    o.log_dir = log_dir_;
    o.lake = lake();
    return run_captured(job_text, o);
  }

  std::filesystem::path lake() const { return dir_.path() / "lake"; }

  // The files under a table, relative to it ("event_type=x/part-...").
  std::set<std::string> files(const std::string& table) const {
    namespace fs = std::filesystem;
    std::set<std::string> out;
    const fs::path root = lake() / table;
    if (!fs::exists(root)) return out;
    for (auto& e : fs::recursive_directory_iterator(root))
      if (e.is_regular_file()) out.insert(fs::relative(e.path(), root).string());
    return out;
  }

  log::embedded::testing::TempDir dir_;
  std::filesystem::path log_dir_;
};

}  // namespace questlog::extract::test_util
