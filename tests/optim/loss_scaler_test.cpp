// Loss scaler state machine and the finiteness check.
#include "runtime/optim/loss_scaler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "runtime/core/errors.hpp"
#include "runtime/core/spec.hpp"

namespace lb {
namespace {

LossScaleSpec dynamic_spec(double init, int interval) {
  LossScaleSpec spec;
  spec.mode = LossScaleMode::dynamic;
  spec.init = init;
  spec.growth_interval = interval;
  spec.growth_factor = 2.0;
  spec.backoff_factor = 0.5;
  spec.min = 1.0;
  spec.max = 16777216.0;
  return spec;
}

TEST(LossScaler, GrowsAfterExactlyGrowthIntervalCleanSteps) {
  LossScaler scaler(dynamic_spec(1024, 5), true);
  EXPECT_EQ(scaler.scale(), 1024.0f);
  for (int round = 1; round <= 3; ++round) {
    for (int i = 0; i < 4; ++i) {
      EXPECT_TRUE(scaler.update(true));
      EXPECT_EQ(scaler.scale(), 1024.0f * static_cast<float>(1 << (round - 1)));
    }
    EXPECT_TRUE(scaler.update(true));
    EXPECT_EQ(scaler.scale(), 1024.0f * static_cast<float>(1 << round));
    EXPECT_EQ(scaler.state().clean_steps, 0);
  }
  EXPECT_EQ(scaler.skipped_steps(), 0);
}

TEST(LossScaler, BacksOffSkipsAndResetsCleanCount) {
  LossScaler scaler(dynamic_spec(1024, 3), true);
  EXPECT_TRUE(scaler.update(true));
  EXPECT_TRUE(scaler.update(true));
  EXPECT_FALSE(scaler.update(false));
  EXPECT_EQ(scaler.scale(), 512.0f);
  EXPECT_EQ(scaler.skipped_steps(), 1);
  EXPECT_EQ(scaler.state().clean_steps, 0);
  // Two clean steps before the overflow no longer count.
  EXPECT_TRUE(scaler.update(true));
  EXPECT_TRUE(scaler.update(true));
  EXPECT_EQ(scaler.scale(), 512.0f);
  EXPECT_TRUE(scaler.update(true));
  EXPECT_EQ(scaler.scale(), 1024.0f);
  EXPECT_FALSE(scaler.update(false));
  EXPECT_FALSE(scaler.update(false));
  EXPECT_EQ(scaler.scale(), 256.0f);
  EXPECT_EQ(scaler.skipped_steps(), 3);
}

TEST(LossScaler, RespectsMinAndMax) {
  LossScaleSpec spec = dynamic_spec(4, 1);
  spec.min = 1.0;
  spec.max = 32.0;
  LossScaler scaler(spec, true);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(scaler.update(false));
  EXPECT_EQ(scaler.scale(), 1.0f);
  EXPECT_EQ(scaler.skipped_steps(), 10);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(scaler.update(true));
  EXPECT_EQ(scaler.scale(), 32.0f);
  // A non-power-of-two bound is hit exactly, not overshot.
  spec.init = 3;
  spec.min = 2.5;
  spec.max = 10;
  LossScaler odd(spec, true);
  odd.update(false);
  EXPECT_EQ(odd.scale(), 2.5f);
  for (int i = 0; i < 5; ++i) odd.update(true);
  EXPECT_EQ(odd.scale(), 10.0f);
}

// A simple independent model of the dynamic scaler.
struct ReferenceScaler {
  LossScaleSpec spec;
  double scale;
  long clean = 0, skipped = 0;
  bool update(bool finite) {
    if (!finite) {
      scale = std::max(spec.min, scale * spec.backoff_factor);
      clean = 0;
      ++skipped;
      return false;
    }
    if (++clean == spec.growth_interval) {
      scale = std::min(spec.max, scale * spec.growth_factor);
      clean = 0;
    }
    return true;
  }
};

TEST(LossScaler, LongRandomSequenceMatchesReference) {
  LossScaleSpec spec;
  spec.mode = LossScaleMode::dynamic;
  spec.init = 4096;
  spec.growth_interval = 7;
  spec.growth_factor = 3.0;
  spec.backoff_factor = 0.25;
  spec.min = 0.5;
  spec.max = 1e6;
  LossScaler scaler(spec, true);
  ReferenceScaler ref{spec, spec.init};
  std::mt19937_64 rng(20180730);
  // Overflow probability drifts between phases so both bounds are reached.
  for (int phase = 0; phase < 40; ++phase) {
    std::bernoulli_distribution overflow(phase % 4 == 0 ? 0.6 : phase % 4 == 2 ? 0.001 : 0.1);
    for (int i = 0; i < 2500; ++i) {
      const bool finite = !overflow(rng);
      ASSERT_EQ(scaler.update(finite), ref.update(finite)) << "phase " << phase << " step " << i;
      ASSERT_EQ(scaler.state().scale, ref.scale);
      ASSERT_EQ(scaler.state().clean_steps, ref.clean);
      ASSERT_EQ(scaler.skipped_steps(), ref.skipped);
      ASSERT_GE(scaler.state().scale, spec.min);
      ASSERT_LE(scaler.state().scale, spec.max);
    }
  }
  EXPECT_GT(ref.skipped, 1000);
}

TEST(LossScaler, StaticSkipsButNeverChangesScale) {
  LossScaleSpec spec = dynamic_spec(128, 2);
  spec.mode = LossScaleMode::fixed;
  LossScaler scaler(spec, true);
  EXPECT_EQ(scaler.scale(), 128.0f);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(scaler.update(true));
  EXPECT_FALSE(scaler.update(false));
  EXPECT_FALSE(scaler.update(false));
  EXPECT_TRUE(scaler.update(true));
  EXPECT_EQ(scaler.scale(), 128.0f);
  EXPECT_EQ(scaler.skipped_steps(), 2);
}

TEST(LossScaler, DisabledNeverScalesOrSkips) {
  LossScaler off(dynamic_spec(1024, 1), /*enabled=*/false);
  LossScaleSpec none_spec = dynamic_spec(1024, 1);
  none_spec.mode = LossScaleMode::none;
  LossScaler none(none_spec, /*enabled=*/true);
  for (LossScaler* scaler : {&off, &none}) {
    EXPECT_EQ(scaler->scale(), 1.0f);
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE(scaler->update(true));
      EXPECT_TRUE(scaler->update(false));
    }
    EXPECT_EQ(scaler->scale(), 1.0f);
    EXPECT_EQ(scaler->skipped_steps(), 0);
  }
}

TEST(LossScaler, RestoreResumesExactly) {
  LossScaler a(dynamic_spec(1024, 4), true);
  for (bool finite : {true, false, true, true, false, true, true}) a.update(finite);
  const LossScaler::State saved = a.state();
  EXPECT_EQ(saved.scale, 256.0);
  EXPECT_EQ(saved.clean_steps, 2);
  EXPECT_EQ(saved.skipped, 2);
  LossScaler b(dynamic_spec(1024, 4), true);
  b.restore(saved);
  EXPECT_EQ(b.scale(), 256.0f);
  for (bool finite : {true, true, false, true, true, true, true, true}) {
    EXPECT_EQ(a.update(finite), b.update(finite));
    EXPECT_EQ(a.state().scale, b.state().scale);
    EXPECT_EQ(a.state().clean_steps, b.state().clean_steps);
    EXPECT_EQ(a.skipped_steps(), b.skipped_steps());
  }
  EXPECT_THROW(b.restore({0.0, 0, 0}), std::invalid_argument);
  EXPECT_THROW(b.restore({std::nan(""), 0, 0}), std::invalid_argument);
  EXPECT_THROW(b.restore({2.0, -1, 0}), std::invalid_argument);
}

TEST(LossScaler, RestoreKeepsConfiguredScaleWhenNotDynamic) {
  LossScaleSpec spec = dynamic_spec(128, 2);
  spec.mode = LossScaleMode::fixed;
  LossScaler fixed(spec, true);
  fixed.restore({4096.0, 0, 7});
  EXPECT_EQ(fixed.scale(), 128.0f);
  EXPECT_EQ(fixed.skipped_steps(), 7);
  LossScaler off(spec, false);
  off.restore({4096.0, 0, 0});
  EXPECT_EQ(off.scale(), 1.0f);
}

TEST(LossScaler, RejectsUnknownMode) {
  // An unknown mode cannot reach LossScaler: the spec parser rejects it.
  EXPECT_THROW(parse_spec({{"train", {{"loss_scale", {{"mode", "adaptive"}}}}}}), SpecError);
}

TEST(AllFinite, EmptyAndFiniteExtremes) {
  EXPECT_TRUE(all_finite({}));
  const std::vector<float> extremes = {0.0f,
                                       -0.0f,
                                       std::numeric_limits<float>::max(),
                                       std::numeric_limits<float>::lowest(),
                                       std::numeric_limits<float>::min(),
                                       std::numeric_limits<float>::denorm_min(),
                                       -std::numeric_limits<float>::denorm_min(),
                                       65504.0f};
  EXPECT_TRUE(all_finite(extremes));
}

// Every bad value at every position of short buffers (covering vector tails)
// and at the edges and middle of buffers around the 4096-element block size.
TEST(AllFinite, DetectsInfAndNanAnywhere) {
  const float bad_values[] = {
      std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
      std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
      std::numeric_limits<float>::signaling_NaN()};
  auto check = [&](std::size_t n, std::size_t pos) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = 1e30f * static_cast<float>(i % 3) - 7.0f;
    ASSERT_TRUE(all_finite(v)) << n;
    for (float bad : bad_values) {
      v[pos] = bad;
      EXPECT_FALSE(all_finite(v)) << "n " << n << " pos " << pos << " value " << bad;
      // A span that ends before the bad value does not see it.
      EXPECT_TRUE(all_finite(std::span<const float>(v).first(pos))) << n << " " << pos;
    }
  };
  for (std::size_t n = 1; n <= 40; ++n) {
    for (std::size_t pos = 0; pos < n; ++pos) check(n, pos);
  }
  for (std::size_t n : {4095u, 4096u, 4097u, 8191u, 12345u}) {
    for (std::size_t pos : {std::size_t{0}, n / 2, std::size_t{4095}, std::size_t{4096}, n - 1}) {
      if (pos < n) check(n, pos);
    }
  }
}

}  // namespace
}  // namespace lb
