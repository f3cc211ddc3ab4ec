// The subcommands. Each returns the process exit code; errors are one line on stderr.
#pragma once

namespace questlog::cli {

int run(int argc, char** argv);

}  // namespace questlog::cli
