#include "cli/commands.h"

#include <cstdio>

namespace questlog::cli {

int run(int, char**) {
  std::fputs("questlog: not built yet\n", stderr);
  return 1;
}

}  // namespace questlog::cli
