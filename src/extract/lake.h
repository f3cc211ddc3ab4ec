// The lake: where extract writes its tables and `questlog ls` finds them. The
// user names it with --lake: a local directory (./lake by default) or a
// directory on HDFS, webhdfs://NAMENODE:HTTP_PORT/PATH (io/webhdfs_uri.h).
//
// Either way the tables are the same (table_dir.h): part files and _SUCCESS,
// published from <lake>/.staging. A local lake is a rooted PosixFileSystem
// that follows no link beneath it (TableDir::lake_file_system); an HDFS one is
// an io::WebHdfsFileSystem, whose files are staged locally under $TMPDIR
// before their upload.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "io/file_system.h"
#include "util/status.h"

namespace questlog::extract {

struct LakeOptions {
  // WebHDFS's user.name. Empty: $HADOOP_USER_NAME when set (as Hadoop's own
  // client), else the user running questlog.
  std::string user;
  // Lines worth telling the user (a datanode retried), for stderr.
  std::function<void(const std::string&)> note;
};

struct Lake {
  std::unique_ptr<io::FileSystem> fs;
  std::string location;  // as the user gave it
  bool hdfs = false;

  // A path under the lake as reports name it: "lake/sword_purchases",
  // "webhdfs://nn:9870/tmp/sword_purchases".
  std::string describe(const std::string& relative) const;
};

// Opens the lake named by `location` (nothing is read or written yet). A URI
// other than webhdfs:// is refused with one line (hdfs:// says to use the
// namenode's HTTP address).
Result<Lake> open_lake(const std::string& location, const LakeOptions& options = {});

// The user WebHDFS requests name when LakeOptions::user is empty.
std::string default_hdfs_user();

}  // namespace questlog::extract
