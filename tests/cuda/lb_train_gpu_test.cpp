// lb-train with device: "cuda" end to end, through the binary: it writes
// what a CPU run writes (the same summary keys, metrics, profile.json with
// per-layer times, a trace with per-layer events), and its checkpoint
// resumes on the CPU (the formats are shared).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "runtime/backends/cuda/device.hpp"
#include "tests/e2e/e2e_helpers.hpp"

namespace {

using namespace lb::e2e;

class LbTrainGpu : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    std::string why;
    if (lb::cuda::device_count(&why) == 0) {
      if (std::getenv("LB_REQUIRE_GPU") != nullptr) GTEST_FAIL() << "no CUDA GPU: " << why;
      GTEST_SKIP() << "SKIPPED: no CUDA GPU (" << why << ")";
    }
  }

  // A short run of the default experiment on synthetic data (no dataset needed).
  RunResult train(const std::string& device, const fs::path& out, const std::string& extra = "") {
    return shell(kLbTrain.string() + " " + kDefaultSpec.string() + " --out " + out.string() +
                 " --quiet --set device=" + device +
                 " --set data.dataset=synthetic --set train.global_batch=128"
                 " --set train.epochs=1 --set train.log_every_steps=4 --set train.threads=2 " +
                 extra);
  }

  nlohmann::json read_json(const fs::path& file) {
    std::ifstream in(file);
    return nlohmann::json::parse(in);
  }
};

TEST_F(LbTrainGpu, WritesWhatACpuRunWrites) {
  const RunResult gpu = train("cuda", dir_ / "gpu");
  ASSERT_EQ(gpu.exit_code, 0) << gpu.output;
  const RunResult cpu = train("cpu", dir_ / "cpu");
  ASSERT_EQ(cpu.exit_code, 0) << cpu.output;
  const auto g = summary(dir_ / "gpu"), c = summary(dir_ / "cpu");
  for (const auto& [key, value] : c.items()) EXPECT_TRUE(g.contains(key)) << key;
  EXPECT_EQ(g.at("steps"), c.at("steps"));
  EXPECT_EQ(g.at("weights_sha256").get<std::string>().size(), 64u);
  EXPECT_TRUE(std::isfinite(g.at("final_loss").get<double>()));
  EXPECT_TRUE(fs::exists(dir_ / "gpu" / "metrics.jsonl"));
  EXPECT_TRUE(fs::exists(dir_ / "gpu" / "checkpoint.bin"));

  const auto profile = read_json(dir_ / "gpu" / "profile.json");
  EXPECT_EQ(profile.at("device"), "cuda");
  EXPECT_GT(profile.at("steps").get<int>(), 0);
  double layer_seconds = 0;
  for (const auto& row : profile.at("layers")) layer_seconds += row.at("forward_s").get<double>();
  EXPECT_GT(layer_seconds, 0.0) << "no CUDA-event layer timings";
  EXPECT_FALSE(profile.at("gradient_order").empty());
  EXPECT_EQ(profile.at("layers").size(),
            read_json(dir_ / "cpu" / "profile.json").at("layers").size());

  const auto trace = read_json(dir_ / "gpu" / "trace.rank0.json");
  const bool has_layer_event = std::any_of(trace.begin(), trace.end(), [](const auto& e) {
    return e.value("name", "") == "block1.conv" && e.value("cat", "") == "backward";
  });
  EXPECT_TRUE(has_layer_event);
}

TEST_F(LbTrainGpu, CheckpointResumesOnTheCpu) {
  const fs::path out = dir_ / "moved";
  const RunResult first = train("cuda", out, "--max-steps 5");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const RunResult rest = train("cpu", out, "--resume");
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_EQ(summary(out).at("finished"), true);
}

}  // namespace
