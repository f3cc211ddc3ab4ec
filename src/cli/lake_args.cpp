#include "cli/lake_args.h"

namespace questlog::cli {

Status take_webhdfs_user(std::vector<std::string>& properties, std::string& user) {
  static constexpr std::string_view kKey = "user.name=";
  std::vector<std::string> rest;
  for (std::string& p : properties) {
    if (p.rfind(kKey, 0) != 0) {
      rest.push_back(std::move(p));
      continue;
    }
    user = p.substr(kKey.size());
    if (user.empty()) return Status::error(Errc::invalid_argument, "-X user.name: an empty name");
  }
  properties = std::move(rest);
  return {};
}

}  // namespace questlog::cli
