// PosixFileSystem: files, directories, locks, and a root that keeps every path
// beneath it without following a symbolic link.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>

#include "io/posix_file_system.h"
#include "log_test_util.h"

namespace questlog::io {
namespace {

namespace stdfs = std::filesystem;
using log::embedded::testing::TempDir;

void write_file(const stdfs::path& p, const std::string& content) {
  stdfs::create_directories(p.parent_path());
  std::ofstream(p) << content;
}

std::string read_file(const stdfs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Everything under `dir`, links not followed: "a/b" -> content, "dir" or "link -> target".
std::map<std::string, std::string> snapshot(const stdfs::path& dir) {
  std::map<std::string, std::string> out;
  for (auto it = stdfs::recursive_directory_iterator(dir); it != stdfs::end(it); ++it) {
    std::string rel = stdfs::relative(it->path(), dir).string();
    if (it->is_symlink())
      out[rel] = "link -> " + stdfs::read_symlink(it->path()).string();
    else if (it->is_directory())
      out[rel] = "dir";
    else
      out[rel] = read_file(it->path());
  }
  return out;
}

std::string contents(File& f) {
  auto size = f.size();
  EXPECT_TRUE(size.ok());
  std::string s(size.ok() ? *size : 0, '\0');
  auto n = f.read_at(0, s.data(), s.size());
  EXPECT_TRUE(n.ok());
  return s;
}

TEST(IoPosixFileTest, WritesAtPositionsAppendsAndReadsBack) {
  TempDir dir;
  FileSystem& fs = local_file_system();
  auto f = fs.open(dir.path() / "f", OpenMode::truncate);
  ASSERT_TRUE(f.ok()) << f.status().message();
  File& file = **f;
  EXPECT_EQ(file.name(), (dir.path() / "f").string());
  ASSERT_TRUE(file.append("hello").ok());
  ASSERT_TRUE(file.append(" world").ok());
  EXPECT_EQ(file.append_position(), 11u);
  ASSERT_TRUE(file.write_at(0, "J").ok());
  EXPECT_EQ(contents(file), "Jello world");

  char buf[16];
  auto n = file.read_at(6, buf, sizeof buf);  // fewer only at the end
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "world");
  ASSERT_TRUE(file.truncate(5).ok());
  EXPECT_EQ(contents(file), "Jello");
  ASSERT_TRUE(file.sync().ok());
  ASSERT_TRUE(file.close().ok());
  Status after = file.sync();
  EXPECT_EQ(after.code(), Errc::io_error);
  EXPECT_NE(after.message().find((dir.path() / "f").string()), std::string::npos);
}

TEST(IoPosixFileTest, OpenModes) {
  TempDir dir;
  FileSystem& fs = local_file_system();
  const stdfs::path p = dir.path() / "f";
  auto missing = fs.open(p, OpenMode::read);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Errc::not_found);
  EXPECT_EQ(missing.status().message(), p.string() + ": No such file or directory");

  write_file(p, "kept");
  auto kept = fs.open(p, OpenMode::open_or_create);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ((*kept)->append_position(), 4u);  // appends go after what is there
  ASSERT_TRUE((*kept)->append("!").ok());
  EXPECT_EQ(read_file(p), "kept!");

  auto emptied = fs.open(p, OpenMode::truncate);
  ASSERT_TRUE(emptied.ok());
  EXPECT_EQ(read_file(p), "");

  auto ro = fs.open(p, OpenMode::read);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ((*ro)->write_at(0, "x").code(), Errc::io_error);  // not open for writing
}

TEST(IoPosixFileTest, ReadFileReadsAWholeFileOfAnySize) {
  TempDir dir;
  std::string big(200'000, '\0');  // several of read_file's chunks, not a whole number
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  write_file(dir.path() / "big", big);
  write_file(dir.path() / "empty", "");
  auto got = io::read_file(local_file_system(), dir.path() / "big");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, big);
  auto empty = io::read_file(local_file_system(), dir.path() / "empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
  auto missing = io::read_file(local_file_system(), dir.path() / "none.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Errc::not_found);
  EXPECT_EQ(missing.status().message(),
            (dir.path() / "none.toml").string() + ": No such file or directory");
  auto directory = io::read_file(local_file_system(), dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), Errc::io_error);
}

TEST(IoPosixFileSystemTest, CreateDirsSaysWhetherItCreatedAnything) {
  TempDir dir;
  FileSystem& fs = local_file_system();
  auto made = fs.create_dirs(dir.path() / "a" / "b" / "c");
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_TRUE(*made);
  EXPECT_TRUE(stdfs::is_directory(dir.path() / "a" / "b" / "c"));
  auto again = fs.create_dirs(dir.path() / "a" / "b" / "c");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);

  write_file(dir.path() / "file", "");
  auto blocked = fs.create_dirs(dir.path() / "file" / "sub");
  ASSERT_FALSE(blocked.ok());
  EXPECT_NE(blocked.status().message().find("file"), std::string::npos);
}

TEST(IoPosixFileSystemTest, RenameRemoveAndKinds) {
  TempDir dir;
  FileSystem& fs = local_file_system();
  write_file(dir.path() / "a", "A");
  ASSERT_TRUE(fs.rename(dir.path() / "a", dir.path() / "b").ok());
  EXPECT_EQ(read_file(dir.path() / "b"), "A");
  EXPECT_EQ(fs.rename(dir.path() / "a", dir.path() / "c").code(), Errc::not_found);

  auto k = fs.kind(dir.path() / "b");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, FileKind::regular);
  EXPECT_EQ(*fs.kind(dir.path()), FileKind::directory);
  EXPECT_FALSE(fs.kind(dir.path() / "nothing")->has_value());

  ASSERT_TRUE(fs.remove(dir.path() / "b").ok());
  EXPECT_FALSE(stdfs::exists(dir.path() / "b"));
  stdfs::create_directory(dir.path() / "empty");
  ASSERT_TRUE(fs.remove(dir.path() / "empty").ok());
  EXPECT_EQ(fs.remove(dir.path() / "empty").code(), Errc::not_found);
}

void check_exchange(FileSystem& fs, const stdfs::path& root, const stdfs::path& a,
                    const stdfs::path& b) {
  write_file(root / a / "x", "from a");
  write_file(root / b / "y", "from b");
  ASSERT_TRUE(fs.exchange(a, b).ok());
  EXPECT_EQ(snapshot(root / a), (std::map<std::string, std::string>{{"y", "from b"}}));
  EXPECT_EQ(snapshot(root / b), (std::map<std::string, std::string>{{"x", "from a"}}));
  EXPECT_FALSE(stdfs::exists(root / (a.string() + ".exchange")));

  Status missing = fs.exchange(a, "nothing");
  EXPECT_EQ(missing.code(), Errc::not_found) << missing.message();
  EXPECT_EQ(snapshot(root / a), (std::map<std::string, std::string>{{"y", "from b"}}));
  missing = fs.exchange("nothing", a);
  EXPECT_EQ(missing.code(), Errc::not_found) << missing.message();
  EXPECT_EQ(snapshot(root / a), (std::map<std::string, std::string>{{"y", "from b"}}));
  EXPECT_FALSE(stdfs::exists(root / "nothing.exchange"));
}

TEST(IoPosixFileSystemTest, ExchangeSwapsTwoDirectories) {
  TempDir dir;
  PosixFileSystem fs(dir.path(), {});
  check_exchange(fs, dir.path(), "s/a", "b");
}

TEST(IoPosixFileSystemTest, ExchangeWithoutRenameExchangeSwapsByThreeRenames) {
  TempDir dir;
  PosixOptions o;
  o.rename_exchange = false;
  PosixFileSystem fs(dir.path(), o);
  check_exchange(fs, dir.path(), "s/a", "b");
}

TEST(IoPosixFileSystemTest, ListGivesKindsSortedAndListFilesWalksWithoutLinks) {
  TempDir dir;
  PosixFileSystem fs(dir.path(), {});
  write_file(dir.path() / "t" / "b", "");
  write_file(dir.path() / "t" / "a" / "x=1" / "part", "");
  write_file(dir.path() / "elsewhere" / "secret", "");
  stdfs::create_symlink(dir.path() / "elsewhere", dir.path() / "t" / "c");
  stdfs::create_symlink(dir.path() / "elsewhere" / "secret", dir.path() / "t" / "d");
  auto entries = fs.list("t");
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  EXPECT_EQ(*entries, (std::vector<DirEntry>{{"a", FileKind::directory},
                                             {"b", FileKind::regular},
                                             {"c", FileKind::symlink},
                                             {"d", FileKind::symlink}}));
  auto files = fs.list_files("t");
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, (std::vector<stdfs::path>{"a/x=1/part", "b"}));
  EXPECT_EQ(fs.list("nothing").status().code(), Errc::not_found);
}

TEST(IoPosixFileSystemTest, ListStatusGivesSizesAndTimesOfTheEntriesThemselves) {
  TempDir dir;
  PosixFileSystem fs(dir.path(), {});
  write_file(dir.path() / "t" / "b", "12345");
  write_file(dir.path() / "t" / "a" / "x", "");
  stdfs::create_symlink(dir.path() / "t" / "b", dir.path() / "t" / "c");
  struct timespec times[2] = {{0, UTIME_OMIT}, {1700000000, 250000000}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir.path() / "t" / "b").c_str(), times, 0), 0);
  auto entries = fs.list_status("t");
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].name, "a");
  EXPECT_EQ((*entries)[0].kind, FileKind::directory);
  EXPECT_EQ((*entries)[1].name, "b");
  EXPECT_EQ((*entries)[1].kind, FileKind::regular);
  EXPECT_EQ((*entries)[1].size, 5u);
  EXPECT_EQ((*entries)[1].modified_ms, 1700000000250);
  EXPECT_EQ((*entries)[2].name, "c");
  EXPECT_EQ((*entries)[2].kind, FileKind::symlink);  // the link, not its target
  EXPECT_NE((*entries)[2].modified_ms, 1700000000250);
  EXPECT_EQ(fs.list_status("nothing").status().code(), Errc::not_found);
}

TEST(IoPosixFileSystemTest, RemoveAllRemovesLinksNotWhatTheyPointTo) {
  TempDir dir;
  PosixFileSystem fs(dir.path(), {});  // not even `beneath` follows links here
  write_file(dir.path() / "outside" / "keep", "precious");
  write_file(dir.path() / "t" / "sub" / "f", "");
  stdfs::create_symlink(dir.path() / "outside", dir.path() / "t" / "sub" / "link");
  ASSERT_TRUE(fs.remove_all("t").ok());
  EXPECT_FALSE(stdfs::exists(dir.path() / "t"));
  EXPECT_EQ(read_file(dir.path() / "outside" / "keep"), "precious");
  EXPECT_TRUE(fs.remove_all("t").ok());  // missing: fine
}

TEST(IoPosixFileSystemTest, LockIsExclusiveAndNamesItsHolder) {
  TempDir dir;
  FileSystem& fs = local_file_system();
  const stdfs::path p = dir.path() / "x.lock";
  auto first = fs.lock(p);
  ASSERT_TRUE(first.ok()) << first.status().message();
  std::string pid = std::to_string(::getpid());
  EXPECT_EQ(read_file(p), pid + std::string(22 - pid.size(), ' ') + "\n");
  auto second = fs.lock(p);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Errc::busy);
  EXPECT_EQ(second.status().message(),
            p.string() + ": held by another process (pid " + std::to_string(::getpid()) + ")");
  first.value().reset();
  EXPECT_TRUE(fs.lock(p).ok());
}

TEST(IoPosixFileSystemTest, TouchEmptiesAndRefreshesTheTime) {
  TempDir dir;
  FileSystem& fs = local_file_system();
  const stdfs::path p = dir.path() / "_SUCCESS";
  write_file(p, "old");
  stdfs::last_write_time(p, stdfs::file_time_type::clock::now() - std::chrono::hours(24));
  ASSERT_TRUE(fs.touch(p).ok());
  EXPECT_EQ(read_file(p), "");
  EXPECT_GT(stdfs::last_write_time(p),
            stdfs::file_time_type::clock::now() - std::chrono::minutes(5));
}

TEST(IoPosixFileSystemTest, TempFileLeavesNoName) {
  TempDir dir;
  PosixFileSystem fs(dir.path(), {});
  ASSERT_TRUE(fs.create_dirs("spill").ok());
  auto f = fs.temp_file("spill");
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_TRUE((*f)->write_at(0, "rows").ok());
  EXPECT_EQ(contents(**f), "rows");
  EXPECT_TRUE(stdfs::is_empty(dir.path() / "spill"));
  EXPECT_EQ(fs.temp_file("missing").status().code(), Errc::not_found);
}

TEST(IoRootedFileSystemTest, PathsAreRelativeToTheRootAndStayInIt) {
  TempDir dir;
  PosixFileSystem fs(dir.path() / "root", {});
  stdfs::create_directories(dir.path() / "root");
  EXPECT_EQ(fs.describe("a/b"), (dir.path() / "root" / "a" / "b").string());
  EXPECT_EQ(fs.describe(""), (dir.path() / "root").string());
  ASSERT_TRUE(fs.touch("f").ok());
  EXPECT_TRUE(stdfs::exists(dir.path() / "root" / "f"));

  for (const char* outside : {"../x", "a/../../x", "/etc/passwd"}) {
    auto k = fs.kind(outside);
    ASSERT_FALSE(k.ok()) << outside;
    EXPECT_EQ(k.status().code(), Errc::invalid_argument);
    EXPECT_NE(k.status().message().find("not a path beneath"), std::string::npos);
  }
  EXPECT_EQ(fs.touch("../x").code(), Errc::invalid_argument);
  EXPECT_FALSE(stdfs::exists(dir.path() / "x"));
}

TEST(IoRootedFileSystemTest, TheRootIsCreatedOnlyByAWrite) {
  TempDir dir;
  const stdfs::path root = dir.path() / "new" / "lake";
  PosixOptions o;
  o.create_root = true;
  PosixFileSystem fs(root, o);
  auto k = fs.kind("t");
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_FALSE(k->has_value());
  EXPECT_TRUE(fs.remove_all("t").ok());
  EXPECT_FALSE(stdfs::exists(dir.path() / "new"));  // reading and removing create nothing
  ASSERT_TRUE(fs.create_dirs(".staging").ok());
  EXPECT_TRUE(stdfs::is_directory(root / ".staging"));

  PosixFileSystem plain(dir.path() / "missing", {});
  EXPECT_EQ(plain.create_dirs("a").status().code(), Errc::not_found);
}

TEST(IoRootedFileSystemTest, TheRootItselfMayBeALink) {
  TempDir dir;
  stdfs::create_directories(dir.path() / "real");
  stdfs::create_directory_symlink(dir.path() / "real", dir.path() / "lake");
  PosixOptions o;
  o.beneath = true;
  PosixFileSystem fs(dir.path() / "lake", o);
  ASSERT_TRUE(fs.create_dirs("t").ok());
  ASSERT_TRUE(fs.touch("t/_SUCCESS").ok());
  EXPECT_TRUE(stdfs::exists(dir.path() / "real" / "t" / "_SUCCESS"));
}

// A lake with a link in it, and a directory outside that must stay as it is.
class IoBeneathTest : public ::testing::Test {
 protected:
  IoBeneathTest() : fs_(dir_.path() / "lake", options()) {
    write_file(outside() / "f", "outside");
    write_file(outside() / "d" / "g", "outside too");
    write_file(lake() / "mine" / "h", "in the lake");
    stdfs::create_directory_symlink(outside(), lake() / "evil");
    stdfs::create_symlink(outside() / "f", lake() / "file_link");
    stdfs::create_symlink(outside() / "new", lake() / "dangling");
    write_file(lake() / ".staging" / "t" / "placeholder", "");
    stdfs::create_directory_symlink(outside(), lake() / ".staging" / "t" / "overwrite-1");
    before_ = snapshot(outside());
  }
  ~IoBeneathTest() override { EXPECT_EQ(snapshot(outside()), before_) << "outside was touched"; }

  static PosixOptions options() {
    PosixOptions o;
    o.beneath = true;
    o.link_refusal = "not followed";
    return o;
  }
  stdfs::path lake() const { return dir_.path() / "lake"; }
  stdfs::path outside() const { return dir_.path() / "outside"; }

  // `s` is the refusal naming `link` (for a path under it, `path` first).
  void expect_refused(const Status& s, const std::string& path, const std::string& link) {
    EXPECT_EQ(s.code(), Errc::invalid_argument) << s.message();
    std::string head = path == link ? "" : (lake() / path).string() + ": ";
    EXPECT_EQ(s.message(), head + (lake() / link).string() + " is a symbolic link; not followed");
  }

  TempDir dir_;
  PosixFileSystem fs_;
  std::map<std::string, std::string> before_;
};

TEST_F(IoBeneathTest, ALinkInTheMiddleOfAPathIsRefusedByEveryOperation) {
  expect_refused(fs_.open("evil/f", OpenMode::read).status(), "evil/f", "evil");
  expect_refused(fs_.open("evil/new", OpenMode::truncate).status(), "evil/new", "evil");
  expect_refused(fs_.create_dirs("evil/sub").status(), "evil/sub", "evil");
  expect_refused(fs_.create_dirs("evil/d/sub").status(), "evil/d/sub", "evil");
  expect_refused(fs_.rename("mine/h", "evil/h"), "evil/h", "evil");
  expect_refused(fs_.rename("evil/f", "mine/f"), "evil/f", "evil");
  expect_refused(fs_.exchange("mine", "evil/d"), "evil/d", "evil");
  expect_refused(fs_.exchange("evil/d", "mine"), "evil/d", "evil");
  expect_refused(fs_.remove("evil/f"), "evil/f", "evil");
  expect_refused(fs_.remove_all("evil/d"), "evil/d", "evil");
  expect_refused(fs_.kind("evil/f").status(), "evil/f", "evil");
  expect_refused(fs_.list("evil/d").status(), "evil/d", "evil");
  expect_refused(fs_.list_status("evil/d").status(), "evil/d", "evil");
  expect_refused(fs_.list_files("evil/d").status(), "evil/d", "evil");
  expect_refused(fs_.lock("evil/x.lock").status(), "evil/x.lock", "evil");
  expect_refused(fs_.touch("evil/d/_SUCCESS"), "evil/d/_SUCCESS", "evil");
  expect_refused(fs_.temp_file("evil").status(), "evil", "evil");
  expect_refused(fs_.sync_dir("evil/d"), "evil/d", "evil");
  EXPECT_EQ(snapshot(lake() / "mine"), (std::map<std::string, std::string>{{"h", "in the lake"}}));
}

TEST_F(IoBeneathTest, ALinkAsTheLastComponentIsNeverFollowed) {
  expect_refused(fs_.open("file_link", OpenMode::read).status(), "file_link", "file_link");
  expect_refused(fs_.open("file_link", OpenMode::truncate).status(), "file_link", "file_link");
  expect_refused(fs_.open("dangling", OpenMode::open_or_create).status(), "dangling", "dangling");
  expect_refused(fs_.touch("file_link"), "file_link", "file_link");
  expect_refused(fs_.create_dirs("evil").status(), "evil", "evil");
  expect_refused(fs_.list("evil").status(), "evil", "evil");
  expect_refused(fs_.list_files("evil").status(), "evil", "evil");
  expect_refused(fs_.kind("evil").status(), "evil", "evil");
  expect_refused(fs_.sync_dir("evil"), "evil", "evil");
  EXPECT_FALSE(stdfs::exists(outside() / "new"));

  // Entry operations act on the link itself.
  auto entries = fs_.list("");
  ASSERT_TRUE(entries.ok());
  EXPECT_NE(std::find(entries->begin(), entries->end(), DirEntry{"evil", FileKind::symlink}),
            entries->end());
  ASSERT_TRUE(fs_.rename("evil", "moved").ok());
  EXPECT_TRUE(stdfs::is_symlink(lake() / "moved"));
  ASSERT_TRUE(fs_.exchange("moved", "mine").ok());
  EXPECT_TRUE(stdfs::is_symlink(lake() / "mine"));
  EXPECT_EQ(read_file(lake() / "moved" / "h"), "in the lake");
  ASSERT_TRUE(fs_.remove("mine").ok());
  ASSERT_TRUE(fs_.remove_all("file_link").ok());
  EXPECT_FALSE(stdfs::is_symlink(lake() / "mine"));
  EXPECT_FALSE(stdfs::is_symlink(lake() / "file_link"));
}

TEST_F(IoBeneathTest, ALinkPlantedInStagingIsRemovedAsALink) {
  auto files = fs_.list_files(".staging");
  ASSERT_TRUE(files.ok()) << files.status().message();
  EXPECT_EQ(*files, (std::vector<stdfs::path>{"t/placeholder"}));  // outside's files not listed
  ASSERT_TRUE(fs_.remove_all(".staging").ok());
  EXPECT_FALSE(stdfs::exists(lake() / ".staging"));
}

TEST_F(IoBeneathTest, ARootLinkInStagingIsRefused) {
  stdfs::remove_all(lake() / ".staging");
  stdfs::create_directory_symlink(outside(), lake() / ".staging");
  expect_refused(fs_.create_dirs(".staging/t/run").status(), ".staging/t/run", ".staging");
  expect_refused(fs_.list(".staging").status(), ".staging", ".staging");
  expect_refused(fs_.temp_file(".staging").status(), ".staging", ".staging");
  ASSERT_TRUE(fs_.remove_all(".staging").ok());  // the link goes, the target stays
  EXPECT_FALSE(stdfs::is_symlink(lake() / ".staging"));
}

TEST(IoUnrootedFileSystemTest, FollowsLinksAsTheProcessDoes) {
  TempDir dir;
  write_file(dir.path() / "real" / "f", "through the link");
  stdfs::create_directory_symlink(dir.path() / "real", dir.path() / "link");
  FileSystem& fs = local_file_system();
  auto f = fs.open(dir.path() / "link" / "f", OpenMode::read);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(contents(**f), "through the link");
  EXPECT_EQ(*fs.kind(dir.path() / "link"), FileKind::directory);
  ASSERT_TRUE(fs.create_dirs(dir.path() / "link" / "sub").ok());
  EXPECT_TRUE(stdfs::is_directory(dir.path() / "real" / "sub"));
}

}  // namespace
}  // namespace questlog::io
