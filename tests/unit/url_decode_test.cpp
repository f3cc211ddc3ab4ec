#include "http/url_decode.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace questlog::http {
namespace {

std::string path(std::string_view target) {
  std::string out = "unchanged";
  if (!decode_path(target, out)) return "<not a path>";
  return out;
}

std::string component(std::string_view raw) {
  std::string out;
  append_query_component(raw, out);
  return out;
}

std::string utf8(std::string_view bytes) {
  std::string out;
  append_utf8_replacing(out, bytes);
  return out;
}

std::vector<std::pair<std::string, std::string>> pairs(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  QueryPairs q(query);
  std::string_view name, value;
  while (q.next(name, value)) out.emplace_back(name, value);
  return out;
}

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(UrlDecodeTest, PathDecodesEveryEscapeIncludingSlash) {
  EXPECT_EQ(path("/purchase%5Fa%5fsword"), "/purchase_a_sword");
  EXPECT_EQ(path("/a%2Fb"), "/a/b");  // then a separator, as in Werkzeug
  EXPECT_EQ(path("/a%2fb?x=%2F"), "/a/b");
  EXPECT_EQ(path("/a+b"), "/a+b");  // '+' is a space only in a query
  EXPECT_EQ(path("/%"), "/%");
  EXPECT_EQ(path("/%4"), "/%4");
  EXPECT_EQ(path("/%zz%41"), "/%zzA");
  EXPECT_EQ(path("/%00"), std::string("/\0", 2));
  EXPECT_EQ(path("*"), "<not a path>");
  EXPECT_EQ(path(""), "<not a path>");
  EXPECT_EQ(path("?x"), "<not a path>");
}

TEST(UrlDecodeTest, OriginFormOfAbsoluteTargets) {
  EXPECT_EQ(origin_form("/x?y"), "/x?y");
  EXPECT_EQ(origin_form("http://host/purchase_a_sword?q=1"), "/purchase_a_sword?q=1");
  EXPECT_EQ(origin_form("HTTPS://host:8/a"), "/a");
  EXPECT_EQ(origin_form("http://host"), "/");
  EXPECT_EQ(origin_form("http://host?q"), "/");
}

TEST(UrlDecodeTest, QueryComponentsAsWerkzeugReadsThem) {
  EXPECT_EQ(query_of("/a?b=1&c"), "b=1&c");
  EXPECT_EQ(query_of("/a"), "");
  EXPECT_EQ(query_of("/a?"), "");
  EXPECT_EQ(query_of("/a?b?c"), "b?c");
  EXPECT_EQ(component("Knights+of%20Ni"), "Knights of Ni");
  EXPECT_EQ(component("%2B1"), "+1");
  EXPECT_EQ(component("a%3Db%26c"), "a=b&c");
  EXPECT_EQ(component("100%"), "100%");
}

TEST(UrlDecodeTest, QueryPairsSplitOnAmpersandsOnly) {
  using P = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(pairs("a=1&b=2"), (P{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(pairs("&&a=1&&"), (P{{"a", "1"}}));
  EXPECT_EQ(pairs("flag&x="), (P{{"flag", ""}, {"x", ""}}));
  EXPECT_EQ(pairs("a=b=c"), (P{{"a", "b=c"}}));
  EXPECT_EQ(pairs("=v"), (P{{"", "v"}}));
  EXPECT_EQ(pairs("a=1;b=2"), (P{{"a", "1;b=2"}}));  // ';' is no separator (Python 3.9.2+)
  EXPECT_EQ(pairs(""), P{});
}

// Python's bytes.decode("utf-8", "replace"): one U+FFFD per maximal ill-formed subpart.
TEST(UrlDecodeTest, BadUtf8BecomesReplacementCharactersAsInPython) {
  EXPECT_EQ(utf8("caf\xc3\xa9 \xf0\x9f\x97\xa1"), "caf\xc3\xa9 \xf0\x9f\x97\xa1");
  EXPECT_EQ(utf8("\xff"), kReplacement);
  EXPECT_EQ(utf8("a\xff\xfe"
                 "b"),
            "a" + kReplacement + kReplacement + "b");
  EXPECT_EQ(utf8("\xe2\x82"), kReplacement);  // a truncated sequence is one subpart
  EXPECT_EQ(utf8("\xe2\x82"
                 "A"),
            kReplacement + "A");
  EXPECT_EQ(utf8("\xed\xa0\x80"), kReplacement + kReplacement + kReplacement);  // surrogate
  EXPECT_EQ(utf8("\xc0\xaf"), kReplacement + kReplacement);                     // overlong
  EXPECT_EQ(utf8("\xf4\x90\x80\x80"), kReplacement + kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(utf8("\xf0\x9f\x97"), kReplacement);
  EXPECT_EQ(utf8(std::string("\0x", 2)), std::string("\0x", 2));
}

}  // namespace
}  // namespace questlog::http
