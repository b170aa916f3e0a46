// ConfigSection: numeric ranges, enums, arrays and nested sections.
#include <gtest/gtest.h>

#include <cmath>

#include "core/config.hpp"

using sdm::core::Range;

TEST(Range, DescribesAndChecksOpenAndClosedBounds) {
  EXPECT_TRUE(Range::closed(0, 1).contains(0.0));
  EXPECT_TRUE(Range::closed(0, 1).contains(1.0));
  EXPECT_FALSE(Range::positive().contains(0.0));
  EXPECT_TRUE(Range::positive().contains(1e-300));
  EXPECT_FALSE(Range::closed(0, 1).contains(std::nan("")));
  EXPECT_EQ(Range::closed(0, 1).describe(), "[0, 1]");
  EXPECT_EQ(Range::positive().describe(), "> 0");
  EXPECT_EQ((Range{0, 0.5, true, false}).describe(), "(0, 0.5]");
}
