// Sweep waveforms against their closed forms.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "core/waveform.hpp"

using sdm::core::Waveform;

TEST(Waveform, PaperTriangleHas251PointsPeakInTheMiddleAndConstantRate) {
  const Waveform w = Waveform::triangle(1.5, 251, 1.0);
  ASSERT_EQ(w.size(), 251u);
  EXPECT_DOUBLE_EQ(w.bias_v.front(), 0.0);
  EXPECT_DOUBLE_EQ(w.bias_v[125], 1.5);
  EXPECT_NEAR(w.bias_v.back(), 0.0, 1e-15);
  // 3 V travelled at 1 V/s takes 3 s.
  EXPECT_NEAR(w.duration_s(), 3.0, 1e-12);
  EXPECT_NEAR(w.max_rate_v_per_s(), 1.0, 1e-9);
  EXPECT_NEAR(w.bias_v[1] - w.bias_v[0], 1.5 / 125, 1e-15);
  EXPECT_NO_THROW(w.validate());
}

TEST(Waveform, BipolarVisitsBothPolaritiesAndReturnsToZero) {
  const Waveform w = Waveform::bipolar(1.0, 401, 2.0);
  EXPECT_DOUBLE_EQ(w.bias_v[100], 1.0);
  EXPECT_DOUBLE_EQ(w.bias_v[300], -1.0);
  EXPECT_NEAR(w.bias_v.back(), 0.0, 1e-12);
  EXPECT_NEAR(w.duration_s(), 4.0 / 2.0, 1e-9);  // 4 V of travel at 2 V/s
  EXPECT_NEAR(w.max_abs_bias_v(), 1.0, 1e-15);
}

TEST(Waveform, ArbitraryHoldsRepeatedBiases) {
  const Waveform w = Waveform::arbitrary({0.0, 0.5, 0.5, -0.5}, 0.5, 0.01);
  EXPECT_NEAR(w.time_s[1], 1.0, 1e-12);
  EXPECT_NEAR(w.time_s[2], 1.01, 1e-12);
  EXPECT_NEAR(w.time_s[3], 3.01, 1e-12);
}

TEST(Waveform, BadParametersAreRejectedWithAMessage) {
  EXPECT_THROW(Waveform::triangle(-1.0), sdm::Error);
  EXPECT_THROW(Waveform::triangle(1.5, 2), sdm::Error);
  EXPECT_THROW(Waveform::triangle(1.5, 251, 0.0), sdm::Error);
  Waveform w;
  w.time_s = {0, 1, 1};
  w.bias_v = {0, 1, 2};
  try {
    w.validate();
    FAIL();
  } catch (const sdm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("strictly"), std::string::npos);
  }
}
