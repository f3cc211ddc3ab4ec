#include "http/event_assembler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "event/event_builder.h"
#include "http/routes.h"
#include "http/url_decode.h"
#include "http_test_util.h"

// Every allocation of the test program passes here, so a test can count those
// of the code it runs (AllocationsTest below). All the plain forms are
// replaced together, so that whatever a library allocates with one form and
// frees with another stays malloc and free (AddressSanitizer checks).
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};

void* counted_malloc(std::size_t n) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace questlog::http {
namespace {

using test_util::Request;
using Harness = test_util::EventHarness;

std::string typed(ParamType type, std::string_view text) {
  std::string out;
  std::string_view why;
  if (!append_typed_value(out, type, text, why)) return "error: " + std::string(why);
  return out;
}

TEST(EventAssemblerTest, SourcesInOrderAndTheFirstOfEachNameWins) {
  Harness h(R"(
[[route]]
path = "/p/{who}"
query = "*"
request_body = "json"
event = { event_type = "e" }
)");
  Request r{"/p/alice?who=bob&Event_Type=x&q=1",
            {{"Host", "real"}, {"q", "4"}, {"b", "5"}, {"Event-Type", "spoof"}, {"Accept", "*/*"}},
            R"({"q":2,"EVENT_TYPE":"y","WHO":"z","b":3,"Host":"h"})",
            "POST"};
  // Route field, path parameter, query, body, headers; a later source never
  // sets a name an earlier one has, whatever its case. ("Event-Type" is
  // another name: '-' is not '_'.)
  EXPECT_EQ(h.run(r),
            R"({"event_type":"e","who":"alice","q":"1","b":3,"Host":"h","Event-Type":"spoof",)"
            R"("Accept":"*/*"})");
}

TEST(EventAssemblerTest, NoSourceSetsARouteFieldWhateverTheCase) {
  Harness h(R"(
[[route]]
path = "/k/{kind}"
query = "*"
request_body = "json"
event = { event_type = "purchase_knife", description = "very sharp knife" }
)");
  Request r{"/k/dagger?DESCRIPTION=blunt&event_type=free_gold&Event_Type=x",
            {{"Description", "blunt"}},
            R"({"Description":"blunt","event_type":"free_gold","kind":"spoon"})",
            "POST"};
  EXPECT_EQ(h.run(r),
            R"({"event_type":"purchase_knife","description":"very sharp knife","kind":"dagger"})");
}

// A route listing its query parameters (one typed) and one taking them all.
constexpr const char* kListedAndAll = R"(
[[route]]
path = "/listed"
query = ["color", "qty"]
types = { qty = "int" }
[[route]]
path = "/all"
query = "*"
)";

TEST(EventAssemblerTest, RepeatedQueryParametersKeepTheFirst) {
  Harness h(kListedAndAll);
  EXPECT_EQ(h.get("/listed?color=red&color=blue&COLOR=green&qty=5&qty=abc"),
            R"({"color":"red","qty":5})");
  // The first is parsed; later ones are not looked at.
  EXPECT_EQ(h.get("/listed?qty=abc&qty=5"), R"(400: query parameter qty: "abc" is not an int)");
  // Names compare without case; the event spells a listed one as the routes file does.
  EXPECT_EQ(h.get("/listed?QTY=7&Color=teal&colour=x"), R"({"qty":7,"color":"teal"})");
  EXPECT_EQ(h.get("/all?Tag=a&tag=b&TAG=c&x"), R"({"Tag":"a","x":""})");
  EXPECT_EQ(h.get("/listed"), "{}");
  EXPECT_EQ(h.get("/listed?"), "{}");
}

TEST(EventAssemblerTest, EmptyNamesAndValues) {
  Harness h(kListedAndAll);
  EXPECT_EQ(h.get("/listed?=x&&color=&"), R"({"color":""})");
  EXPECT_EQ(h.get("/listed?qty="), R"(400: query parameter qty: "" is not an int)");
  EXPECT_EQ(h.get("/listed?qty"), R"(400: query parameter qty: "" is not an int)");
  EXPECT_EQ(h.get("/all?a=1&=x"),
            "400: a query parameter has an empty name, which no column can have");
  EXPECT_EQ(h.get("/all?a=1&%3D=x"), R"({"a":"1","=":"x"})");
}

TEST(EventAssemblerTest, AThousandQueryParameters) {
  Harness h("[[route]]\npath = \"/all\"\nquery = \"*\"\n");
  std::string target = "/all?", want = "{";
  for (int i = 0; i < 1000; ++i) {
    target += (i ? "&p" : "p") + std::to_string(i) + "=" + std::to_string(i);
    want += (i ? ",\"p" : "\"p") + std::to_string(i) + "\":\"" + std::to_string(i) + "\"";
  }
  EXPECT_EQ(h.get(target), want + "}");

  std::string same = "/all?";
  for (int i = 0; i < 1000; ++i) same += (i % 2 ? "&X=" : "&x=") + std::to_string(i);
  EXPECT_EQ(h.get(same), R"({"x":"0"})");
}

TEST(EventAssemblerTest, ValuesAreDecodedAsWerkzeugDecodesThem) {
  Harness h(R"(
[[route]]
path = "/join_guild/{guild_name}"
query = ["motto"]
)");
  EXPECT_EQ(h.get("/join_guild/Knights%20of%20Ni?motto=Ni%21+Ni%21"),
            R"({"guild_name":"Knights of Ni","motto":"Ni! Ni!"})");
  EXPECT_EQ(h.get("/join_guild/a+b?motto=%2B"), R"({"guild_name":"a+b","motto":"+"})");
  // Not UTF-8: U+FFFD, as Werkzeug's errors="replace".
  EXPECT_EQ(h.get("/join_guild/caf%C3%A9%FF?motto=%E2%82"),
            "{\"guild_name\":\"caf\xc3\xa9\xef\xbf\xbd\",\"motto\":\"\xef\xbf\xbd\"}");
  EXPECT_EQ(h.get("/join_guild/%00%22%5C"), R"({"guild_name":"\u0000\"\\"})");
}

TEST(EventAssemblerTest, TypedParametersAreCheckedAndLoggedAsTheirType) {
  Harness h(R"(
[[route]]
path = "/level/{n}"
query = ["ratio", "ok", "name"]
types = { n = "int", ratio = "float", ok = "bool" }
)");
  EXPECT_EQ(h.get("/level/-7?ratio=2&ok=TRUE&name=12"),
            R"({"n":-7,"ratio":2.0,"ok":true,"name":"12"})");
  EXPECT_EQ(h.get("/level/x"), R"(400: path parameter n: "x" is not an int)");
  EXPECT_EQ(h.get("/level/1?ratio=nan"), R"(400: query parameter ratio: "nan" is not a float)");
  EXPECT_EQ(h.get("/level/1?ok=yes"),
            R"(400: query parameter ok: "yes" is not a bool (true, false, 1 or 0))");
  std::string long_value(200, '9');
  EXPECT_EQ(h.get("/level/" + long_value), "400: path parameter n: \"" + std::string(64, '9') +
                                               "\"... is out of range for an int (64 bits)");
}

TEST(EventAssemblerTest, TypedValueSyntax) {
  EXPECT_EQ(typed(ParamType::int64, "42"), "42");
  EXPECT_EQ(typed(ParamType::int64, "-42"), "-42");
  EXPECT_EQ(typed(ParamType::int64, "007"), "7");
  EXPECT_EQ(typed(ParamType::int64, "9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(typed(ParamType::int64, "-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(typed(ParamType::int64, "9223372036854775808"),
            "error: is out of range for an int (64 bits)");
  for (const char* bad : {"", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "-", "1_000", "١"})
    EXPECT_EQ(typed(ParamType::int64, bad), "error: is not an int") << bad;

  EXPECT_EQ(typed(ParamType::float64, "9.5"), "9.5");
  EXPECT_EQ(typed(ParamType::float64, "2"), "2.0");  // stays a double for every reader
  EXPECT_EQ(typed(ParamType::float64, "-0"), "-0.0");
  EXPECT_EQ(typed(ParamType::float64, "1e3"), "1000.0");
  EXPECT_EQ(typed(ParamType::float64, "1e20"), "1e+20");
  EXPECT_EQ(typed(ParamType::float64, ".5"), "0.5");
  EXPECT_EQ(typed(ParamType::float64, "0.1"), "0.1");
  EXPECT_EQ(typed(ParamType::float64, "1e999"), "error: is out of range for a float");
  for (const char* bad : {"", "inf", "-inf", "nan", "Infinity", "+1", "1,5", "0x1p3", "1e", " 1"})
    EXPECT_EQ(typed(ParamType::float64, bad), "error: is not a float") << bad;

  for (const char* t : {"true", "TRUE", "True", "1"})
    EXPECT_EQ(typed(ParamType::boolean, t), "true");
  for (const char* f : {"false", "False", "0"}) EXPECT_EQ(typed(ParamType::boolean, f), "false");
  for (const char* bad : {"", "yes", "on", "2", "t"})
    EXPECT_EQ(typed(ParamType::boolean, bad), "error: is not a bool (true, false, 1 or 0)") << bad;

  EXPECT_EQ(typed(ParamType::string, "a\"b"), R"("a\"b")");
}

const char* kInventory = R"(
[[route]]
path = "/inventory/{player}"
request_body = "json"
event = { event_type = "inventory_snapshot" }
)";

std::string post(Harness& h, std::string body) {
  return h.run({"/inventory/alice", {}, std::move(body), "POST"});
}

TEST(EventAssemblerTest, BodyFieldsGoIntoTheEventNestedValuesStayNested) {
  Harness h(kInventory);
  EXPECT_EQ(post(h, R"( {"gold": 4031, "hp": 87.5, "online": true, "guild": null,)"
                    R"( "sword": {"type": "long", "dmg": [1, 2.0, -0.0, 1e20, "x"]},)"
                    R"( "items": [], "big": 18446744073709551615, "note": "caf\u00e9\n\u0000"} )"),
            R"({"event_type":"inventory_snapshot","player":"alice","gold":4031,"hp":87.5,)"
            R"("online":true,"guild":null,"sword":{"type":"long","dmg":[1,2.0,-0.0,1e+20,"x"]},)"
            "\"items\":[],\"big\":18446744073709551615,\"note\":\"caf\xc3\xa9\\n\\u0000\"}");
  EXPECT_EQ(post(h, "{}"), R"({"event_type":"inventory_snapshot","player":"alice"})");
  // A nested object's own repeated keys are its business: it is one value.
  EXPECT_EQ(post(h, R"({"n":{"a":1,"a":2}})"),
            R"({"event_type":"inventory_snapshot","player":"alice","n":{"a":1,"a":2}})");
  // A GET to a route that takes POST bodies carries none.
  Harness both(
      "[[route]]\npath = \"/i\"\nrequest_body = \"json\"\nmethods = [\"GET\", \"POST\"]\n");
  EXPECT_EQ(both.run({"/i", {}, std::string("not json"), "GET"}), "{}");
}

TEST(EventAssemblerTest, BodiesThatAreNotOneJsonObjectAreRefused) {
  Harness h(kInventory);
  EXPECT_EQ(post(h, ""), "400: the body is empty; this route takes a JSON object");
  EXPECT_EQ(post(h, "[1]"), "400: the body is an array, not a JSON object");
  EXPECT_EQ(post(h, "null"), "400: the body is null, not a JSON object");
  EXPECT_EQ(post(h, "\"x\""), "400: the body is a string, not a JSON object");
  EXPECT_EQ(post(h, "3"), "400: the body is a number, not a JSON object");
  EXPECT_EQ(post(h, "{\"a\":\"\xff\"}"), "400: the body is not valid UTF-8");
  EXPECT_EQ(post(h, "{\"a\":\"\xed\xa0\x80\"}"), "400: the body is not valid UTF-8");
  EXPECT_EQ(post(h, "{\"a\":1"), post(h, "{\"a\":1"));
  EXPECT_EQ(post(h, "{\"a\":1").rfind("400: the body is not valid JSON: ", 0), 0u);
  EXPECT_EQ(post(h, "{\"a\":1} {}").rfind("400: the body is not valid JSON: ", 0), 0u);
  EXPECT_EQ(post(h, R"({"a":"\ud800"})").rfind("400: the body is not valid JSON: ", 0), 0u);
  EXPECT_EQ(post(h, "{\"a\":1e999}").rfind("400: the body is not valid JSON: ", 0), 0u);
  EXPECT_EQ(post(h, "{'a':1}").rfind("400: the body is not valid JSON: ", 0), 0u);
}

TEST(EventAssemblerTest, RepeatedAndEmptyBodyKeysAreRefused) {
  Harness h(kInventory);
  EXPECT_EQ(post(h, R"({"gold":1,"gold":2})"), R"(400: the JSON body has the key "gold" twice)");
  EXPECT_EQ(post(h, R"({"gold":1,"hp":2,"GOLD":3})"),
            R"(400: the JSON body has the keys "gold" and "GOLD", which differ only in case )"
            R"((Spark does not allow both))");
  // Spark's fold, not ASCII's: the Kelvin sign is a 'k'.
  EXPECT_EQ(post(h,
                 "{\"key\":1,\"\xe2\x84\xaa"
                 "ey\":2}"),
            "400: the JSON body has the keys \"key\" and \"\xe2\x84\xaa"
            "ey\", which differ only in case (Spark does not allow both)");
  // Repeated, even where a route field has the name anyway.
  EXPECT_EQ(post(h, R"({"event_type":"a","Event_Type":"b"})"),
            R"(400: the JSON body has the keys "event_type" and "Event_Type", which differ only )"
            R"(in case (Spark does not allow both))");
  EXPECT_EQ(post(h, R"({"":1})"), "400: the JSON body has an empty key, which no column can have");
}

TEST(EventAssemblerTest, DeepNesting) {
  Harness h(kInventory);
  auto nested = [](int depth) {
    return "{\"deep\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
  };
  // simdjson's limit, 1024 levels, the object included.
  EXPECT_EQ(post(h, nested(1023)),
            R"({"event_type":"inventory_snapshot","player":"alice","deep":)" +
                std::string(1023, '[') + std::string(1023, ']') + "}");
  EXPECT_EQ(post(h, nested(1024)).rfind("400: the body is not valid JSON: ", 0), 0u);
  EXPECT_EQ(post(h, nested(100000)).rfind("400: the body is not valid JSON: ", 0), 0u);
}

TEST(EventAssemblerTest, ARequestAfterARefusedOneIsWhole) {
  Harness h(kInventory);
  EXPECT_EQ(post(h, R"({"a":1,"a":2})").substr(0, 4), "400:");
  EXPECT_EQ(post(h, R"({"a":1})"), R"({"event_type":"inventory_snapshot","player":"alice","a":1})");
}

TEST(EventAssemblerTest, HeadersAreJoinedAndShadowedAsForPlainRoutes) {
  Harness h(R"(
[[route]]
path = "/q"
query = ["accept"]
)");
  Request r{"/q?accept=json",
            {{"X-Tag", "a"}, {"Accept", "*/*"}, {"x-tag", "b"}, {"Content-Length", ""}},
            std::nullopt,
            "GET"};
  EXPECT_EQ(h.run(r), R"({"accept":"json","X-Tag":"a, b"})");
}

// `timestamp`, in any case, is every table's ingest time: a client's key of
// that name (query parameter, body member, header) keeps its spelling with
// "__2", as extract would name its column, and then takes its turn as usual.
TEST(EventAssemblerTest, AClientsTimestampIsKeptRenamed) {
  Harness h(R"(
[[route]]
path = "/p"
query = "*"
request_body = "json"
)");
  EXPECT_EQ(h.run({"/p?timestamp=1&TimeStamp=2", {}, R"({"a":1})", "POST"}),
            R"({"timestamp__2":"1","a":1})");
  EXPECT_EQ(h.run({"/p?x=1", {{"Timestamp", "h"}}, R"({"TIMESTAMP":{"ms":5}})", "POST"}),
            R"({"x":"1","TIMESTAMP__2":{"ms":5}})");
  EXPECT_EQ(h.run({"/p", {{"timestamp", "h"}}, R"({"a":1})", "POST"}),
            R"({"a":1,"Timestamp__2":"h"})");
  // A key already named like the renamed one meets it as any two names do.
  EXPECT_EQ(h.run({"/p?timestamp__2=first", {}, R"({"timestamp":2})", "POST"}),
            R"({"timestamp__2":"first"})");
  EXPECT_EQ(h.run({"/p", {}, R"({"timestamp":1,"Timestamp__2":2})", "POST"}),
            "400: the JSON body has the keys \"timestamp__2\" and \"Timestamp__2\", which differ "
            "only in case (Spark does not allow both)");
  EXPECT_EQ(h.run({"/p", {}, R"({"timestamp":1,"timestamp":2})", "POST"}),
            "400: the JSON body has the key \"timestamp\" twice");
  EXPECT_EQ(h.run({"/p?timestamps=1&time_stamp=2", {}, R"({"a":1})", "POST"}),
            R"({"timestamps":"1","time_stamp":"2","a":1})");
}

// The steady state of a route with parameters and a body: after a first
// request has sized the buffers, routing, headers and the event allocate nothing.
TEST(AllocationsTest, ARouteWithParametersAndABodyAllocatesNothingOnceWarm) {
  const RouteTable t = test_util::routes_from(R"(
[[route]]
path = "/inventory/{player}"
query = ["v"]
types = { v = "int" }
request_body = "json"
event = { event_type = "inventory_snapshot" }
[[route]]
path = "/"
event = { event_type = "default" }
)");
  RouteMatch m;
  event::EventBuilder headers;
  EventAssembler assembler;
  std::string event;
  const std::string payload =
      R"({"gold":4031,"level":12,"hp":87.5,"online":true,"zone":"north_pass",)"
      R"("guild":"Knights of Ni","sword":{"type":"longsword","damage":7},"potions":3,)"
      R"("items":["rope","torch","map"],"note":"full pack,ready"})";
  std::string body;
  body.reserve(1024);
  auto request = [&](std::string_view target) {
    headers.reset();
    headers.add_header("Host", "user1.comcast.com");
    headers.add_header("User-Agent", "wrk");
    headers.add_header("Content-Type", "application/json");
    const Route* r = t.match(target, m);
    ASSERT_NE(r, nullptr);
    if (r->plain()) {
      headers.build(r->fields, event);
      return;
    }
    body.assign(payload);
    ASSERT_TRUE(assembler.build(*r, m, query_of(target), &body, headers, event))
        << assembler.error();
  };
  for (int i = 0; i < 3; ++i) {  // warm up: buffers grow to their size
    request("/inventory/alice?v=2");
    request("/");
  }
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 100; ++i) {
    request("/");
    request("/inventory/alice?v=2");
  }
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_NE(event.find("\"player\":\"alice\",\"v\":2,\"gold\":4031"), std::string::npos) << event;

  // The count sees what it should.
  g_counting = true;
  std::string grown(1000, 'x');
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 1);
}

}  // namespace
}  // namespace questlog::http
