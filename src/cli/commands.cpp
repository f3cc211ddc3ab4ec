#include "cli/commands.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "cli/extract.h"
#include "cli/ls.h"
#include "cli/serve.h"
#include "cli/tail.h"
#include "io/file_system.h"
#include "util/say.h"

namespace questlog::cli {

int run(int argc, char** argv) {
  if (Status s = io::open_standard_streams(); !s.ok()) return 1;  // nowhere to say it
  CLI::App app{"questlog: game events from HTTP to a durable log to Parquet", "questlog"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "questlog 0.1.0");

  ServeArgs serve_args;
  add_serve(app, serve_args);
  TailArgs tail_args;
  add_tail(app, tail_args);
  ExtractArgs extract_args;
  add_extract(app, extract_args);
  LsArgs ls_args;
  add_ls(app, ls_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    say(stderr, "questlog: {} (see questlog --help)\n", e.what());
    return 2;
  }
  if (app.got_subcommand("serve")) return run_serve(serve_args);
  if (app.got_subcommand("tail")) return run_tail(tail_args);
  if (app.got_subcommand("extract")) return run_extract(extract_args);
  if (app.got_subcommand("ls")) return run_ls(ls_args);
  return 2;
}

}  // namespace questlog::cli
