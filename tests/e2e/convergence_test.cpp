// lb-train's convergence measurements: the held-out validation split, stopping
// at a target, and the gradient noise scale in metrics.jsonl and summary.json.
#include <fstream>
#include <vector>

#include "e2e_helpers.hpp"

namespace {

using namespace lb::e2e;

class Convergence : public E2eTest {
 protected:
  void SetUp() override {
    require_dataset();
    if (IsSkipped()) return;
    E2eTest::SetUp();
  }

  RunResult train(const fs::path& out, const std::string& args) {
    return shell(kLbTrain.string() + " " + kDefaultSpec.string() + " " + kCommon + " --out " +
                 out.string() + " " + args);
  }

  std::vector<nlohmann::json> rows(const fs::path& out, const std::string& type) {
    std::vector<nlohmann::json> found;
    std::ifstream in(out / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      auto row = nlohmann::json::parse(line);
      if (row.value("type", "") == type) found.push_back(row);
    }
    return found;
  }

  const std::string kCommon = "--set data.train_subset=4096 --set train.threads=1 -q";
};

// The small-batch pass runs with the step's weights and puts the BatchNorm
// running statistics back, so measuring changes nothing about training.
TEST_F(Convergence, MeasuringTheNoiseScaleLeavesTrainingBitIdentical) {
  for (const std::string ghost : {"0", "64"}) {
    const fs::path on = dir_ / ("on" + ghost), off = dir_ / ("off" + ghost);
    const std::string common = "--max-steps 9 --set train.bn_ghost_batch=" + ghost;
    ASSERT_EQ(train(on, common + " --set train.noise_scale_every=3").exit_code, 0);
    ASSERT_EQ(train(off, common + " --set train.noise_scale_every=0").exit_code, 0);
    EXPECT_EQ(summary(on).at("weights_sha256"), summary(off).at("weights_sha256"))
        << "ghost " << ghost;
    const auto noise = rows(on, "noise_scale");
    ASSERT_EQ(noise.size(), 3u);  // steps 0, 3 and 6, logged after each
    EXPECT_EQ(noise[1].at("step"), 4);
    EXPECT_EQ(noise[0].at("b_big"), 256);
    EXPECT_EQ(noise[0].at("b_small"), 128);
    for (const auto& row : noise) {
      EXPECT_GT(row.at("g2_small").get<double>(), row.at("g2_big").get<double>());
      EXPECT_TRUE(row.at("b_simple").is_number());
    }
    EXPECT_TRUE(rows(off, "noise_scale").empty());
  }
}

TEST_F(Convergence, NoiseScaleReachesTheSummary) {
  const fs::path out = dir_ / "run";
  ASSERT_EQ(train(out, "--max-steps 16 --set train.noise_scale_every=4").exit_code, 0);
  const auto s = summary(out);
  ASSERT_TRUE(s.at("noise_scale").is_object()) << s.dump();
  EXPECT_GT(s["noise_scale"].at("b_simple").get<double>(), 0);
  EXPECT_EQ(s["noise_scale"].at("step"), 13);
  EXPECT_EQ(s.at("noise_scale").at("b_simple"), rows(out, "noise_scale").back().at("b_simple"));
}

TEST_F(Convergence, ValidationSplitIsEvaluatedAndStopAtEndsTheRun) {
  const fs::path out = dir_ / "run";
  const std::string args =
      "--set data.validation_images=1000 --set train.epochs=4 --set train.eval_every_epochs=0.25"
      " --set 'train.stop_at={\"validation_accuracy\": 0.6}'";
  const RunResult r = train(out, args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto s = summary(out);
  // 3,096 training images left: 12 steps an epoch, 48 in all; 0.6 comes within the first epoch.
  EXPECT_EQ(s.at("total_steps"), 48);
  EXPECT_TRUE(s.at("stopped_at_target").get<bool>());
  EXPECT_TRUE(s.at("finished").get<bool>());
  const std::int64_t at = s.at("steps_to_target");
  EXPECT_EQ(s.at("steps"), at);
  EXPECT_LT(at, 48);
  EXPECT_EQ(at % 3, 0);  // evaluated every quarter epoch (3 steps)
  EXPECT_GE(s.at("validation_accuracy").get<double>(), 0.6);
  EXPECT_EQ(s.at("target"), (nlohmann::json{{"metric", "validation_accuracy"}, {"value", 0.6}}));
  const auto evals = rows(out, "eval");
  ASSERT_FALSE(evals.empty());
  EXPECT_EQ(evals.back().at("step"), at);
  for (const auto& e : evals)
    EXPECT_TRUE(e.contains("validation_accuracy") && e.contains("test_accuracy"));

  // A resumed run that had reached its target trains no further.
  const RunResult again = train(out, args + " --resume");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(summary(out).at("steps"), at);
}

TEST_F(Convergence, StopAtAValidationMetricWithoutASplitExitsTwo) {
  const fs::path out = dir_ / "run";
  const RunResult r = train(out, "--set 'train.stop_at={\"validation_loss\": 0.5}'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("train.stop_at.validation_loss"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("data.validation_images"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out / "summary.json"));
}

}  // namespace
