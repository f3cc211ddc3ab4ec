#include "extract/lake.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "extract/table_dir.h"
#include "io/webhdfs_file_system.h"
#include "io/webhdfs_uri.h"

namespace questlog::extract {

std::string Lake::describe(const std::string& relative) const {
  if (hdfs) return fs->describe(relative);
  return (std::filesystem::path(location) / relative).lexically_normal().string();
}

std::string default_hdfs_user() {
  if (const char* u = std::getenv("HADOOP_USER_NAME"); u != nullptr && *u != '\0') return u;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr)
    return pw->pw_name;
  if (const char* u = std::getenv("USER"); u != nullptr && *u != '\0') return u;
  return "questlog";
}

Result<Lake> open_lake(const std::string& location, const LakeOptions& options) {
  Lake lake;
  lake.location = location;
  if (!io::is_uri(location)) {
    lake.fs = TableDir::lake_file_system(location);
    return lake;
  }
  auto uri = io::parse_webhdfs_uri(location);
  if (!uri.ok()) return uri.status();
  io::WebHdfsFileSystemOptions o;
  o.client.user = options.user.empty() ? default_hdfs_user() : options.user;
  o.client.note = options.note;
  std::error_code ec;
  o.scratch = std::filesystem::temp_directory_path(ec);
  if (ec) o.scratch = "/tmp";
  lake.fs = std::make_unique<io::WebHdfsFileSystem>(std::move(uri).value(), std::move(o));
  lake.hdfs = true;
  return lake;
}

}  // namespace questlog::extract
