// lb-train end to end, through the binary as a user runs it.
#include <algorithm>

#include "e2e_helpers.hpp"

namespace {

using namespace lb::e2e;

class LbTrain : public E2eTest {
 protected:
  RunResult run(const std::string& args) { return shell(kLbTrain.string() + " " + args); }
};

TEST_F(LbTrain, DefaultExperimentReachesTargetAccuracyInOneEpoch) {
  require_dataset();
  const fs::path out = dir_ / "run";
  const RunResult r = run(kDefaultSpec.string() + " --out " + out.string() +
                          " --set train.epochs=1 --set train.threads=2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto s = summary(out);
  EXPECT_GE(s.at("test_accuracy").get<double>(), 0.85) << r.output;
  for (const char* key :
       {"test_accuracy", "final_loss", "train_images_per_s", "steps", "weights_sha256"}) {
    EXPECT_TRUE(s.contains(key)) << key;
  }
  EXPECT_EQ(s.at("weights_sha256").get<std::string>().size(), 64u);
  EXPECT_TRUE(fs::exists(out / "metrics.jsonl"));
  EXPECT_TRUE(fs::exists(out / "checkpoint.bin"));
  EXPECT_NE(r.output.find("test accuracy"), std::string::npos) << r.output;
}

TEST_F(LbTrain, BadSpecExitsTwoNamingThePathAndWritesNothing) {
  const fs::path out = dir_ / "never";
  const RunResult r =
      run(kDefaultSpec.string() + " --out " + out.string() + " --set optimizer.lars.eta='\"x\"'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("spec error: optimizer.lars.eta"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(LbTrain, MissingDataExitsTwoNamingTheFile) {
  const fs::path out = dir_ / "never";
  const RunResult r = run(kDefaultSpec.string() + " --out " + out.string() +
                          " --set data.dir=" + (dir_ / "nodata").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find((dir_ / "nodata").string()), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(LbTrain, BadCommandLineExitsTwo) {
  EXPECT_EQ(run("--no-such-flag").exit_code, 2);
  EXPECT_EQ(run(kDefaultSpec.string()).exit_code, 2);  // --out missing
  EXPECT_EQ(run("--help").exit_code, 0);
}

// Interrupting and resuming must not change a single bit of the result.
class LbTrainResume : public LbTrain, public ::testing::WithParamInterface<const char*> {};

TEST_P(LbTrainResume, ResumeGivesIdenticalWeights) {
  require_dataset();
  const std::string common = kDefaultSpec.string() +
                             " --set data.train_subset=1536 --set train.global_batch=128"
                             " --set train.epochs=2 --set train.threads=2 --set model.dropout=0.25"
                             " --set train.precision=" +
                             GetParam();
  const RunResult whole = run(common + " --out " + (dir_ / "whole").string());
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const RunResult first = run(common + " --out " + (dir_ / "split").string() + " --max-steps 17");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto part = summary(dir_ / "split");
  EXPECT_EQ(part.at("steps"), 17);
  const RunResult rest = run(common + " --out " + (dir_ / "split").string() + " --resume");
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  const auto a = summary(dir_ / "whole"), b = summary(dir_ / "split");
  EXPECT_EQ(a.at("steps"), 24);
  EXPECT_EQ(b.at("steps"), 24);
  EXPECT_EQ(a.at("weights_sha256"), b.at("weights_sha256"));
  EXPECT_EQ(a.at("test_accuracy"), b.at("test_accuracy"));
  // The summary counts the whole run, not only the resumed part.
  EXPECT_EQ(a.at("final_loss"), b.at("final_loss"));
  // (Compared with the first part's own figure, not with the other run's wall
  // time, which depends on how loaded the machine is.)
  EXPECT_GT(b.at("train_time_s").get<double>(), part.at("train_time_s").get<double>());

  // Resuming a finished run only evaluates again: its summary keeps the figures.
  const RunResult again = run(common + " --out " + (dir_ / "split").string() + " --resume");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  const auto c = summary(dir_ / "split");
  EXPECT_EQ(c.at("final_loss"), b.at("final_loss"));
  EXPECT_EQ(c.at("train_time_s"), b.at("train_time_s"));
  EXPECT_EQ(c.at("test_accuracy"), b.at("test_accuracy"));
}

INSTANTIATE_TEST_SUITE_P(Precisions, LbTrainResume, ::testing::Values("fp32", "fp16"));

// hparam-sweep's rungs: --max-epochs stops at the end of that epoch with a
// checkpoint and an evaluation there; --resume finishes the run bit for bit.
TEST_F(LbTrain, MaxEpochsStopsAtTheEpochAndResumes) {
  require_dataset();
  const std::string common = kDefaultSpec.string() +
                             " --set data.train_subset=1536 --set train.global_batch=128"
                             " --set train.epochs=2 --set train.threads=2";
  ASSERT_EQ(run(common + " --out " + (dir_ / "whole").string()).exit_code, 0);
  const RunResult first = run(common + " --out " + (dir_ / "split").string() + " --max-epochs 1");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto paused = summary(dir_ / "split");
  EXPECT_EQ(paused.at("steps"), 12);  // 1536 / 128 steps an epoch
  EXPECT_EQ(paused.at("finished"), false);
  EXPECT_TRUE(fs::exists(dir_ / "split" / "checkpoint.bin"));
  ASSERT_EQ(run(common + " --out " + (dir_ / "split").string() + " --resume").exit_code, 0);
  EXPECT_EQ(summary(dir_ / "split").at("weights_sha256"),
            summary(dir_ / "whole").at("weights_sha256"));
  EXPECT_EQ(run(common + " --out " + (dir_ / "bad").string() + " --max-epochs -1").exit_code, 2);
}

// Divergence has its own exit code (3), which hparam-sweep reads instead of
// the message: a huge SGD step sends the loss to inf or NaN within a few steps.
TEST_F(LbTrain, DivergedLossExitsThree) {
  require_dataset();
  const RunResult r = run(kDefaultSpec.string() + " --out " + (dir_ / "nan").string() +
                          " --set data.train_subset=512 --set train.global_batch=128"
                          " --set train.epochs=1 --set train.threads=2 --set train.precision=fp32"
                          " --set optimizer.name=sgd --set optimizer.lr.base=1e30"
                          " --set optimizer.lr.warmup_epochs=0");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("lb-train: error: training diverged"), std::string::npos) << r.output;
}

// train.bn_ghost_batch: a divisor of the batch trains (and changes the
// result); a non-divisor, or the GPU backend, is a spec error naming the key.
TEST_F(LbTrain, GhostBatchNormTrainsAndBadGhostBatchExitsTwo) {
  require_dataset();
  const std::string common = kDefaultSpec.string() +
                             " --set data.train_subset=512 --set train.global_batch=128"
                             " --set train.epochs=1 --set train.threads=2 --max-steps 2";
  ASSERT_EQ(run(common + " --out " + (dir_ / "whole").string()).exit_code, 0);
  const RunResult ghost =
      run(common + " --out " + (dir_ / "ghost").string() + " --set train.bn_ghost_batch=32");
  ASSERT_EQ(ghost.exit_code, 0) << ghost.output;
  EXPECT_NE(summary(dir_ / "ghost").at("weights_sha256"),
            summary(dir_ / "whole").at("weights_sha256"));
  for (const std::string bad :
       {" --set train.bn_ghost_batch=48", " --set train.bn_ghost_batch=32 --set device=cuda"}) {
    const fs::path out = dir_ / "never";
    const RunResult r = run(common + " --out " + out.string() + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("spec error: train.bn_ghost_batch"), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(fs::exists(out)) << bad;
  }
}

}  // namespace
