// Runs an extract job with its printed output and messages captured, for the
// extract tests (embedded log or an in-memory source, chosen by the options).
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "extract/extract.h"
#include "extract/job.h"

namespace questlog::extract::test_util {

struct Run {
  Status status;
  ExtractReport report;
  std::string out, err;  // what run_extract and print_report printed to `out` and `err`
};

// Parses `job_text` as a job file and runs it with `o` (out and err replaced).
inline Run run_captured(const std::string& job_text, ExtractOptions o) {
  Run r;
  auto job = parse_job(job_text, "jobs/test_job.toml");
  EXPECT_TRUE(job.ok()) << job.status().message();
  if (!job.ok()) return r;
  char* out_buf = nullptr;
  char* err_buf = nullptr;
  size_t out_size = 0, err_size = 0;
  o.out = open_memstream(&out_buf, &out_size);
  o.err = open_memstream(&err_buf, &err_size);
  auto report = run_extract(*job, o);
  if (report.ok()) print_report(*report, o.err);  // as the CLI prints it
  std::fclose(o.out);
  std::fclose(o.err);
  r.out.assign(out_buf, out_size);
  r.err.assign(err_buf, err_size);
  std::free(out_buf);
  std::free(err_buf);
  r.status = report.status();
  if (report.ok()) r.report = *report;
  return r;
}

}  // namespace questlog::extract::test_util
