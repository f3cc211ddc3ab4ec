#include "cli/ls.h"

#include <fmt/format.h>

#include <cstdio>

#include "cli/fail.h"
#include "cli/lake_args.h"
#include "extract/lake.h"
#include "extract/lake_listing.h"

namespace questlog::cli {

void add_ls(CLI::App& app, LsArgs& a) {
  auto* c = app.add_subcommand(
      "ls", "List the tables in a lake (like hadoop fs -ls): rows, files, bytes, last write");
  c->add_option("lake", a.lake, kLakeHelp)->capture_default_str();
  c->add_option("-X", a.properties,
                "user.name=NAME: the HDFS user of a webhdfs:// lake (default: $HADOOP_USER_NAME, "
                "else the local user)");
}

int run_ls(const LsArgs& a) {
  std::vector<std::string> rest = a.properties;
  extract::LakeOptions options;
  if (Status s = take_webhdfs_user(rest, options.user); !s.ok()) return fail(s);
  if (!rest.empty())
    return fail(fmt::format("-X {}: ls takes only -X user.name=NAME", rest.front()));
  auto lake = extract::open_lake(a.lake, options);
  if (!lake.ok()) return fail(lake.status());
  auto tables = extract::list_tables(*lake->fs);
  if (!tables.ok()) return fail(tables.status());
  std::string out = extract::format_listing(
      *tables, [&](const std::string& path) { return lake->describe(path); });
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
  int status = 0;
  for (const extract::TableListing& t : *tables)
    for (const std::string& why : t.unreadable) status = fail(why);
  return status;
}

}  // namespace questlog::cli
