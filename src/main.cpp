// questlog: subcommand dispatch only.
#include "cli/commands.h"

int main(int argc, char** argv) { return questlog::cli::run(argc, argv); }
