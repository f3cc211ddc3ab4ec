#include "event/event_builder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "event/json.h"

namespace questlog::event {
namespace {

std::string canonical(std::string_view raw) {
  std::string out;
  canonical_header_name(raw, out);
  return out;
}

std::string json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::vector<Field> knife() {
  return {{"event_type", "\"purchase_knife\""}, {"description", "\"very sharp knife\""}};
}

TEST(HeaderNameTest, TitleCasesLikeWerkzeug) {
  EXPECT_EQ(canonical("user-agent"), "User-Agent");
  EXPECT_EQ(canonical("HOST"), "Host");
  EXPECT_EQ(canonical("x-forwarded-for"), "X-Forwarded-For");
  EXPECT_EQ(canonical("DNT"), "Dnt");
  EXPECT_EQ(canonical("x-b3-traceid"), "X-B3-Traceid");
  EXPECT_EQ(canonical("x-1a"), "X-1A");  // a digit ends a word, as in str.title()
  EXPECT_EQ(canonical("my_header"), "My-Header");
}

TEST(EventBuilderTest, SeedEventHasRouteFieldsThenHeadersInArrivalOrder) {
  EventBuilder b;
  b.add_header("Host", "user1.comcast.com");
  b.add_header("User-Agent", "ApacheBench/2.3");
  b.add_header("Accept", "*/*");
  std::string out;
  b.build(knife(), out);
  EXPECT_EQ(out, R"({"event_type":"purchase_knife","description":"very sharp knife",)"
                 R"("Host":"user1.comcast.com","User-Agent":"ApacheBench/2.3","Accept":"*/*"})");
}

TEST(EventBuilderTest, RouteFieldWinsOverHeaderOfSameName) {
  EventBuilder b;
  b.add_header("event_type", "free_gold");
  b.add_header("Event-Type", "free_gold");
  b.add_header("Accept", "*/*");
  std::string out;
  b.build(std::vector<Field>{{"event_type", "\"default\""}}, out);
  // "event_type" canonicalises to "Event-Type", which is not the route's key;
  // neither may change the route's own event_type.
  EXPECT_EQ(out, R"({"event_type":"default","Event-Type":"free_gold, free_gold","Accept":"*/*"})");

  // Compared without case: a `Description` next to `description` would be a
  // second column that Spark refuses (COLUMN_ALREADY_EXISTS).
  EventBuilder spoof;
  spoof.add_header("Description", "blunt");
  spoof.add_header("DESCRIPTION", "blunt");
  spoof.add_header("Accept", "*/*");
  spoof.build(knife(), out);
  EXPECT_EQ(out, R"({"event_type":"purchase_knife","description":"very sharp knife",)"
                 R"("Accept":"*/*"})");
  std::vector<Field> titled{{"DESCRIPTION", "\"sharp\""}};
  spoof.build(titled, out);
  EXPECT_EQ(out, R"({"DESCRIPTION":"sharp","Accept":"*/*"})");
}

// Every table has a `timestamp` column, the ingest time: a client's header of
// that name is kept beside it, renamed, rather than taken for it.
TEST(EventBuilderTest, ATimestampHeaderIsKeptRenamed) {
  EventBuilder b;
  b.add_header("timestamp", "2026-11-29T01:00:00Z");
  b.add_header("TIMESTAMP", "again");
  b.add_header("Accept", "*/*");
  b.add_header("X-Timestamp", "kept as it is");
  std::string out;
  b.build(knife(), out);
  EXPECT_EQ(out, R"({"event_type":"purchase_knife","description":"very sharp knife",)"
                 R"("Timestamp__2":"2026-11-29T01:00:00Z, again","Accept":"*/*",)"
                 R"("X-Timestamp":"kept as it is"})");
  ASSERT_EQ(b.header_count(), 4u);
  EXPECT_EQ(b.header_name(0), "Timestamp__2");
}

TEST(EventBuilderTest, HeadersDifferingOnlyInCaseAreOneHeader) {
  // Canonical names depend on the letters, not their case: dnt, DNT and DnT are
  // all Dnt, so two keys that differ only in case never come from headers.
  EventBuilder b;
  b.add_header("dnt", "1");
  b.add_header("Accept", "*/*");
  b.add_header("DNT", "2");
  b.add_header("DnT", "3");
  b.add_header("x_tag", "a");
  b.add_header("X-TAG", "b");
  std::string out;
  b.build({}, out);
  EXPECT_EQ(out, R"({"Dnt":"1, 2, 3","Accept":"*/*","X-Tag":"a, b"})");
}

TEST(EventBuilderTest, RepeatedHeadersJoinAtFirstPlace) {
  EventBuilder b;
  b.add_header("X-Tag", "a");
  b.add_header("Accept", "*/*");
  b.add_header("x-tag", "b");
  b.add_header("X_TAG", "c");
  std::string out;
  b.build({}, out);
  EXPECT_EQ(out, R"({"X-Tag":"a, b, c","Accept":"*/*"})");
}

TEST(EventBuilderTest, EmptyContentHeadersAreLeftOutOthersKept) {
  EventBuilder b;
  b.add_header("Content-Type", "");
  b.add_header("Content-Length", "");
  b.add_header("X-Empty", "");
  std::string out;
  b.build({}, out);
  EXPECT_EQ(out, R"({"X-Empty":""})");
}

TEST(EventBuilderTest, NamesThatAreNoTokensAreStillJson) {
  // The HTTP parser only passes tokens; the builder does not count on it.
  EventBuilder b;
  b.add_header("a\"b", "1");
  b.add_header("x\\y z", "2");
  b.add_header(std::string("c\x01", 2), "3");
  std::string out;
  b.build({}, out);
  EXPECT_EQ(out, R"({"A\"B":"1","X\\Y Z":"2","C\u0001":"3"})");
}

TEST(EventBuilderTest, ResetForgetsThePreviousRequest) {
  EventBuilder b;
  b.add_header("A", "1");
  std::string out;
  b.build({}, out);
  b.reset();
  b.add_header("B", "2");
  b.build({}, out);
  EXPECT_EQ(out, R"({"B":"2"})");
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(json("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json("\t\n\r\b\f"), R"("\t\n\r\b\f")");
  EXPECT_EQ(json(std::string("\x01\x1f\x00", 3)), R"("\u0001\u001f\u0000")");
  EXPECT_EQ(json("\x7f"), "\"\x7f\"");
}

TEST(JsonStringTest, KeepsValidUtf8AndMapsStrayBytesAsLatin1) {
  EXPECT_EQ(json("caf\xc3\xa9 \xf0\x9f\x97\xa1"), "\"caf\xc3\xa9 \xf0\x9f\x97\xa1\"");
  EXPECT_EQ(json("\xff\xfe"), "\"\xc3\xbf\xc3\xbe\"");              // ÿþ
  EXPECT_EQ(json("\xc3"), "\"\xc3\x83\"");                          // truncated sequence
  EXPECT_EQ(json("\xed\xa0\x80"), "\"\xc3\xad\xc2\xa0\xc2\x80\"");  // a surrogate is not UTF-8
  EXPECT_EQ(json("\xc0\xaf"), "\"\xc3\x80\xc2\xaf\"");              // overlong
  EXPECT_EQ(json("\xf4\x90\x80\x80"), "\"\xc3\xb4\xc2\x90\xc2\x80\xc2\x80\"");  // > U+10FFFF
}

// The encoder looks at 8 bytes at a time: each ASCII byte, at each place of
// strings of several lengths, is written as it is written alone.
TEST(JsonStringTest, EveryAsciiByteAtEveryPlace) {
  for (int c = 0; c < 0x80; ++c) {
    const std::string alone = json(std::string(1, static_cast<char>(c)));
    const std::string body = alone.substr(1, alone.size() - 2);
    for (size_t len : {1u, 7u, 8u, 9u, 16u, 23u}) {
      for (size_t at = 0; at < len; ++at) {
        std::string s(len, 'a');
        s[at] = static_cast<char>(c);
        std::string want = "\"";
        want.append(at, 'a').append(body).append(len - at - 1, 'a').push_back('"');
        ASSERT_EQ(json(s), want) << "byte " << c << " at " << at << " of " << len;
      }
    }
  }
}

// Every byte string, whatever it holds, encodes to valid UTF-8 that starts and
// ends with a quote and has no raw control characters.
TEST(JsonStringTest, AnyBytesGiveValidUtf8) {
  uint32_t x = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    int n = round % 40;
    for (int i = 0; i < n; ++i) {
      x = x * 1103515245 + 12345;
      s.push_back(static_cast<char>(x >> 16));
    }
    std::string out = json(s);
    ASSERT_GE(out.size(), 2u);
    ASSERT_EQ(out.front(), '"');
    ASSERT_EQ(out.back(), '"');
    // Validate UTF-8 and the absence of control characters.
    for (size_t i = 0; i < out.size();) {
      auto c = static_cast<unsigned char>(out[i]);
      ASSERT_GE(c, 0x20) << round;
      size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      ASSERT_NE(len, 0u) << round;
      ASSERT_LE(i + len, out.size());
      for (size_t k = 1; k < len; ++k) ASSERT_EQ(static_cast<unsigned char>(out[i + k]) >> 6, 2);
      i += len;
    }
  }
}

}  // namespace
}  // namespace questlog::event
