#include "http/routes.h"

#include <gtest/gtest.h>

#include "http_test_util.h"

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

namespace questlog::http {
namespace {

RouteTable table(const std::string& toml) { return test_util::routes_from(toml, "r.toml"); }

std::string load_error(const std::string& toml) {
  auto t = RouteTable::parse(toml, "r.toml");
  return t.ok() ? std::string("accepted") : t.status().message();
}

// The parameters of the route `target` matches, or "404".
std::string params_of(const RouteTable& t, std::string_view target) {
  RouteMatch m;
  const Route* r = t.match(target, m);
  if (!r) return "404";
  std::string out = r->path + ":";
  for (size_t i = 0; i < m.params.size(); ++i) {
    if (i > 0) out += ',';
    out += m.param(i);
  }
  return out;
}

const char* kGame = R"(
[[route]]
path = "/purchase_a_sword"
[[route]]
path = "/purchase_a_sword/{sword_type}"
[[route]]
path = "/guild/{guild}/member/{player}"
[[route]]
path = "/guild/{guild}"
[[route]]
path = "/a/{x}/c"
[[route]]
path = "/a/{x}/d"
)";

TEST(RouteMatchTest, ParametersAreWholeNonEmptySegments) {
  RouteTable t = table(kGame);
  EXPECT_EQ(params_of(t, "/purchase_a_sword"), "/purchase_a_sword:");
  EXPECT_EQ(params_of(t, "/purchase_a_sword/longsword"),
            "/purchase_a_sword/{sword_type}:longsword");
  EXPECT_EQ(params_of(t, "/purchase_a_sword/long%20sword?x=1"),
            "/purchase_a_sword/{sword_type}:long sword");
  EXPECT_EQ(params_of(t, "/guild/Ni/member/arthur"), "/guild/{guild}/member/{player}:Ni,arthur");
  EXPECT_EQ(params_of(t, "/guild/Ni"), "/guild/{guild}:Ni");
  EXPECT_EQ(params_of(t, "/a/b/c"), "/a/{x}/c:b");
  EXPECT_EQ(params_of(t, "/a/b/d"), "/a/{x}/d:b");
  EXPECT_EQ(params_of(t, "http://host/guild/Ni"), "404");  // the server passes origin form
}

TEST(RouteMatchTest, HostileTargetsMatchNothing) {
  RouteTable t = table(kGame);
  // %2F decodes to '/' before matching (as in Werkzeug), and a parameter never spans one.
  EXPECT_EQ(params_of(t, "/purchase_a_sword/a%2Fb"), "404");
  EXPECT_EQ(params_of(t, "/purchase_a_sword/a%2fb"), "404");
  EXPECT_EQ(params_of(t, "/guild/Ni%2Fmember%2Farthur"),
            "/guild/{guild}/member/{player}:Ni,arthur");
  // Empty parameters, trailing and doubled slashes.
  EXPECT_EQ(params_of(t, "/purchase_a_sword/"), "404");
  EXPECT_EQ(params_of(t, "/guild//member/arthur"), "404");
  EXPECT_EQ(params_of(t, "/guild/Ni/member/"), "404");
  EXPECT_EQ(params_of(t, "/guild/Ni/"), "404");
  EXPECT_EQ(params_of(t, "//guild/Ni"), "404");
  EXPECT_EQ(params_of(t, "/a/b/e"), "404");
  EXPECT_EQ(params_of(t, "/a/b/c/"), "404");
  // Whatever else a segment holds is the parameter's, as decoded bytes.
  EXPECT_EQ(params_of(t, "/guild/.."), "/guild/{guild}:..");
  EXPECT_EQ(params_of(t, "/guild/%00%ff"), std::string("/guild/{guild}:\0\xff", 17));
  EXPECT_EQ(params_of(t, "/guild/%"), "/guild/{guild}:%");
  EXPECT_EQ(params_of(t, "/guild/{guild}"), "/guild/{guild}:{guild}");
}

TEST(RouteTableTest, AmbiguousRoutesAreRefusedNamingBoth) {
  EXPECT_EQ(
      load_error("[[route]]\npath = \"/sword/{type}\"\n[[route]]\npath = \"/sword/{kind}\"\n"),
      "r.toml:3: route /sword/{kind} is ambiguous with route /sword/{type} (line 1): both "
      "match /sword/x; a path must match one route only");
  EXPECT_EQ(load_error("[[route]]\npath = \"/guild/{name}\"\n\n[[route]]\npath = \"/guild/new\"\n"),
            "r.toml:4: route /guild/new is ambiguous with route /guild/{name} (line 1): both "
            "match /guild/new; a path must match one route only");
  EXPECT_EQ(load_error("[[route]]\npath = \"/a/{x}/c\"\n[[route]]\npath = \"/a/b/{y}\"\n"),
            "r.toml:3: route /a/b/{y} is ambiguous with route /a/{x}/c (line 1): both match "
            "/a/b/c; a path must match one route only");
  // Paths no request can match twice.
  EXPECT_EQ(load_error("[[route]]\npath = \"/a/{x}\"\n[[route]]\npath = \"/a/{x}/b\"\n"
                       "[[route]]\npath = \"/a/\"\n[[route]]\npath = \"/a\"\n"
                       "[[route]]\npath = \"/b/{x}/c\"\n[[route]]\npath = \"/b/c/d\"\n"),
            "accepted");
}

TEST(RouteTableTest, ParameterNamesFollowTheFieldNameRules) {
  auto error = [](const std::string& route) { return load_error("[[route]]\n" + route + "\n"); };
  EXPECT_EQ(error("path = \"/a/x{y}\""),
            "r.toml:2: route /a/x{y}: a path parameter is a whole segment, as in "
            "/purchase_a_sword/{sword_type}; 'x{y}' is not one");
  EXPECT_EQ(error("path = \"/a/{y}}\""),
            "r.toml:2: route /a/{y}}: a path parameter is a whole segment, as in "
            "/purchase_a_sword/{sword_type}; '{y}}' is not one");
  EXPECT_EQ(error("path = \"/a/{}\""),
            "r.toml:2: route /a/{}: path parameter name must not be empty");
  EXPECT_EQ(
      error("path = \"/a/{b\\u0001}\""),
      "r.toml:2: route /a/{b\\u0001}: path parameter name 'b\\u0001' must not contain control "
      "characters");
  EXPECT_EQ(error("path = \"/{x}/{X}\""),
            "r.toml:2: route /{x}/{X}: path parameters 'x' and 'X' differ only in case, which "
            "Spark does not allow");
  EXPECT_EQ(error("path = \"/{x}/{x}\""),
            "r.toml:2: route /{x}/{x}: path parameter 'x' appears twice");
  EXPECT_EQ(error("path = \"/{event_type}\"\nevent = { event_type = \"a\" }"),
            "r.toml:2: route /{event_type}: path parameter 'event_type' has the name of an event "
            "field: an event has one value per name");
  EXPECT_EQ(error("path = \"/{Event_Type}\"\nevent = { event_type = \"a\" }"),
            "r.toml:2: route /{Event_Type}: event field 'event_type' and path parameter "
            "'Event_Type' differ only in case, which Spark does not allow");
  EXPECT_EQ(error("path = \"/{k}\"\nquery = [\"K\"]"),
            "r.toml:3: route /{k}: path parameter 'k' and query parameter 'K' differ only in "
            "case, which Spark does not allow");
  EXPECT_EQ(error("path = \"/\"\nquery = [\"color\", \"Color\"]"),
            "r.toml:3: route /: query parameters 'color' and 'Color' differ only in case, which "
            "Spark does not allow");
  EXPECT_EQ(error("path = \"/\"\nquery = [\"\"]"),
            "r.toml:3: route /: query parameter name must not be empty");
  EXPECT_EQ(error("path = \"/\"\nquery = \"*\"\ntypes = { Description = \"int\" }\n"
                  "event = { description = \"x\" }"),
            "r.toml:4: route /: event field 'description' and query parameter 'Description' "
            "differ only in case, which Spark does not allow");
}

TEST(RouteTableTest, QueryTypesAndBodyKeys) {
  RouteTable t = table(R"(
[[route]]
path = "/s/{sword_type}/{level}"
query = ["color", "qty", "price", "rare"]
types = { qty = "int", price = "float", rare = "bool", level = "int", color = "string" }
event = { event_type = "purchase_sword" }
[[route]]
path = "/all"
query = "*"
types = { qty = "int" }
[[route]]
path = "/inventory/{player}"
request_body = "json"
)");
  const Route* s = t.find("/s/long/3");
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->plain());
  ASSERT_EQ(s->path_params.size(), 2u);
  EXPECT_EQ(s->path_params[0].type, ParamType::string);
  EXPECT_EQ(s->path_params[1].type, ParamType::int64);
  ASSERT_EQ(s->query_params.size(), 4u);
  EXPECT_EQ(s->query_params[0].name, "color");
  EXPECT_EQ(s->query_params[1].type, ParamType::int64);
  EXPECT_EQ(s->query_params[2].type, ParamType::float64);
  EXPECT_EQ(s->query_params[3].type, ParamType::boolean);
  EXPECT_FALSE(s->all_query);
  EXPECT_FALSE(s->takes_body("POST"));

  const Route* all = t.find("/all");
  ASSERT_NE(all, nullptr);
  EXPECT_TRUE(all->all_query);
  ASSERT_EQ(all->query_params.size(), 1u);  // typed: a query parameter it names
  EXPECT_EQ(all->query_params[0].name, "qty");

  const Route* inv = t.find("/inventory/alice");
  ASSERT_NE(inv, nullptr);
  EXPECT_EQ(inv->methods, std::vector<std::string>{"POST"});  // the default with a body
  EXPECT_TRUE(inv->takes_body("POST"));
  EXPECT_FALSE(inv->takes_body("GET"));
  EXPECT_EQ(inv->allow_header(), "OPTIONS, POST");
  const RouteTable defaults = RouteTable::defaults();
  for (const Route& r : defaults.routes()) EXPECT_TRUE(r.plain()) << r.path;

  auto error = [](const std::string& route) {
    return load_error("[[route]]\npath = \"/{p}\"\n" + route + "\n");
  };
  EXPECT_EQ(error("query = 5"), "r.toml:3: query must be a list of parameter names or \"*\"");
  EXPECT_EQ(error("query = \"all\""), "r.toml:3: query must be a list of parameter names or \"*\"");
  EXPECT_EQ(error("query = [1]"), "r.toml:3: query must be a list of parameter names or \"*\"");
  EXPECT_EQ(error("types = { p = \"integer\" }"),
            "r.toml:3: route /{p}: the type of 'p' must be \"string\", \"int\", \"float\" or "
            "\"bool\"");
  EXPECT_EQ(error("types = { q = \"int\" }"),
            "r.toml:3: route /{p}: types names 'q', which is neither a path parameter nor a "
            "query parameter of the route (list it in query)");
  EXPECT_EQ(error("types = { P = \"int\" }"),
            "r.toml:3: route /{p}: types names 'P', which is neither a path parameter nor a "
            "query parameter of the route (list it in query)");
  EXPECT_EQ(error("types = 1"), "r.toml:3: types must be a table of parameter = \"type\"");
  EXPECT_EQ(error("request_body = \"xml\""),
            "r.toml:3: request_body must be \"json\" (a JSON object whose fields go into the "
            "event)");
  EXPECT_EQ(error("request_body = \"json\"\nmethods = [\"GET\"]"),
            "r.toml:3: route /{p}: request_body = \"json\" needs a method that sends a body, "
            "such as methods = [\"POST\"]");
  EXPECT_EQ(error("request_body = \"json\"\nmethods = [\"GET\", \"PUT\"]"), "accepted");
}

}  // namespace
}  // namespace questlog::http

namespace questlog::http {
namespace {

std::string route_error(const std::string& route) {
  auto t = RouteTable::parse("[[route]]\npath = \"/x\"\n" + route + "\n", "r.toml");
  return t.ok() ? std::string("accepted") : t.status().message();
}

// A content type or method with CR/LF would write a header of the file's choosing
// into every response.
TEST(RoutesValidationTest, ControlCharactersInResponseHeadersAreRefused) {
  EXPECT_EQ(route_error(R"(content_type = "text/plain\r\nSet-Cookie: a=b")"),
            "r.toml:3: route /x: content_type 'text/plain\\u000d\\u000aSet-Cookie: a=b' must not "
            "contain control characters (it is sent as a response header)");
  EXPECT_EQ(route_error(R"(content_type = "text/plain\u0000")"),
            "r.toml:3: route /x: content_type 'text/plain\\u0000' must not contain control "
            "characters (it is sent as a response header)");
  EXPECT_EQ(route_error(R"(methods = ["GET", "POST\r\nX-Injected: 1"])"),
            "r.toml:3: route /x: method 'POST\\u000d\\u000aX-Injected: 1' must be a token: "
            "letters, digits and !#$%&'*+-.^_`|~ (it is sent in the Allow header)");
  EXPECT_NE(route_error(R"(methods = ["GE T"])").find("method 'GE T' must be a token"),
            std::string::npos);
  EXPECT_EQ(route_error(R"(content_type = "application/json; charset=utf-8")"), "accepted");
  EXPECT_EQ(route_error(R"(methods = ["PATCH", "X-CUSTOM_1"])"), "accepted");
}

TEST(RoutesValidationTest, NoContentStatusesRefuseABody) {
  EXPECT_EQ(route_error("status = 204\nbody = \"done\""),
            "r.toml:3: route /x: status 204 must not have a body (body = \"\")");
  EXPECT_EQ(route_error("body = \"done\"\nstatus = 205"),
            "r.toml:4: route /x: status 205 must not have a body (body = \"\")");
  EXPECT_EQ(route_error("status = 204"), "accepted");
  EXPECT_EQ(route_error("status = 204\nbody = \"\""), "accepted");
  // 304 and other codes outside 2xx were already refused.
  EXPECT_EQ(route_error("status = 304\nbody = \"x\""),
            "r.toml:3: status must be an integer from 200 to 299");
}

TEST(RoutesValidationTest, AQuestionMarkInAPathIsRefused) {
  auto t = RouteTable::parse("[[route]]\npath = \"/shop?item=sword\"\n", "r.toml");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            "r.toml:2: route /shop?item=sword: path must not contain '?': a route matches the "
            "path without the query string (name the query parameters to keep with query)");
}

// Every table has a `timestamp` column, the ingest time, which replaced an event
// key of that name without a word.
TEST(RoutesValidationTest, ReservedKeysAreRefusedWhateverTheirSource) {
  EXPECT_EQ(route_error(R"(event = { event_type = "x", timestamp = 5 })"),
            "r.toml:3: route /x: event field name 'timestamp' is reserved: every table has a "
            "'timestamp' column of its own");
  EXPECT_EQ(route_error(R"(event = { TimeStamp = "x" })"),
            "r.toml:3: route /x: event field name 'TimeStamp' is reserved: every table has a "
            "'timestamp' column of its own");
  EXPECT_EQ(route_error("query = [\"timestamp\"]"),
            "r.toml:3: route /x: query parameter name 'timestamp' is reserved: every table has "
            "a 'timestamp' column of its own");
  EXPECT_EQ(route_error("query = \"*\"\ntypes = { timestamp = \"int\" }"),
            "r.toml:4: route /x: query parameter name 'timestamp' is reserved: every table has "
            "a 'timestamp' column of its own");
  auto t = RouteTable::parse("[[route]]\npath = \"/at/{timestamp}\"\n", "r.toml");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            "r.toml:2: route /at/{timestamp}: path parameter name 'timestamp' is reserved: every "
            "table has a 'timestamp' column of its own");
  EXPECT_EQ(route_error(R"(event = { timestamps = 1, time = 2 })"), "accepted");
}

}  // namespace
}  // namespace questlog::http

namespace questlog::http {
namespace {

// Found by fuzz/routes_fuzz.cpp: a path or key holding a line break ran the
// message naming it onto a second line.
TEST(RoutesValidationTest, AnErrorIsOneLineWhateverTheFileHolds) {
  auto path = RouteTable::parse("[[route]]\npath = \"/a\\nb/{x\"\n", "r.toml");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().message(),
            "r.toml:2: route /a\\u000ab/{x: a path parameter is a whole segment, as in "
            "/purchase_a_sword/{sword_type}; '{x' is not one");
  auto key = RouteTable::parse("[[route]]\npath = \"/\"\n\"bo\\r\\ndy\" = 1\n", "r.toml");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().message(), "r.toml:3: unknown route key 'bo\\u000d\\u000ady'");
  auto syntax = RouteTable::parse("[[route]]\npath = tru\n", "r.toml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().message().find('\n'), std::string::npos) << syntax.status().message();
}

}  // namespace
}  // namespace questlog::http
