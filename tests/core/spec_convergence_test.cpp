// The spec keys of convergence studies: validation split, stop_at, noise scale.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/core/errors.hpp"
#include "runtime/core/spec.hpp"

namespace lb {
namespace {

using json = nlohmann::json;

Spec spec_with(const std::vector<std::string>& assignments) {
  json document = json::object();
  for (const std::string& a : assignments) apply_override(document, a);
  return parse_spec(document);
}

std::string error_path(const std::vector<std::string>& assignments) {
  try {
    spec_with(assignments);
  } catch (const SpecError& e) {
    return e.path();
  }
  return "(accepted)";
}

TEST(SpecConvergence, DefaultsMeasureTheNoiseScaleAndNeverStopEarly) {
  const Spec s = parse_spec(json::object());
  EXPECT_EQ(s.data.validation_images, 0);
  EXPECT_FALSE(s.train.stop_at.enabled());
  EXPECT_EQ(s.train.noise_scale_every, 10);
  EXPECT_EQ(to_json(s)["train"]["stop_at"], json::object());
}

TEST(SpecConvergence, StopAtTakesOneMetricAndRoundTrips) {
  const Spec s =
      spec_with({"train.stop_at={\"validation_accuracy\": 0.9}", "data.validation_images=5000"});
  EXPECT_EQ(s.train.stop_at.metric, "validation_accuracy");
  EXPECT_DOUBLE_EQ(s.train.stop_at.value, 0.9);
  EXPECT_EQ(s.data.validation_images, 5000);
  const Spec again = parse_spec(to_json(s));
  EXPECT_EQ(again.train.stop_at.metric, "validation_accuracy");
  EXPECT_EQ(to_json(again), to_json(s));
}

TEST(SpecConvergence, BadStopAtNamesThePath) {
  EXPECT_EQ(error_path({"train.stop_at={\"accuracy\": 0.9}"}), "train.stop_at.accuracy");
  EXPECT_EQ(error_path({"train.stop_at={\"validation_accuracy\": 1.5}"}),
            "train.stop_at.validation_accuracy");
  EXPECT_EQ(error_path({"train.stop_at={\"validation_loss\": 0}"}),
            "train.stop_at.validation_loss");
  EXPECT_EQ(error_path({"train.stop_at={\"test_loss\": 0.3, \"test_accuracy\": 0.9}"}),
            "train.stop_at");
  EXPECT_EQ(error_path({"train.stop_at=0.9"}), "train.stop_at");
  EXPECT_EQ(error_path({"train.noise_scale_every=-1"}), "train.noise_scale_every");
  EXPECT_EQ(error_path({"train.noise_scale_ema=1"}), "train.noise_scale_ema");
  EXPECT_EQ(error_path({"data.validation_images=-5"}), "data.validation_images");
}

}  // namespace
}  // namespace lb
