#include "dfs/append_gaps.h"

#include <gtest/gtest.h>

namespace strata::dfs {
namespace {

TEST(AppendGapsTest, SequentialAppendsLeaveNone) {
  AppendGaps g;
  RecordAppend(&g, 0, 0, 10);
  RecordAppend(&g, 10, 10, 5);
  EXPECT_TRUE(g.empty());
}

TEST(AppendGapsTest, OutOfOrderAppendsFillTheirGaps) {
  // Four chunks of 4 bytes sent as 2, 0, 3, 1 (a parallel uploader).
  AppendGaps g;
  RecordAppend(&g, 0, 8, 4);
  EXPECT_EQ(g, (AppendGaps{{0, 8}}));
  RecordAppend(&g, 12, 0, 4);
  EXPECT_EQ(g, (AppendGaps{{4, 8}}));
  RecordAppend(&g, 12, 12, 4);
  EXPECT_EQ(g, (AppendGaps{{4, 8}}));
  RecordAppend(&g, 16, 4, 4);
  EXPECT_TRUE(g.empty());
}

TEST(AppendGapsTest, PartialFillsSplitAGap) {
  AppendGaps g;
  RecordAppend(&g, 0, 100, 1);  // gap [0, 100)
  RecordAppend(&g, 101, 40, 20);
  EXPECT_EQ(g, (AppendGaps{{0, 40}, {60, 100}}));
  RecordAppend(&g, 101, 120, 5);  // a second gap past the end
  EXPECT_EQ(g, (AppendGaps{{0, 40}, {60, 100}, {101, 120}}));
  RecordAppend(&g, 125, 30, 80);  // across two gaps and the bytes between
  EXPECT_EQ(g, (AppendGaps{{0, 30}, {110, 120}}));
  RecordAppend(&g, 125, 0, 0);  // an empty append changes nothing
  EXPECT_EQ(g, (AppendGaps{{0, 30}, {110, 120}}));
}

TEST(AppendGapsTest, FormatsAndParses) {
  AppendGaps g{{0, 30}, {110, 120}};
  EXPECT_EQ(FormatAppendGaps(g), "0-30,110-120");
  EXPECT_EQ(ParseAppendGaps("0-30,110-120"), g);
  EXPECT_EQ(ParseAppendGaps(""), AppendGaps{});
  for (const char* bad : {"5", "5-5", "9-3", "0-30,20-40", "a-b", "1-2,", "-1-2"})
    EXPECT_FALSE(ParseAppendGaps(bad).has_value()) << bad;
}

}  // namespace
}  // namespace strata::dfs
