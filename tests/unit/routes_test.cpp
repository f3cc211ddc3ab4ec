#include "http/routes.h"

#include <gtest/gtest.h>

namespace questlog::http {
namespace {

TEST(RoutesTest, DefaultsAreTheSeedsGameApi) {
  RouteTable t = RouteTable::defaults();
  ASSERT_EQ(t.routes().size(), 3u);
  const Route* root = t.find("/");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->body, "This is the default response!\n");
  EXPECT_EQ(root->body.size(), 30u);  // ab's "Document Length: 30 bytes" in the seed
  EXPECT_EQ(root->status, 200);
  EXPECT_EQ(root->content_type, "text/html; charset=utf-8");
  ASSERT_EQ(root->fields.size(), 1u);
  EXPECT_EQ(root->fields[0].name, "event_type");
  EXPECT_EQ(root->fields[0].json_value, "\"default\"");

  const Route* sword = t.find("/purchase_a_sword");
  ASSERT_NE(sword, nullptr);
  EXPECT_EQ(sword->body, "Sword Purchased!\n");
  EXPECT_EQ(sword->fields[0].json_value, "\"purchase_sword\"");

  const Route* knife = t.find("/purchase_a_knife");
  ASSERT_NE(knife, nullptr);
  EXPECT_EQ(knife->body, "Knife Purchased!\n");
  ASSERT_EQ(knife->fields.size(), 2u);  // in the order the seed's dict has them
  EXPECT_EQ(knife->fields[0].name, "event_type");
  EXPECT_EQ(knife->fields[1].name, "description");
  EXPECT_EQ(knife->fields[1].json_value, "\"very sharp knife\"");
}

TEST(RoutesTest, MatchingIgnoresQueryAndDecodesPercentEscapes) {
  RouteTable t = RouteTable::defaults();
  EXPECT_NE(t.find("/purchase_a_sword?x=1"), nullptr);
  EXPECT_NE(t.find("/purchase%5Fa%5fsword"), nullptr);
  EXPECT_EQ(t.find("/purchase_a_sword/"), nullptr);  // Flask: no trailing-slash alias
  EXPECT_EQ(t.find("/nope"), nullptr);
  EXPECT_EQ(t.find("*"), nullptr);
  EXPECT_EQ(t.find("http://host/"), nullptr);
  EXPECT_EQ(t.find("/%"), nullptr);
}

TEST(RoutesTest, GetImpliesHeadAndAllowListsOptions) {
  RouteTable t = RouteTable::defaults();
  const Route* r = t.find("/");
  EXPECT_TRUE(r->allows("GET"));
  EXPECT_TRUE(r->allows("HEAD"));
  EXPECT_FALSE(r->allows("POST"));
  EXPECT_EQ(r->allow_header(), "GET, HEAD, OPTIONS");
}

TEST(RoutesTest, ParsesAFileInFieldOrderWithTypedValues) {
  auto t = RouteTable::parse(R"(
[[route]]
path = "/level_up"
methods = ["post", "GET"]
status = 201
content_type = "application/json"
body = "{}"
[route.event]
zeta = "first"
alpha = 3
ok = true
ratio = 0.5
)",
                             "test.toml");
  ASSERT_TRUE(t.ok()) << t.status().message();
  const Route* r = t->find("/level_up");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->status, 201);
  EXPECT_TRUE(r->allows("POST"));
  EXPECT_EQ(r->allow_header(), "GET, HEAD, OPTIONS, POST");
  ASSERT_EQ(r->fields.size(), 4u);
  EXPECT_EQ(r->fields[0].name, "zeta");
  EXPECT_EQ(r->fields[1].json_value, "3");
  EXPECT_EQ(r->fields[2].json_value, "true");
  EXPECT_EQ(r->fields[3].json_value, "0.5");
}

TEST(RoutesTest, ErrorsNameTheFileAndLine) {
  auto bad_key = RouteTable::parse("[[route]]\npath = \"/\"\nbogus = 1\n", "r.toml");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.status().message(), "r.toml:3: unknown route key 'bogus'");

  auto syntax = RouteTable::parse("[[route]]\npath = \n", "r.toml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().message().rfind("r.toml:2: ", 0), 0u) << syntax.status().message();

  auto no_path = RouteTable::parse("[[route]]\nbody = \"x\"\n", "r.toml");
  EXPECT_FALSE(no_path.ok());
  auto dup = RouteTable::parse("[[route]]\npath = \"/\"\n[[route]]\npath = \"/\"\n", "r.toml");
  EXPECT_FALSE(dup.ok());
  auto nested = RouteTable::parse("[[route]]\npath = \"/\"\nevent = { a = [1] }\n", "r.toml");
  EXPECT_FALSE(nested.ok());
  auto none = RouteTable::parse("", "r.toml");
  EXPECT_FALSE(none.ok());
  auto missing = RouteTable::load("/nonexistent/routes.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/routes.toml"), std::string::npos);
}

TEST(RoutesTest, FieldNamesNoTableCanHoldAreRefusedNamingTheRoute) {
  auto error = [](const std::string& event) {
    auto t = RouteTable::parse("[[route]]\npath = \"/x\"\n" + event + "\n", "r.toml");
    return t.ok() ? std::string("accepted") : t.status().message();
  };
  EXPECT_EQ(error(R"(event = { "" = "x" })"),
            "r.toml:3: route /x: event field name must not be empty");
  EXPECT_EQ(error("[route.event]\n\"a\\u0000b\" = 1"),
            "r.toml:4: route /x: event field name 'a\\u0000b' must not contain control characters");
  EXPECT_EQ(error(R"(event = { "tab\tbed" = 1 })"),
            "r.toml:3: route /x: event field name 'tab\\u0009bed' must not contain control "
            "characters");
  EXPECT_EQ(error("[route.event]\nlevel = 1\nLEVEL = 2\n"),
            "r.toml:5: route /x: event fields 'level' and 'LEVEL' differ only in case, which Spark "
            "does not allow");
  // What a name may hold otherwise: any other text, also outside ASCII.
  EXPECT_EQ(error(R"(event = { "X-B3 id.é" = 1, level = 2, "level 2" = 3 })"), "accepted");
}

}  // namespace
}  // namespace questlog::http
