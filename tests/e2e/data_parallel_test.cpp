// lb-train under mpirun: N ranks train like one, and a stalled or killed rank
// ends the job instead of hanging it.
#include "e2e_helpers.hpp"

namespace {

using namespace lb::e2e;

class DataParallel : public E2eTest {
 protected:
  void SetUp() override {
    if (std::system("command -v mpirun >/dev/null 2>&1") != 0) GTEST_SKIP() << "SKIPPED: mpirun not found";
    require_dataset();
    if (IsSkipped()) return;
    E2eTest::SetUp();
  }

  RunResult run(int ranks, const std::string& args, const std::string& env = "") {
    return shell("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " + env +
                 " mpirun --oversubscribe --bind-to none --mca btl self,vader,tcp"
                 " --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo -x LB_FAULT -np " +
                 std::to_string(ranks) + " " + kLbTrain.string() + " " + kDefaultSpec.string() +
                 " " + kCommon + " " + args);
  }

  const std::string kCommon =
      "--set data.train_subset=4096 --set train.threads=1 --set train.precision=fp32 -q";
};

// Same global batch, same data order, same augmentation: the runs differ only
// in BatchNorm statistics (per rank over 128 images instead of 256, as in any
// data-parallel trainer without synchronised BN) and in the order of float
// sums, so their accuracy and loss agree closely but not bit for bit.
TEST_F(DataParallel, TwoRanksTrainLikeOneWithTheSameGlobalBatch) {
  const RunResult one = run(1, "--set train.epochs=3 --out " + (dir_ / "one").string());
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const RunResult two = run(2, "--set train.epochs=3 --out " + (dir_ / "two").string());
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const auto a = summary(dir_ / "one"), b = summary(dir_ / "two");
  EXPECT_EQ(a.at("steps"), b.at("steps"));
  EXPECT_EQ(b.at("ranks"), 2);
  EXPECT_NEAR(a.at("test_accuracy").get<double>(), b.at("test_accuracy").get<double>(), 0.02);
  EXPECT_NEAR(a.at("final_loss").get<double>(), b.at("final_loss").get<double>(),
              0.15 * a.at("final_loss").get<double>());
  EXPECT_TRUE(fs::exists(dir_ / "two" / "trace.rank0.json"));
  EXPECT_TRUE(fs::exists(dir_ / "two" / "trace.rank1.json"));
}

TEST_F(DataParallel, StalledRankIsNamedAndTheJobEndsWithinTheTimeout) {
  const RunResult r = run(2, "--set train.epochs=1 --set comm.timeout_s=3 --out " + (dir_ / "s").string(),
                          "LB_FAULT=1:2:sleep");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("timed out after 3 s waiting for rank 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("gradient bucket"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 60.0);
}

TEST_F(DataParallel, KilledRankEndsTheJobAndEarlierCheckpointsStayValid) {
  const std::string out = " --out " + (dir_ / "k").string();
  const std::string args = "--set train.epochs=2 --set train.checkpoint_every_epochs=0.5 --set comm.timeout_s=5";
  const RunResult killed = run(2, args + out, "LB_FAULT=1:12:kill");
  EXPECT_NE(killed.exit_code, 0) << killed.output;
  EXPECT_LT(killed.seconds, 90.0);
  const RunResult resumed = run(2, args + out + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(summary(dir_ / "k").at("finished"), true);
}

}  // namespace
