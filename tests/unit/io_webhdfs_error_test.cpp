// What HDFS says when a WebHDFS operation fails, as questlog reports it: the
// RemoteException's class and message on one line, and the Errc it maps to.
#include <gtest/gtest.h>

#include "io/webhdfs_error.h"

namespace questlog::io {
namespace {

TEST(WebHdfsErrorTest, DecodesARemoteException) {
  auto e = parse_remote_exception(R"({"RemoteException":{"exception":"AccessControlException",
    "javaClassName":"org.apache.hadoop.security.AccessControlException",
    "message":"Permission denied: user=bob, access=WRITE, inode=\"/tmp/t\":root:supergroup:drwxr-xr-x"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->exception, "AccessControlException");
  EXPECT_EQ(e->java_class, "org.apache.hadoop.security.AccessControlException");
  EXPECT_EQ(
      e->message,
      "Permission denied: user=bob, access=WRITE, inode=\"/tmp/t\":root:supergroup:drwxr-xr-x");
  EXPECT_EQ(describe_failure(403, e, ""),
            "AccessControlException: Permission denied: user=bob, access=WRITE, "
            "inode=\"/tmp/t\":root:supergroup:drwxr-xr-x");
  EXPECT_EQ(errc_for(*e), Errc::io_error);
  EXPECT_FALSE(retryable(*e));
}

TEST(WebHdfsErrorTest, ADatanodesStackTraceIsDroppedAndLinesJoined) {
  auto e = parse_remote_exception(
      R"({"RemoteException":{"exception":"FileAlreadyExistsException","javaClassName":"org.apache.hadoop.fs.FileAlreadyExistsException","message":"/tmp/t/lockf for client 127.0.0.1 already exists\n\tat org.apache.hadoop.hdfs.server.namenode.FSDirWriteFileOp.startFile(FSDirWriteFileOp.java:391)\n\tat org.apache.hadoop.ipc.Server$Handler.work(Server.java:3279)\n"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(describe_failure(403, e, ""),
            "FileAlreadyExistsException: /tmp/t/lockf for client 127.0.0.1 already exists");
  EXPECT_EQ(errc_for(*e), Errc::already_exists);

  // Safe mode's advice is on a second line: kept, on the same line.
  auto safe = parse_remote_exception(
      R"({"RemoteException":{"exception":"SafeModeException","javaClassName":"org.apache.hadoop.hdfs.server.namenode.SafeModeException","message":"Cannot create directory /tmp/t/sm. Name node is in safe mode.\nIt was turned on manually. Use \"hdfs dfsadmin -safemode leave\" to turn safe mode off. NamenodeHostName:localhost"}})");
  ASSERT_TRUE(safe);
  EXPECT_EQ(describe_failure(403, safe, ""),
            "SafeModeException: Cannot create directory /tmp/t/sm. Name node is in safe mode. It "
            "was turned on manually. Use \"hdfs dfsadmin -safemode leave\" to turn safe mode off. "
            "NamenodeHostName:localhost");
  EXPECT_FALSE(retryable(*safe));
}

TEST(WebHdfsErrorTest, ExceptionsMapToErrcs) {
  auto make = [](const char* x) { return RemoteException{x, "", "m"}; };
  EXPECT_EQ(errc_for(make("FileNotFoundException")), Errc::not_found);
  EXPECT_EQ(errc_for(make("FileAlreadyExistsException")), Errc::already_exists);
  EXPECT_EQ(errc_for(make("AlreadyBeingCreatedException")), Errc::busy);
  EXPECT_EQ(errc_for(make("IllegalArgumentException")), Errc::invalid_argument);
  EXPECT_EQ(errc_for(make("IOException")), Errc::io_error);
  EXPECT_TRUE(retryable(make("IOException")));
  EXPECT_TRUE(retryable(make("AlreadyBeingCreatedException")));
  EXPECT_FALSE(retryable(make("DSQuotaExceededException")));
  EXPECT_FALSE(retryable(make("FileNotFoundException")));
}

TEST(WebHdfsErrorTest, TheExceptionNameComesFromTheJavaClassWhenMissing) {
  auto e = parse_remote_exception(
      R"({"RemoteException":{"javaClassName":"java.io.FileNotFoundException","message":"File does not exist: /x"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->exception, "FileNotFoundException");
  EXPECT_EQ(errc_for(*e), Errc::not_found);
}

TEST(WebHdfsErrorTest, BodiesWithoutARemoteExceptionAreShownAsTheyAre) {
  EXPECT_FALSE(parse_remote_exception(""));
  EXPECT_FALSE(parse_remote_exception("<html><body>502 Bad Gateway</body></html>"));
  EXPECT_FALSE(parse_remote_exception(R"({"boolean":false})"));
  EXPECT_FALSE(parse_remote_exception(R"({"RemoteException":"oops"})"));
  EXPECT_EQ(describe_failure(502, std::nullopt, "<html>\n<body>502 Bad Gateway</body>\n</html>"),
            "HTTP 502: <html> <body>502 Bad Gateway</body> </html>");
  EXPECT_EQ(describe_failure(500, std::nullopt, ""), "HTTP 500");
}

TEST(WebHdfsErrorTest, OneLineKeepsNoControlCharacters) {
  EXPECT_EQ(one_line("  a\r\n\n  b\tc \x01 d  "), "a b c ? d");
  EXPECT_EQ(one_line("first\n\tat x.y(Z.java:1)\n\tat more"), "first");
}

}  // namespace
}  // namespace questlog::io
