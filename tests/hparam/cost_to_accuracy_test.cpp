// The final stage's cost in time to accuracy (target.convergence): priced by
// `simulate-scaling plan` with a convergence model from a file or fitted to
// the sweep's own trials that stopped at a target; the fixed-epoch estimate
// when no model can be had. A fake simulator records how it was called.
#include <gtest/gtest.h>

#include "hparam_fixture.hpp"

namespace lb::hparam::test {
namespace {

class CostToAccuracy : public HparamTest {
 protected:
  void SetUp() override {
    HparamTest::SetUp();
    simulator_ = dir_ / "fake-simulate-scaling";
    calls_ = dir_ / "simulator-calls.txt";
    std::ofstream(simulator_)
        << "#!/bin/sh\necho \"$@\" >> " << calls_.string() << "\nfor a; do last=$a; done\n"
        << "case \"$1\" in\n"
        << "  fit-convergence) echo '{}' > \"$last\" ;;\n"
        << "  plan) mkdir -p \"$last\"; echo '{\"target\": \"validation_accuracy >= 0.5\", "
           "\"rows\": "
           "[{\"gpus\": 1024, \"global_batch\": 512, \"steps\": 1200, \"time_to_accuracy_s\": "
           "7320, "
           "\"gpu_hours\": 2082, \"cost\": 4164, \"extrapolated\": true}], \"skipped\": []}' > "
           "\"$last/plan.json\" ;;\n"
        << "  *) mkdir -p \"$last\"; echo '{\"results\": [{\"gpus\": 1024, \"time_to_train_s\": "
           "3725, \"images_per_s\": 1000, \"efficiency\": 0.9}]}' > \"$last/scaling.json\" ;;\n"
        << "esac\n";
    fs::permissions(simulator_, fs::perms::owner_all);
  }

  RunResult sweep(const json& doc, const std::string& extra = "--plan-only") {
    return shell("FAKE_TRIAL_EPOCH_S=0 " + kSweep.string() + " " + write_sweep(doc).string() +
                 " --out " + (dir_ / "out").string() + " --trainer " + kFake.string() +
                 " --simulator " + simulator_.string() + " " + extra);
  }

  // Three search trials at batches 256, 512, 1024 that stop at 50 % validation accuracy, then the
  // final stage.
  static json batch_sweep(const json& target, double stop_at = 0.5) {
    json doc = json::parse(R"({
      "name": "acc",
      "base": {"model": {"name": "lenet_bn"}, "data": {"validation_images": 5000},
               "train": {"epochs": 4, "global_batch": 512},
               "optimizer": {"name": "lars"}},
      "space": {"train.global_batch": {"choices": [256, 512, 1024]},
                "optimizer.lr.base": {"choices": [0.3]}},
      "stages": [{"name": "search", "sampler": "grid", "points": 1},
                 {"name": "final", "final": true, "top_k": 2}]
    })");
    doc["base"]["train"]["stop_at"] = {{"validation_accuracy", stop_at}};
    doc["target"] = target;
    return doc;
  }

  fs::path simulator_, calls_;
};

TEST_F(CostToAccuracy, AFileModelPricesEachFinalConfigurationWithPlan) {
  std::ofstream(dir_ / "model.json") << "{}";  // the fake simulator does not read it
  const RunResult r = sweep(
      batch_sweep({{"gpus", 1024}, {"convergence", "model.json"}, {"price_per_gpu_hour", 2}}));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cost estimate of the full runs on 1024 GPUs, time to accuracy"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(": 2 h 02 min to validation_accuracy >= 0.5 (1200 steps at batch 512, "
                          "extrapolated), 2082 GPU-hours, cost 4164.00"),
            std::string::npos)
      << r.output;
  const std::string calls = read_text(calls_);
  EXPECT_NE(calls.find("plan "), std::string::npos) << calls;
  EXPECT_NE(
      calls.find("--convergence " + (dir_ / "model.json").string() + " --gpus 1024 --batches "),
      std::string::npos)
      << calls;
  EXPECT_NE(calls.find("--no-plot --price-per-gpu-hour 2 --out "), std::string::npos) << calls;
  EXPECT_EQ(calls.find("fit-convergence"), std::string::npos) << calls;
}

TEST_F(CostToAccuracy, TrialsThatStoppedAtTheTargetAreFittedFirst) {
  const RunResult r = sweep(batch_sweep({{"gpus", 1024}, {"convergence", "trials"}}));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("convergence model fitted to 3 trial(s) that stopped at a target"),
            std::string::npos)
      << r.output;
  const std::string calls = read_text(calls_);
  const auto fit = calls.find("fit-convergence ");
  ASSERT_NE(fit, std::string::npos) << calls;
  for (const char* trial : {"/trials/1 ", "/trials/2 ", "/trials/3 "}) {
    EXPECT_NE(calls.find(trial, fit), std::string::npos) << trial << "\n" << calls;
  }
  EXPECT_NE(calls.find("--convergence " + (dir_ / "out" / "cost" / "convergence").string()),
            std::string::npos)
      << calls;
  EXPECT_EQ(calls.find("--price-per-gpu-hour"), std::string::npos) << calls;  // no price
}

TEST_F(CostToAccuracy, WithoutTrialsAtATargetItFallsBackToFixedEpochs) {
  const RunResult r = sweep(batch_sweep({{"gpus", 1024}, {"convergence", "trials"}}, 0.99));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no trial stopped at a target"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(": 1 h 02 min, 1000 images/s, efficiency 0.90"), std::string::npos)
      << r.output;
}

TEST_F(CostToAccuracy, BadTargetsAreRefusedBeforeAnythingRuns) {
  const RunResult missing = sweep(batch_sweep({{"gpus", 1024}, {"convergence", "nowhere.json"}}));
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("target.convergence: expected a convergence model file"),
            std::string::npos)
      << missing.output;
  const RunResult no_gpus = sweep(batch_sweep({{"convergence", "trials"}}));
  EXPECT_EQ(no_gpus.exit_code, 2) << no_gpus.output;
  EXPECT_NE(no_gpus.output.find("target.convergence: needs target.gpus"), std::string::npos)
      << no_gpus.output;
  const RunResult price = sweep(batch_sweep({{"gpus", 8}, {"price_per_gpu_hour", -1}}));
  EXPECT_EQ(price.exit_code, 2) << price.output;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

}  // namespace
}  // namespace lb::hparam::test
