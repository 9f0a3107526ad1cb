// simulate-scaling fit-convergence and plan end to end: the files they write,
// and bad input -> one line on stderr, exit 2, nothing written.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const fs::path kSource = LB_SOURCE_DIR;
const fs::path kBinary = fs::path(LB_BINARY_DIR) / "bin" / "simulate-scaling";
const fs::path kImageNet = kSource / "experiments" / "convergence" / "imagenet-resnet50-lars.json";
const fs::path kSeedSpec = kSource / "experiments" / "seed-resnet50-64k.json";

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ConvergenceApp : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lb_conv_app_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result run(const std::string& args) const {
    const std::string command = kBinary.string() + " " + args + " >" + (dir_ / "stdout").string() +
                                " 2>" + (dir_ / "stderr").string();
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir_ / "stdout"),
            slurp(dir_ / "stderr")};
  }

  void expect_bad_input(const std::string& args, const fs::path& not_written,
                        const std::string& mentions) {
    const Result r = run(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(not_written)) << "wrote output for bad input: " << args;
  }

  fs::path run_dir(const std::string& name, int batch, int steps,
                   const std::string& optimizer = "lars") const {
    const fs::path dir = dir_ / name;
    fs::create_directories(dir);
    std::ofstream(dir / "summary.json") << json{
        {"steps", steps},
        {"target", {{"metric", "validation_accuracy"}, {"value", 0.8}}},
        {"stopped_at_target", true},
        {"steps_to_target", steps},
        {"spec",
         {{"model", {{"name", "lenet_bn"}}},
          {"data",
           {{"dataset", "fashion_mnist"}, {"train_subset", 12000}, {"validation_images", 2000}}},
          {"train", {{"global_batch", batch}, {"precision", "fp32"}}},
          {"optimizer",
           {{"name", optimizer},
            {"nesterov", false}}}}}}.dump();
    return dir;
  }

  fs::path dir_;
};

TEST_F(ConvergenceApp, FitConvergenceWritesAModelThatPlanReads) {
  std::string dirs;
  for (int b : {64, 256, 1024}) {
    dirs += ' ';
    dirs += run_dir("b" + std::to_string(b), b, int(200 * (1 + 500.0 / b))).string();
  }
  const fs::path model = dir_ / "convergence.json";
  const Result fit = run("fit-convergence" + dirs + " --out " + model.string());
  ASSERT_EQ(fit.code, 0) << fit.err;
  EXPECT_NE(fit.out.find("residual"), std::string::npos) << fit.out;
  const json doc = json::parse(slurp(model));
  EXPECT_EQ(doc["method"], "steps_to_target_fit");
  EXPECT_NEAR(doc["s_min"].get<double>(), 200, 2);
  EXPECT_NEAR(doc["b_crit"].get<double>(), 500, 10);
  EXPECT_EQ(doc["points"].size(), 3u);

  const fs::path out = dir_ / "plan";
  const Result plan =
      run("plan " + (kSource / "experiments" / "fmnist-lenet-lars-fp16.json").string() +
          " --convergence " + model.string() +
          " --set train.precision=fp32 --gpus 1,2,3 "
          "--batches 64,256 --price-per-gpu-hour 3 --no-plot --out " +
          out.string());
  ASSERT_EQ(plan.code, 0) << plan.err;
  const json rows = json::parse(slurp(out / "plan.json"))["rows"];
  EXPECT_EQ(rows.size(), 4u);  // 3 divides neither batch
  for (const json& r : rows) {
    EXPECT_NEAR(r["cost"].get<double>(), 3 * r["gpu_hours"].get<double>(), 1e-9);
    EXPECT_EQ(r["fits_memory"], true);  // lenet_bn at <= 256 images on a V100
  }
  EXPECT_NE(plan.out.find("recommendation: fastest"), std::string::npos) << plan.out;
  EXPECT_EQ(plan.out.find("memory fit not checked"), std::string::npos) << plan.out;
  EXPECT_TRUE(fs::exists(out / "plan.csv"));
}

TEST_F(ConvergenceApp, PlanOnTheSeedSpecWithTheShippedImageNetModel) {
  const fs::path out = dir_ / "seed";
  const Result r = run("plan " + kSeedSpec.string() + " --convergence " + kImageNet.string() +
                       " --gpus 1024,2048 --batches 32768,65536 --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const json doc = json::parse(slurp(out / "plan.json"));
  ASSERT_EQ(doc["rows"].size(), 4u);
  for (const json& row : doc["rows"]) {
    EXPECT_EQ(row["steps"], row["global_batch"] == 65536 ? 1759 : 2512);
    EXPECT_GT(row["iteration_s"].get<double>(), 0);
    EXPECT_FALSE(row["extrapolated"].get<bool>());
    EXPECT_TRUE(row["cost"].is_null());
  }
  EXPECT_TRUE(doc["rows"][0]["pareto"].get<bool>());  // the fastest is always on the front
  EXPECT_FALSE(doc["recommendation"].is_null());
  if (fs::exists("/usr/bin/python3")) {
    EXPECT_TRUE(fs::exists(out / "plan.png")) << r.out;
  }
}

// The real memory estimate (not a stand-in): 8,192 ResNet-50 images per
// 24 GiB P40 do not fit, 32 do; the pair that does not fit is skipped with
// the estimate in its reason, not planned.
TEST_F(ConvergenceApp, PlanSkipsPairsThatDoNotFitTheDevice) {
  const fs::path out = dir_ / "fit";
  const Result r = run("plan " + kSeedSpec.string() + " --convergence " + kImageNet.string() +
                       " --gpus 8,2048 --batches 65536 --no-plot --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const json doc = json::parse(slurp(out / "plan.json"));
  ASSERT_EQ(doc["rows"].size(), 1u);
  EXPECT_EQ(doc["rows"][0]["gpus"], 2048);
  EXPECT_EQ(doc["rows"][0]["fits_memory"], true);
  ASSERT_EQ(doc["skipped"].size(), 1u);
  EXPECT_EQ(doc["skipped"][0]["gpus"], 8);
  const std::string reason = doc["skipped"][0]["reason"];
  EXPECT_EQ(reason.rfind("does not fit in memory: 8192 images per GPU need about ", 0), 0u)
      << reason;
}

TEST_F(ConvergenceApp, BadInputIsOneLineAndExit2) {
  const fs::path out = dir_ / "out", model = dir_ / "model.json";
  const std::string plan = "plan " + kSeedSpec.string() + " --out " + out.string() + " --no-plot ";
  json bad = json::parse(slurp(kImageNet));
  bad["b_crit"] = -1;
  std::ofstream(model) << bad.dump();
  expect_bad_input(plan + "--convergence " + model.string(), out, "b_crit");
  expect_bad_input(plan + "--convergence " + (dir_ / "none.json").string(), out,
                   "none.json: cannot open");
  expect_bad_input(plan, out, "--convergence");
  expect_bad_input(plan + "--convergence " + kImageNet.string() + " --gpus 4096", out,
                   "cluster.nodes");
  expect_bad_input(plan + "--convergence " + kImageNet.string() + " --batches 0", out, "--batches");
  expect_bad_input(plan + "--convergence " + kImageNet.string() + " --price-per-gpu-hour -1", out,
                   "--price-per-gpu-hour");

  const fs::path written = dir_ / "c.json";
  const std::string a = run_dir("a", 64, 1000).string(), b = run_dir("b", 256, 500, "sgd").string();
  expect_bad_input("fit-convergence " + a + " " + b + " --out " + written.string(), written,
                   "optimizer sgd");
  expect_bad_input("fit-convergence " + a + " --out " + written.string(), written,
                   "2 or more distinct");
  expect_bad_input("fit-convergence " + (dir_ / "nowhere").string() + " --out " + written.string(),
                   written, "summary.json: cannot open");
  expect_bad_input("fit-convergence --noise-scale " + a + " " + a + " --out " + written.string(),
                   written, "expected one run directory");
  expect_bad_input("fit-convergence --noise-scale " + a + " --out " + written.string(), written,
                   "metrics.jsonl");
}

}  // namespace
