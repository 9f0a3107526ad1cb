// simulate-scaling end to end: outputs, and bad input -> one line, exit 2,
// nothing written.
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

struct Outcome {
  int code = -1;
  std::string err;
};

const fs::path kSource = LB_SOURCE_DIR;
const fs::path kBinary = fs::path(LB_BINARY_DIR) / "bin" / "simulate-scaling";

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("lb_sim_app_" + name);
  fs::remove_all(dir);
  return dir;
}

Outcome run(const std::string& args) {
  const fs::path err = fs::temp_directory_path() / "lb_sim_app_stderr.txt";
  const std::string command = kBinary.string() + " " + args + " >/dev/null 2>" + err.string();
  const int status = std::system(command.c_str());
  std::ifstream in(err);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

std::string seed_spec() { return (kSource / "experiments" / "seed-resnet50-64k.json").string(); }

TEST(SimulateScaling, SeedSpecWritesRowsCsvAndTrace) {
  const fs::path out = fresh_dir("seed");
  const Outcome r = run(seed_spec() + " --gpus 8,64 --trace 64 --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(out / "scaling.json");
  const auto doc = nlohmann::json::parse(in);
  ASSERT_EQ(doc.at("results").size(), 2u);
  for (const auto& row : doc["results"]) {
    for (const char* key : {"gpus", "iteration_s", "images_per_s", "efficiency", "compute_s",
                            "exposed_comm_s", "data_wait_s", "optimizer_s", "time_to_train_s"}) {
      EXPECT_TRUE(row.contains(key)) << key;
    }
    EXPECT_GT(row["efficiency"].get<double>(), 0.5);
    EXPECT_LE(row["efficiency"].get<double>(), 1.0 + 1e-9);
  }
  EXPECT_EQ(doc["global_batch"], 65536);
  EXPECT_TRUE(fs::exists(out / "scaling.csv"));
  if (fs::exists("/usr/bin/python3")) EXPECT_TRUE(fs::exists(out / "scaling.png"));
  std::ifstream trace_in(out / "trace.gpus64.json");
  const auto trace = nlohmann::json::parse(trace_in);
  EXPECT_GT(trace.at("traceEvents").size(), 100u);
  fs::remove_all(out);
}

TEST(SimulateScaling, ASpecWithoutClusterUsesTheDefault) {
  const fs::path out = fresh_dir("default");
  const Outcome r = run((kSource / "experiments" / "fmnist-lenet-lars-fp16.json").string() +
                        " --gpus 1,2,4 --no-plot --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(out / "scaling.json");
  const auto doc = nlohmann::json::parse(in);
  EXPECT_TRUE(doc.at("cluster_is_default").get<bool>());
  EXPECT_NEAR(doc["results"][0]["efficiency"].get<double>(), 1.0, 1e-9);  // one GPU
  fs::remove_all(out);
}

void expect_bad_input(const std::string& args, const std::string& mentions) {
  const fs::path out = fresh_dir("bad");
  const Outcome r = run(args + " --out " + out.string());
  EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
  EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(out)) << "wrote output for bad input: " << args;
}

TEST(SimulateScaling, BadInputIsOneLineAndExit2) {
  expect_bad_input(seed_spec() + " --set cluster.gpu=Z80", "cluster.gpu");
  expect_bad_input(seed_spec() + " --gpus 4096", "cluster.nodes");  // 256 nodes x 8
  expect_bad_input(seed_spec() + " --set cluster.topology=hypercube", "cluster.topology");
  expect_bad_input(seed_spec() + " --set cluster.gpus_per_node=0", "cluster.gpus_per_node");
  expect_bad_input(seed_spec() + " --set comm.algorithm=torus2d --set comm.group_size=3 --gpus 16",
                   "comm.group_size");
  expect_bad_input(seed_spec() + " --set cluster.colour=red", "cluster.colour");
  expect_bad_input(seed_spec() + " --gpus 0", "--gpus");
  expect_bad_input(
      seed_spec() + " --set cluster.topology=torus --set cluster.torus_dims=[4,4] --gpus 2048",
      "cluster.torus_dims");
  expect_bad_input(seed_spec() + " --set cluster.topology=torus", "cluster.torus_dims");
  expect_bad_input("/nonexistent.json", "/nonexistent.json");
}

TEST(SimulateScaling, AProfileOfAnotherModelIsRefused) {
  const fs::path profile = fs::temp_directory_path() / "lb_sim_app_profile.json";
  {
    std::ofstream out(profile);
    out << nlohmann::json{{"format", "largebatch-profile"},
                          {"version", 1},
                          {"model", "resnet20"},
                          {"per_rank_batch", 64},
                          {"layers", nlohmann::json::array()}};
  }
  expect_bad_input(seed_spec() + " --profile " + profile.string(), "does not match");
  fs::remove(profile);
}

}  // namespace
