// profile.json as lb-train writes it (runtime/train/step_profile.cpp):
// read, fitted, and used end to end through calibrate and --calibration.
#include "simulator/profile.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "runtime/core/errors.hpp"
#include "simulator/calibration.hpp"
#include "simulator/model_info.hpp"

namespace lb::sim {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A profile in the runtime's exact shape: every layer 1 ms + 0.05 ms/image
// forward, twice that backward.
json runtime_profile(const ModelInfo& model, int batch, int ranks) {
  json layers = json::array(), order = json::array();
  for (const auto& row : model.table) {
    const double f = 1e-3 + 5e-5 * batch;
    layers.push_back({{"name", row.name},
                      {"kind", row.kind},
                      {"params", row.params},
                      {"forward_flops", row.forward_flops * batch},
                      {"forward_s", f},
                      {"backward_s", 2 * f}});
  }
  for (auto it = model.table.rbegin(); it != model.table.rend(); ++it) {
    if (it->params > 0) order.push_back(it->name);
  }
  return {{"format", "largebatch-profile"},
          {"version", 1},
          {"model", model.name},
          {"device", "cpu"},
          {"precision", "fp32"},
          {"threads", 2},
          {"per_rank_batch", batch},
          {"ranks", ranks},
          {"optimizer", "lars"},
          {"comm",
           {{"algorithm", "ring"},
            {"fusion_bytes", 1 << 20},
            {"fp16_gradients", false},
            {"overlap", true},
            {"group_size", ranks},
            {"buckets", 2}}},
          {"steps", 18},
          {"layers", layers},
          {"gradient_order", order},
          {"forward_s", 0.1},
          {"backward_s", 0.2},
          {"exposed_comm_s", 0.01},
          {"optimizer_s", 0.004},
          {"data_wait_s", 0.0},
          {"data_prepare_s", 0.002},
          {"step_s", 0.32},
          {"allreduce", json::array({{{"algorithm", "ring"},
                                      {"bytes", 1 << 20},
                                      {"ranks", ranks},
                                      {"median_s", 0.002},
                                      {"count", 18}}})}};
}

Spec resnet20() {
  Spec s;
  s.model.name = "resnet20";
  return s;
}

fs::path write_run(const std::string& name, const json& profile) {
  const fs::path dir = fs::temp_directory_path() / ("lb_sim_profile_" + name);
  fs::create_directories(dir);
  std::ofstream(dir / "profile.json") << profile.dump(2);
  return dir;
}

TEST(Profile, ReadsTheRuntimeFormat) {
  const ModelInfo model = model_info(resnet20());
  const fs::path dir = write_run("read", runtime_profile(model, 32, 2));
  const RuntimeProfile p = load_profile(dir);  // a run directory
  EXPECT_EQ(p.model, "resnet20");
  EXPECT_EQ(p.per_rank_batch, 32);
  EXPECT_EQ(p.layers.size(), model.table.size());
  EXPECT_DOUBLE_EQ(p.exposed_comm_s, 0.01);
  EXPECT_DOUBLE_EQ(p.optimizer_s, 0.004);
  ASSERT_EQ(p.allreduce.size(), 1u);
  EXPECT_EQ(p.allreduce[0].ranks, 2);
  EXPECT_EQ(load_profile(dir / "profile.json").layers.size(), p.layers.size());
  fs::remove_all(dir);
}

TEST(Profile, WrongFormatIsAnInputError) {
  const fs::path dir = write_run("bad", json{{"format", "something-else"}});
  EXPECT_THROW(load_profile(dir), InputError);
  EXPECT_THROW(load_profile(dir / "missing.json"), InputError);
  fs::remove_all(dir);
}

// More ranks on the node than in the run cannot be: refused, naming the key.
TEST(Profile, MoreRanksOnTheNodeThanInTheRunIsAnInputError) {
  const ModelInfo model = model_info(resnet20());
  json profile = runtime_profile(model, 32, 2);
  profile["ranks_per_node"] = 3;
  const fs::path dir = write_run("ranks_per_node", profile);
  try {
    load_profile(dir);
    ADD_FAILURE() << "accepted ranks_per_node 3 of 2 ranks";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("ranks_per_node"), std::string::npos) << e.what();
  }
  profile["ranks_per_node"] = 2, profile["node_cores"] = 16;
  std::ofstream(dir / "profile.json") << profile.dump(2);
  EXPECT_EQ(load_profile(dir).node_cores, 16);
  fs::remove_all(dir);
}

int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// calibrate from two runs, then simulate with the calibration: the one-GPU
// row's compute time is the fitted line's.
TEST(Profile, CalibrateThenSimulate) {
  const ModelInfo model = model_info(resnet20());
  const fs::path a = write_run("a", runtime_profile(model, 32, 2));
  const fs::path b = write_run("b", runtime_profile(model, 128, 2));
  const fs::path cal = fs::temp_directory_path() / "lb_sim_profile_cal.json";
  const fs::path out = fs::temp_directory_path() / "lb_sim_profile_out";
  const std::string bin = (fs::path(LB_BINARY_DIR) / "bin" / "simulate-scaling").string();
  ASSERT_EQ(shell(bin + " calibrate --from " + a.string() + " " + b.string() + " --out " +
                  cal.string() + " >/dev/null"),
            0);
  const Calibration c = load_calibration(cal);
  ASSERT_TRUE(c.compute.has_value());
  EXPECT_NEAR(c.compute->layers[0].forward.per_image_s, 5e-5, 1e-12);
  const std::string spec =
      (fs::path(LB_SOURCE_DIR) / "experiments" / "large-batch-fmnist" / "a-sgd-b256-fp32.json")
          .string();  // resnet20, batch 256
  ASSERT_EQ(shell(bin + " " + spec + " --calibration " + cal.string() +
                  " --gpus 1,4 --no-plot --out " + out.string() + " >/dev/null"),
            0);
  std::ifstream in(out / "scaling.json");
  const json doc = json::parse(in);
  const double per_layer = 3 * (1e-3 + 5e-5 * 256);  // forward + 2x backward at batch 256
  EXPECT_NEAR(doc["results"][0]["compute_s"].get<double>(), per_layer * double(model.table.size()),
              1e-9);
  for (const auto& p : {a, b, out}) fs::remove_all(p);
  fs::remove(cal);
}

}  // namespace
}  // namespace lb::sim
