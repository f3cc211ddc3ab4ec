// The FileSystem on HDFS, over WebHDFS (webhdfs_client.h), rooted at a
// directory of it: paths are relative to the root and may not contain "..".
// What HDFS lacks is done as follows:
//
// - Files written (OpenMode::truncate) are staged in an unnamed local
//   temporary file under `scratch` and uploaded whole by sync() (or close()
//   when there was no sync): one two-step CREATE with overwrite=true, retried
//   on a datanode failure. Nothing appears on HDFS before that, so a writer
//   that dies leaves nothing there. A file is "on disk" once sync() returns ok
//   in HDFS's sense: closed on the datanodes, its blocks complete.
//   OpenMode::read reads with OPEN (ranges); read_write and open_or_create are
//   not supported.
// - temp_file(): a local unnamed file under `scratch` (HDFS has no unnamed
//   files; these hold scratch data, such as spilled rows, read back at once).
// - create_dirs(): MKDIRS, once per directory: one it made (and has not
//   removed or renamed since) is not asked for again.
// - sync_dir(): nothing to do: the namenode has made an operation durable (in
//   its edit log) when it answers (dirs_need_sync() is false).
// - rename(): RENAME with renameoptions=OVERWRITE, which replaces a file or an
//   empty directory, as rename(2) does.
// - exchange(): HDFS cannot swap two names, so it is always the three renames
//   of io::FileSystem::exchange (b to "<a>.exchange", a to b, that to a).
//   Between the first two a reader finds nothing at b. atomic_exchange() says
//   so (false), and a table's overwrite takes two renames instead (table_dir.h).
// - lock(): no flock either. The lock is a directory; each process that wants
//   it makes an entry in it named for itself ("host=H,pid=P,start=S,token=T",
//   one MKDIRS), then lists it: the oldest entry (by inode id, which grows with
//   each creation) whose holder is alive holds the lock; a younger one removes
//   itself and gets Errc::busy naming the holder. A holder is dead when, on
//   this host, no process with its pid and start time runs, or, from another
//   host, when it has not renewed its entry's modification time (SETTIMES,
//   every lease / 4) for `lease` (Hadoop's own soft limit on a writer's lease is
//   the same 60 s); dead entries are removed by whoever finds them. Release
//   removes the entry. Every entry has a name of its own, so removing a dead
//   one can never remove a live one.
// - touch(): CREATE of an empty file (overwrite=true).
// - put_if_absent(): CREATE of a hidden file beside the target
//   (".<name>.<random>.tmp"), then RENAME without overwrite, which HDFS does
//   atomically or refuses (FileAlreadyExistsException: Errc::already_exists).
//   A writer that dies between the two leaves the hidden file behind.
// - list_status(): LISTSTATUS, which has sizes and times already.
// - list_files(): LISTSTATUS level by level, the directories of a level side
//   by side (a partitioned table's directories are each a round trip).
//
// Symbolic links: HDFS has them disabled unless configured; entries of type
// SYMLINK are reported as FileKind::symlink and never followed by questlog.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "io/file_system.h"
#include "io/webhdfs_client.h"
#include "io/webhdfs_uri.h"

namespace questlog::io {

struct WebHdfsFileSystemOptions {
  WebHdfsOptions client;
  std::filesystem::path scratch = std::filesystem::temp_directory_path();  // local
  std::chrono::seconds lease{60};
};

class WebHdfsFileSystem final : public FileSystem {
 public:
  // Rooted at `root` (its path is the root's; it need not exist yet).
  WebHdfsFileSystem(WebHdfsUri root, WebHdfsFileSystemOptions options);
  ~WebHdfsFileSystem() override;

  WebHdfsClient& client() { return client_; }
  const WebHdfsUri& root() const { return root_; }

  std::string describe(const std::filesystem::path& path) const override;
  Result<std::unique_ptr<File>> open(const std::filesystem::path& path, OpenMode mode) override;
  Result<std::unique_ptr<File>> temp_file(const std::filesystem::path& dir) override;
  Result<bool> create_dirs(const std::filesystem::path& dir) override;
  Status sync_dir(const std::filesystem::path& dir) override;
  Status rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  Status exchange(const std::filesystem::path& a, const std::filesystem::path& b) override;
  Status remove(const std::filesystem::path& path) override;
  Status remove_all(const std::filesystem::path& path) override;
  Result<std::optional<FileKind>> kind(const std::filesystem::path& path) override;
  Result<std::vector<DirEntry>> list(const std::filesystem::path& dir) override;
  Result<std::vector<FileStatus>> list_status(const std::filesystem::path& dir) override;
  Result<std::vector<std::filesystem::path>> list_files(const std::filesystem::path& dir) override;
  Result<std::unique_ptr<FileLock>> lock(const std::filesystem::path& path) override;
  Status touch(const std::filesystem::path& path) override;
  Status put_if_absent(const std::filesystem::path& path, std::string_view data) override;
  bool dirs_need_sync() const override { return false; }
  bool atomic_exchange() const override { return false; }

 private:
  // The absolute HDFS path of `path` (relative, no ".."), or why not.
  Result<std::string> absolute(const std::filesystem::path& path) const;
  // Directories this file system made or renamed into place, so that
  // create_dirs() need not ask again; forget() drops `path` and what is under it.
  bool known_dir(const std::string& path);
  void remember_dirs(const std::string& path);
  void forget(const std::string& path);

  WebHdfsUri root_;
  WebHdfsFileSystemOptions options_;
  WebHdfsClient client_;
  std::mutex dirs_mu_;
  std::set<std::string> known_dirs_;
};

}  // namespace questlog::io
