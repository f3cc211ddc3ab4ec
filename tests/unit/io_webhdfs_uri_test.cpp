// webhdfs:// URIs as --lake and `questlog ls` take them, and the ones refused.
#include <gtest/gtest.h>

#include "io/webhdfs_uri.h"

namespace questlog::io {
namespace {

WebHdfsUri ok(std::string_view uri) {
  auto r = parse_webhdfs_uri(uri);
  EXPECT_TRUE(r.ok()) << uri << ": " << r.status().message();
  return r.ok() ? *r : WebHdfsUri{};
}

std::string refused(std::string_view uri) {
  auto r = parse_webhdfs_uri(uri);
  EXPECT_FALSE(r.ok()) << uri;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Errc::invalid_argument);
  EXPECT_EQ(r.status().message().rfind(std::string(uri) + ": ", 0), 0u) << r.status().message();
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
  return r.status().message();
}

TEST(WebHdfsUriTest, HostPortAndPath) {
  EXPECT_EQ(ok("webhdfs://127.0.0.1:9870/tmp"), (WebHdfsUri{"127.0.0.1", 9870, "/tmp"}));
  EXPECT_EQ(ok("webhdfs://namenode.example.com:50070/user/alice/lake"),
            (WebHdfsUri{"namenode.example.com", 50070, "/user/alice/lake"}));
  EXPECT_EQ(ok("WebHDFS://nn-1:1/a"), (WebHdfsUri{"nn-1", 1, "/a"}));
}

TEST(WebHdfsUriTest, ThePortDefaultsToHadoops9870) {
  EXPECT_EQ(ok("webhdfs://nn/tmp"), (WebHdfsUri{"nn", 9870, "/tmp"}));
  EXPECT_EQ(ok("webhdfs://nn/tmp").str(), "webhdfs://nn:9870/tmp");
}

TEST(WebHdfsUriTest, NoPathIsTheRoot) {
  EXPECT_EQ(ok("webhdfs://nn:9870").path, "/");
  EXPECT_EQ(ok("webhdfs://nn:9870/").path, "/");
  EXPECT_EQ(ok("webhdfs://nn:9870/").str(), "webhdfs://nn:9870/");
}

TEST(WebHdfsUriTest, PathsAreNormalisedAndPercentDecoded) {
  EXPECT_EQ(ok("webhdfs://nn:9870//tmp/./lake//").path, "/tmp/lake");
  EXPECT_EQ(ok("webhdfs://nn:9870/tmp/my%20lake/%25x").path, "/tmp/my lake/%x");
  EXPECT_EQ(ok("webhdfs://nn:9870/tmp/my%20lake").str(), "webhdfs://nn:9870/tmp/my%20lake");
}

TEST(WebHdfsUriTest, IPv6HostsAreBracketed) {
  WebHdfsUri u = ok("webhdfs://[::1]:9870/tmp");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.authority(), "[::1]:9870");
  EXPECT_EQ(ok("webhdfs://[::1]/tmp").port, 9870);
}

TEST(WebHdfsUriTest, HdfsSchemeSaysToUseTheHttpAddress) {
  std::string m = refused("hdfs://127.0.0.1:8020/tmp");
  EXPECT_NE(m.find("use webhdfs://127.0.0.1:9870/tmp"), std::string::npos) << m;
  EXPECT_NE(m.find("HTTP port"), std::string::npos) << m;
  EXPECT_NE(refused("hdfs://nn/x").find("webhdfs://nn:9870/x"), std::string::npos);
}

TEST(WebHdfsUriTest, OtherSchemesAndMalformedUrisAreRefused) {
  EXPECT_NE(refused("s3://bucket/lake").find("unknown scheme s3://"), std::string::npos);
  EXPECT_NE(refused("swebhdfs://nn:9871/tmp").find("not supported"), std::string::npos);
  EXPECT_NE(refused("webhdfs:///tmp").find("no namenode host"), std::string::npos);
  EXPECT_NE(refused("webhdfs://:9870/tmp").find("no namenode host"), std::string::npos);
  EXPECT_NE(refused("webhdfs://nn:http/tmp").find("'http' is not a port"), std::string::npos);
  EXPECT_NE(refused("webhdfs://nn:0/tmp").find("not a port"), std::string::npos);
  EXPECT_NE(refused("webhdfs://nn:65536/tmp").find("not a port"), std::string::npos);
  EXPECT_NE(refused("webhdfs://nn:/tmp").find("an empty port"), std::string::npos);
  EXPECT_NE(refused("webhdfs://alice@nn:9870/tmp").find("user.name"), std::string::npos);
  EXPECT_NE(refused("webhdfs://nn:9870/tmp/../etc").find("'..'"), std::string::npos);
  EXPECT_NE(refused("webhdfs://nn:9870/tmp?op=DELETE").find("query"), std::string::npos);
  EXPECT_NE(refused("webhdfs://nn:9870/tmp%2").find("'%'"), std::string::npos);
  EXPECT_NE(refused("webhdfs://nn:9870/a%00b").find("NUL"), std::string::npos);
  EXPECT_NE(refused("webhdfs://[::1/tmp").find("']'"), std::string::npos);
  EXPECT_NE(refused("webhdfs://n n:9870/tmp").find("not a host name"), std::string::npos);
}

TEST(WebHdfsUriTest, LocalPathsAreNotUris) {
  EXPECT_TRUE(is_uri("webhdfs://nn:9870/tmp"));
  EXPECT_TRUE(is_uri("hdfs://nn/tmp"));
  EXPECT_FALSE(is_uri("./lake"));
  EXPECT_FALSE(is_uri("/data/lake"));
  EXPECT_FALSE(is_uri("lake:2024"));
  EXPECT_FALSE(is_uri("://x"));
  EXPECT_FALSE(is_uri("1abc://x"));
}

TEST(WebHdfsUriTest, PathsArePercentEncodedForUrls) {
  EXPECT_EQ(percent_encode_path("/tmp/a b/event_type=x/c%2Fd"),
            "/tmp/a%20b/event_type%3Dx/c%252Fd");
  EXPECT_EQ(percent_encode_path("/A-z_0.9~"), "/A-z_0.9~");
  EXPECT_EQ(percent_encode_path("/\xc3\xa9"), "/%C3%A9");
}

}  // namespace
}  // namespace questlog::io
