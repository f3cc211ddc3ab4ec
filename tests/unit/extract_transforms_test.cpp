// The event as extract sees it: parsing (simdjson), filters and transforms.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "extract/event_parser.h"
#include "extract/filter.h"
#include "extract/job.h"
#include "extract/transforms.h"

namespace questlog::extract {
namespace {

class ExtractEventTest : public ::testing::Test {
 protected:
  ExtractEventTest() : parser_(names_) {}

  Event& parse(std::string_view json) {
    bool ok = parser_.parse(json, event_);
    EXPECT_TRUE(ok) << parser_.error();
    return event_;
  }
  const Value* get(std::string_view name) { return event_.find(names_.find(name)); }
  std::string text(std::string_view name) {
    const Value* v = get(name);
    return v ? std::string(v->text) : "<absent>";
  }

  FieldNames names_;
  EventParser parser_;
  Event event_;
};

TEST_F(ExtractEventTest, ParsesTheSeedsEventAsStrings) {
  parse(
      R"({"event_type":"purchase_knife","description":"very sharp knife","Host":"user1.comcast.com","User-Agent":"ApacheBench/2.3","Accept":"*/*"})");
  EXPECT_EQ(text("event_type"), "purchase_knife");
  EXPECT_EQ(text("description"), "very sharp knife");
  EXPECT_EQ(text("Host"), "user1.comcast.com");
  EXPECT_EQ(get("Accept")->kind, Kind::string);
  EXPECT_EQ(event_.fields().size(), 5u);
}

TEST_F(ExtractEventTest, TypesFollowJson) {
  parse(R"({"i":-42,"big":18446744073709551615,"f":1.5,"e":1e3,"t":true,"n":null,"s":"x\u00e9\n",)"
        R"("o":{"a": [1, 2.50, "b"]},"a":[ ]})");
  EXPECT_EQ(get("i")->kind, Kind::int64);
  EXPECT_EQ(get("i")->int64, -42);
  EXPECT_EQ(get("big")->kind, Kind::float64);
  EXPECT_EQ(get("f")->kind, Kind::float64);
  EXPECT_EQ(get("f")->float64, 1.5);
  EXPECT_EQ(get("e")->kind, Kind::float64);
  EXPECT_EQ(get("t")->kind, Kind::boolean);
  EXPECT_TRUE(get("t")->boolean);
  EXPECT_EQ(get("n")->kind, Kind::null);
  EXPECT_EQ(text("s"), "x\xc3\xa9\n");
  EXPECT_EQ(get("o")->kind, Kind::json);
  EXPECT_EQ(text("o"), R"({"a":[1,2.5,"b"]})");
  EXPECT_EQ(text("a"), "[]");
}

TEST_F(ExtractEventTest, RepeatedKeyKeepsTheLastValueAsPythonDoes) {
  parse(R"({"a":"1","b":"2","a":"3"})");
  EXPECT_EQ(text("a"), "3");
  EXPECT_EQ(event_.fields().size(), 2u);
}

TEST_F(ExtractEventTest, AnEventsOwnTimestampIsShadowed) {
  parse(R"({"timestamp":"1999-01-01","a":"x"})");
  EXPECT_EQ(get("timestamp"), nullptr);
  EXPECT_EQ(text("a"), "x");
}

TEST_F(ExtractEventTest, KeysAreUnescaped) {
  parse(R"({"Us\u0065r-Agent":"x"})");
  EXPECT_EQ(text("User-Agent"), "x");
}

TEST_F(ExtractEventTest, NonObjectsAreRejectedWithAReason) {
  struct Case {
    std::string json, error;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"[1,2]", "not a JSON object: array"},
           {"\"x\"", "not a JSON object: string"},
           {"42", "not a JSON object: number"},
           {"null", "not a JSON object: null"},
           {"", "invalid JSON: "},
           {"{\"a\":", "invalid JSON: "},
           {"{\"a\":1} {}", "invalid JSON: "},
           {"{\"a\":\"\xff\"}", "invalid JSON: "},
           {"{\"a\":123456789012345678901234567890}", "invalid JSON: "},
       }) {
    EXPECT_FALSE(parser_.parse(c.json, event_)) << c.json;
    EXPECT_EQ(parser_.error().rfind(c.error, 0), 0u) << c.json << " -> " << parser_.error();
  }
  parse(R"({"after":"a reject"})");  // the parser is still usable
  EXPECT_EQ(text("after"), "a reject");
}

TEST_F(ExtractEventTest, AnEmptyKeyIsRejectedWhereverItIs) {
  for (const char* json : {R"({"":"x"})", R"({"a":1,"":null})", R"({"":{"b":1},"c":2})"}) {
    EXPECT_FALSE(parser_.parse(json, event_)) << json;
    EXPECT_EQ(parser_.error(), "empty key: a column cannot have an empty name") << json;
  }
  // A nested object is one JSON value: its keys are not columns.
  parse(R"({"o":{"":"x"}})");
  EXPECT_EQ(text("o"), R"({"":"x"})");
}

TEST_F(ExtractEventTest, ShapesChangingBetweenEventsKeepTheirIds) {
  for (int i = 0; i < 3; ++i) {
    parse(R"({"event_type":"default","Host":"h"})");
    EXPECT_EQ(text("Host"), "h");
    EXPECT_EQ(get("description"), nullptr);
    parse(R"({"event_type":"purchase_knife","description":"very sharp knife","Host":"k"})");
    EXPECT_EQ(text("Host"), "k");
    EXPECT_EQ(text("description"), "very sharp knife");
  }
}

// ---------------------------------------------------------------- filters

Literal str(std::string s) {
  Literal l;
  l.kind = Kind::string;
  l.text = std::move(s);
  return l;
}
Literal integer(int64_t i) {
  Literal l;
  l.kind = Kind::int64;
  l.int64 = i;
  return l;
}

TEST_F(ExtractEventTest, EqualityIsTyped) {
  EXPECT_TRUE(literal_matches(str("3"), Value::of_string("3")));
  EXPECT_FALSE(literal_matches(str("3"), Value::of_int(3)));
  EXPECT_FALSE(literal_matches(str("{}"), Value::of_json("{}")));
  EXPECT_TRUE(literal_matches(integer(3), Value::of_int(3)));
  EXPECT_TRUE(literal_matches(integer(3), Value::of_double(3.0)));
  EXPECT_FALSE(literal_matches(integer(3), Value::of_string("3")));
  Literal t;
  t.kind = Kind::boolean;
  t.boolean = true;
  EXPECT_TRUE(literal_matches(t, Value::of_bool(true)));
  EXPECT_FALSE(literal_matches(t, Value::of_int(1)));
}

TEST_F(ExtractEventTest, FilterFormsFromTheJobFile) {
  auto job = parse_job(R"(
[[tables]]
name = "eq"
where = { event_type = "purchase_sword" }
[[tables]]
name = "in"
where = { event_type = ["default", "purchase_sword"] }
[[tables]]
name = "exists"
where = { description = { exists = true } }
[[tables]]
name = "absent"
where = { description = { exists = false } }
[[tables]]
name = "and"
where = { event_type = "purchase_knife", Host = "a" }
)",
                       "t.toml");
  ASSERT_TRUE(job.ok()) << job.status().message();
  FieldNames& names = *job->names;
  EventParser parser(names);
  Event e;
  auto keeps = [&](size_t table, std::string_view json) {
    EXPECT_TRUE(parser.parse(json, e)) << parser.error();
    return job->tables[table].where.matches(e);
  };
  EXPECT_TRUE(keeps(0, R"({"event_type":"purchase_sword"})"));
  EXPECT_FALSE(keeps(0, R"({"event_type":"purchase_swords"})"));
  EXPECT_FALSE(keeps(0, R"({"other":"purchase_sword"})"));
  EXPECT_TRUE(keeps(1, R"({"event_type":"default"})"));
  EXPECT_TRUE(keeps(1, R"({"event_type":"purchase_sword"})"));
  EXPECT_FALSE(keeps(1, R"({"event_type":"purchase_knife"})"));
  EXPECT_TRUE(keeps(2, R"({"description":null})"));  // null is present
  EXPECT_FALSE(keeps(2, R"({"event_type":"x"})"));
  EXPECT_TRUE(keeps(3, R"({"event_type":"x"})"));
  EXPECT_FALSE(keeps(3, R"({"description":"d"})"));
  EXPECT_TRUE(keeps(4, R"({"event_type":"purchase_knife","Host":"a"})"));
  EXPECT_FALSE(keeps(4, R"({"event_type":"purchase_knife","Host":"b"})"));
}

// ---------------------------------------------------------------- transforms

class ExtractTransformTest : public ::testing::Test {
 protected:
  void load(const std::string& transforms) {
    auto job = parse_job(transforms + "\n[[tables]]\nname = \"t\"\n", "t.toml");
    ASSERT_TRUE(job.ok()) << job.status().message();
    job_ = std::move(job).value();
    parser_ = std::make_unique<EventParser>(*job_.names);
    transformer_ = std::make_unique<Transformer>(job_.transforms);
  }
  // The event after the transforms, as sorted "key=value" pairs, or "dropped".
  std::string run(std::string_view json) {
    EXPECT_TRUE(parser_->parse(json, event_)) << parser_->error();
    if (!transformer_->apply(event_)) return "dropped";
    std::map<std::string, std::string> kv;
    for (const auto& f : event_.fields()) {
      if (!f.present) continue;
      std::string v =
          f.value.kind == Kind::int64 ? std::to_string(f.value.int64) : std::string(f.value.text);
      kv[job_.names->name(f.id)] = v;
    }
    std::string out;
    for (const auto& [k, v] : kv) out += (out.empty() ? "" : " ") + k + "=" + v;
    return out;
  }

  Job job_;
  std::unique_ptr<EventParser> parser_;
  std::unique_ptr<Transformer> transformer_;
  Event event_;
};

TEST_F(ExtractTransformTest, SetOverridesAndAddsLikeTheSeedsMungeEvent) {
  load(R"([[transforms]]
type = "set"
fields = { Host = "moe", "Cache-Control" = "no-cache" })");
  EXPECT_EQ(run(R"({"event_type":"default","Host":"user1.comcast.com","Accept":"*/*"})"),
            "Accept=*/* Cache-Control=no-cache Host=moe event_type=default");
}

TEST_F(ExtractTransformTest, SetTakesTypedValues) {
  load(R"([[transforms]]
type = "set"
fields = { level = 3 })");
  EXPECT_EQ(run(R"({"level":"x"})"), "level=3");
  EXPECT_EQ(event_.find(job_.names->find("level"))->kind, Kind::int64);
}

TEST_F(ExtractTransformTest, DropRemovesPresentFieldsOnly) {
  load(R"([[transforms]]
type = "drop"
fields = ["User-Agent", "missing"])");
  EXPECT_EQ(run(R"({"User-Agent":"ab","Host":"h"})"), "Host=h");
}

TEST_F(ExtractTransformTest, RenamesHappenTogether) {
  load(R"([[transforms]]
type = "rename"
renames = { a = "b", b = "a", Host = "host" })");
  EXPECT_EQ(run(R"({"a":"1","b":"2","Host":"h"})"), "a=2 b=1 host=h");
  EXPECT_EQ(run(R"({"a":"1"})"), "b=1");
}

TEST_F(ExtractTransformTest, RenameOntoAnExistingFieldReplacesIt) {
  load(R"([[transforms]]
type = "rename"
renames = { Host = "server" })");
  EXPECT_EQ(run(R"({"Host":"h","server":"old"})"), "server=h");
}

TEST_F(ExtractTransformTest, FilterStopsTheEventAndOrderMatters) {
  load(R"([[transforms]]
type = "set"
fields = { event_type = "default" }
[[transforms]]
type = "filter"
where = { event_type = "purchase_sword" })");
  EXPECT_EQ(run(R"({"event_type":"purchase_sword"})"), "dropped");

  load(R"([[transforms]]
type = "filter"
where = { event_type = "purchase_sword" }
[[transforms]]
type = "set"
fields = { event_type = "default" })");
  EXPECT_EQ(run(R"({"event_type":"purchase_sword"})"), "event_type=default");
  EXPECT_EQ(run(R"({"event_type":"purchase_knife"})"), "dropped");
}

TEST_F(ExtractTransformTest, DroppedThenSetFieldComesBack) {
  load(R"([[transforms]]
type = "drop"
fields = ["Host"]
[[transforms]]
type = "set"
fields = { Host = "moe" })");
  EXPECT_EQ(run(R"({"Host":"h"})"), "Host=moe");
}

}  // namespace
}  // namespace questlog::extract
