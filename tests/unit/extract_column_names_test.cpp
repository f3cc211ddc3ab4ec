// Column names every reader accepts: names folded as Spark compares them, and
// the rename of keys that differ only in case.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "extract/column_names.h"
#include "util/case_fold.h"

namespace questlog::extract {
namespace {

TEST(CaseFoldTest, FoldsAsJavaLowerCasesForSpark) {
  EXPECT_EQ(fold_case("Description"), "description");
  EXPECT_EQ(fold_case("User-Agent_2"), "user-agent_2");
  EXPECT_EQ(fold_case("\xc3\x89P\xc3\x89"
                      "E"),
            "\xc3\xa9p\xc3\xa9"
            "e");  // ÉPÉE -> épée
  EXPECT_EQ(fold_case("\xe2\x84\xaa"
                      "ey"),
            "key");                                              // KELVIN SIGN
  EXPECT_EQ(fold_case("\xc5\xbf"), "s");                         // LONG S
  EXPECT_EQ(fold_case("\xf0\x90\x90\x80"), "\xf0\x90\x90\xa8");  // DESERET, 4 bytes
  // Sigma's three forms are one letter, whatever the position.
  EXPECT_EQ(fold_case("\xce\xa3"), fold_case("\xcf\x83"));
  EXPECT_EQ(fold_case("\xcf\x82"), fold_case("\xcf\x83"));
  // Java lower-cases DOTTED CAPITAL I to "i" + COMBINING DOT ABOVE.
  EXPECT_EQ(fold_case("\xc4\xb0"
                      "d"),
            "id");
  EXPECT_EQ(fold_case("i\xcc\x87"
                      "d"),
            "id");
  EXPECT_EQ(fold_case("a\xcc\x87"), "a\xcc\x87");  // the dot stays after other letters
}

TEST(CaseFoldTest, KeepsWhatHasNoCase) {
  EXPECT_EQ(fold_case(""), "");
  EXPECT_EQ(fold_case("x.y z,{}=\t"), "x.y z,{}=\t");
  EXPECT_EQ(fold_case(std::string("a\0B", 3)), std::string("a\0b", 3));
  EXPECT_EQ(fold_case("\xe5\x90\x8d\xe5\x89\x8d"), "\xe5\x90\x8d\xe5\x89\x8d");  // 名前
  // Bytes that are not UTF-8 are kept, the letters around them folded.
  EXPECT_EQ(fold_case("A\xff"
                      "B\xc3"),
            "a\xff"
            "b\xc3");
  EXPECT_EQ(fold_case("\xed\xa0\x80Q"), "\xed\xa0\x80q");  // a surrogate is not UTF-8
}

std::vector<std::string> names_of(const std::vector<std::string_view>& keys) {
  return name_columns(keys).names;
}

TEST(ColumnNamingTest, DistinctNamesAreKept) {
  EXPECT_EQ(names_of({"timestamp", "event_type", "Host", "host-name"}),
            (std::vector<std::string>{"timestamp", "event_type", "Host", "host-name"}));
  EXPECT_TRUE(name_columns({"a", "b"}).renames.empty());
}

TEST(ColumnNamingTest, LaterSpellingsAreNumberedInOrderOfAppearance) {
  ColumnNaming n =
      name_columns({"timestamp", "description", "Description", "Timestamp", "DESCRIPTION"});
  EXPECT_EQ(n.names, (std::vector<std::string>{"timestamp", "description", "Description__2",
                                               "Timestamp__2", "DESCRIPTION__3"}));
  ASSERT_EQ(n.renames.size(), 3u);
  EXPECT_EQ(n.renames[0].key, 2u);
  EXPECT_EQ(n.renames[0].kept, 1u);
  EXPECT_EQ(n.renames[1].key, 3u);
  EXPECT_EQ(n.renames[1].kept, 0u);
  EXPECT_EQ(n.renames[2].key, 4u);
  EXPECT_EQ(n.renames[2].kept, 1u);
}

TEST(ColumnNamingTest, ANewNameFoldsLikeNoKeyAndNoOtherColumn) {
  // description__2 and Description__3 are keys (seen later, keeping their
  // names): the renames take the next free numbers.
  EXPECT_EQ(
      names_of({"description", "Description", "description__2", "DESCRIPTION", "Description__3"}),
      (std::vector<std::string>{"description", "Description__4", "description__2", "DESCRIPTION__5",
                                "Description__3"}));
  // Two groups never share a name either.
  EXPECT_EQ(names_of({"a", "A", "a__2", "A__2"}),
            (std::vector<std::string>{"a", "A__3", "a__2", "A__2__2"}));
}

TEST(ColumnNamingTest, EveryNameFoldsApart) {
  std::vector<std::string> keys;
  for (const char* base : {"x", "X", "x__2", "X__2", "x__3", "X__2__2", "\xc5\xbf", "s", "S__2"})
    keys.emplace_back(base);
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<std::string> names = name_columns(views).names;
  ASSERT_EQ(names.size(), keys.size());
  std::vector<std::string> folds;
  for (const std::string& name : names) folds.push_back(fold_case(name));
  std::sort(folds.begin(), folds.end());
  EXPECT_EQ(std::adjacent_find(folds.begin(), folds.end()), folds.end());
}

TEST(ColumnNamingTest, TheNoteSaysWhy) {
  EXPECT_EQ(describe_rename("Description", "Description__2", "description"),
            "column Description renamed to Description__2: it differs from description only in "
            "case, which Spark does not allow");
}

std::vector<std::string> delta_names_of(const std::vector<std::string_view>& keys) {
  return name_columns(keys, NameRules::delta).names;
}

TEST(DeltaColumnNamingTest, EachCharacterDeltaRefusesBecomesAnUnderscore) {
  ColumnNaming n = name_columns({"timestamp", "player name", "a,b;c{d}e(f)g=h\ti\nj", "ok-name.x"},
                                NameRules::delta);
  EXPECT_EQ(n.names, (std::vector<std::string>{"timestamp", "player_name", "a_b_c_d_e_f_g_h_i_j",
                                               "ok-name.x"}));
  ASSERT_EQ(n.renames.size(), 2u);
  EXPECT_EQ(n.renames[0].key, 1u);
  EXPECT_EQ(n.renames[0].kept, 1u);  // key == kept: renamed for Delta, not for case
  EXPECT_EQ(n.renames[1].key, 2u);
  EXPECT_EQ(n.renames[1].kept, 2u);
}

TEST(DeltaColumnNamingTest, SparkRulesKeepThoseCharacters) {
  ColumnNaming n = name_columns({"player name", "x=y"});
  EXPECT_EQ(n.names, (std::vector<std::string>{"player name", "x=y"}));
  EXPECT_TRUE(n.renames.empty());
}

TEST(DeltaColumnNamingTest, ANewNameNeverTakesAKeysNameInAnyCase) {
  // player_name is a key (seen later): it keeps its name, and "player name"
  // takes the next free number, as does "Player name", which folds like both.
  EXPECT_EQ(delta_names_of({"player name", "player_name", "Player name"}),
            (std::vector<std::string>{"player_name__2", "player_name", "Player_name__3"}));
  // Two keys that differ only in a refused character get two columns.
  EXPECT_EQ(delta_names_of({"a b", "a,b", "a_b__2"}),
            (std::vector<std::string>{"a_b", "a_b__3", "a_b__2"}));
  // Case renames skip the new names too.
  EXPECT_EQ(delta_names_of({"a b", "a_B", "A_b"}),
            (std::vector<std::string>{"a_b__2", "a_B", "A_b__3"}));
}

TEST(DeltaColumnNamingTest, EveryNameFoldsApartAndHoldsNoRefusedCharacter) {
  std::vector<std::string> keys;
  for (const char* base : {"x y", "x_y", "X Y", "x=y", "X_Y__2", "x\ty", "(x)", "_x_", "x_y__3"})
    keys.emplace_back(base);
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<std::string> names = name_columns(views, NameRules::delta).names;
  ASSERT_EQ(names.size(), keys.size());
  std::vector<std::string> folds;
  for (const std::string& name : names) {
    EXPECT_EQ(name.find_first_of(kDeltaForbidden), std::string::npos) << name;
    folds.push_back(fold_case(name));
  }
  std::sort(folds.begin(), folds.end());
  EXPECT_EQ(std::adjacent_find(folds.begin(), folds.end()), folds.end());
}

TEST(DeltaColumnNamingTest, TheNoteIsOneLineAndSaysWhy) {
  EXPECT_EQ(describe_delta_rename("player\nname", "player_name"),
            "column \"player\\nname\" renamed to player_name: Delta tables do not allow a space or "
            "any of ,;{}()=, a line break or a tab in a column name (Spark refuses them without "
            "column mapping)");
}

}  // namespace
}  // namespace questlog::extract
