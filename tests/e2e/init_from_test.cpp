// train.init_from through lb-train: a run starts from an earlier run's
// weights with its own step count, schedule and optimizer; a source of
// another model is a spec error; a resumed warm-started run keeps its record.
#include <algorithm>

#include "e2e_helpers.hpp"

namespace {

using namespace lb::e2e;

class InitFrom : public E2eTest {
 protected:
  RunResult run(const std::string& args) { return shell(kLbTrain.string() + " " + args); }

  // 1536 images at batch 128: 12 steps an epoch, a step row each.
  const std::string common_ =
      kDefaultSpec.string() +
      " --set data.train_subset=1536 --set train.global_batch=128"
      " --set train.epochs=1 --set train.threads=2 --set train.log_every_steps=1";

  // The loss of the first logged step.
  double first_loss(const fs::path& out) {
    std::ifstream in(out / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      const auto row = nlohmann::json::parse(line);
      if (row.at("type") == "step") return row.at("loss").get<double>();
    }
    ADD_FAILURE() << "no step row in " << out;
    return 0;
  }
};

TEST_F(InitFrom, StartsFromTheSourceWeightsWithAFreshRun) {
  require_dataset();
  const fs::path source = dir_ / "source", warm = dir_ / "warm", cold = dir_ / "cold";
  const RunResult s = run(common_ + " --set train.precision=fp16 --out " + source.string());
  ASSERT_EQ(s.exit_code, 0) << s.output;
  const std::string fp32 = common_ + " --set train.precision=fp32";
  const RunResult w =
      run(fp32 + " --set train.init_from=" + source.string() + " --out " + warm.string());
  ASSERT_EQ(w.exit_code, 0) << w.output;
  ASSERT_EQ(run(fp32 + " --out " + cold.string()).exit_code, 0);
  EXPECT_NE(w.output.find("initialised from " + (source / "checkpoint.bin").string()),
            std::string::npos)
      << w.output;

  const auto from = summary(warm).at("init_from");
  EXPECT_EQ(from.at("path"), source.string());
  EXPECT_EQ(from.at("file"), (source / "checkpoint.bin").string());
  EXPECT_EQ(from.at("step"), 12);
  // The loaded masters are the source's final ones, bit for bit.
  EXPECT_EQ(from.at("weights_sha256"), summary(source).at("weights_sha256"));
  EXPECT_TRUE(summary(cold).at("init_from").is_null());
  // Its own run: step 0 to 12 of its own schedule, not the source's 13 to 24.
  EXPECT_EQ(summary(warm).at("steps"), 12);
  EXPECT_EQ(summary(warm).at("spec").at("train").at("init_from"), source.string());
  // A trained start: the first step's loss is far below a random start's.
  EXPECT_LT(first_loss(warm), 0.8 * first_loss(cold));
}

// --resume of a warm-started run continues from its own checkpoint, bit for
// bit, and keeps the record of where it started.
TEST_F(InitFrom, ResumedRunKeepsItsSourceAndWeights) {
  require_dataset();
  const fs::path source = dir_ / "source";
  ASSERT_EQ(run(common_ + " --out " + source.string() + " --max-steps 6").exit_code, 0);
  const std::string warm =
      common_ + " --set train.init_from=" + (source / "checkpoint.bin").string();
  ASSERT_EQ(run(warm + " --out " + (dir_ / "whole").string()).exit_code, 0);
  ASSERT_EQ(run(warm + " --out " + (dir_ / "split").string() + " --max-steps 5").exit_code, 0);
  const RunResult rest = run(warm + " --out " + (dir_ / "split").string() + " --resume");
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_EQ(rest.output.find("initialised from"), std::string::npos) << rest.output;
  const auto whole = summary(dir_ / "whole"), split = summary(dir_ / "split");
  EXPECT_EQ(split.at("weights_sha256"), whole.at("weights_sha256"));
  EXPECT_EQ(split.at("init_from"), whole.at("init_from"));
  EXPECT_EQ(whole.at("init_from").at("step"), 6);
}

TEST_F(InitFrom, MismatchedOrMissingSourceExitsTwoAndWritesNothing) {
  require_dataset();
  const fs::path source = dir_ / "source";
  ASSERT_EQ(run(common_ + " --out " + source.string() + " --max-steps 1").exit_code, 0);
  const std::string from = " --set train.init_from=" + source.string();
  const struct {
    std::string args, expected;
  } cases[] = {
      {from + " --set model.name=resnet20",
       "spec error: train.init_from: " + (source / "checkpoint.bin").string() +
           " holds a lenet_bn model, this run's model.name is resnet20"},
      {from + " --set data.dataset=synthetic --set data.synthetic.classes=5",
       "in the source, shape [5, "},
      {" --set train.init_from=" + (dir_ / "nowhere").string(),
       "spec error: train.init_from: " + (dir_ / "nowhere").string() +
           ": no such file or directory"},
  };
  for (const auto& c : cases) {
    const fs::path out = dir_ / "never";
    const RunResult r = run(common_ + c.args + " --out " + out.string());
    EXPECT_EQ(r.exit_code, 2) << c.args << ": " << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(fs::exists(out)) << c.args;
  }
}

}  // namespace
