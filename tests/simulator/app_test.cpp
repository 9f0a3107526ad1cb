// simulate-scaling end to end: outputs, and bad input -> one line, exit 2,
// nothing written.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

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

// Per process: ctest runs tests of this file side by side.
fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("lb_sim_app_" + std::to_string(getpid()) + "_" + name);
  fs::remove_all(dir);
  return dir;
}

Outcome run(const std::string& args) {
  const fs::path err =
      fs::temp_directory_path() / ("lb_sim_app_stderr_" + std::to_string(getpid()) + ".txt");
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

// Issue 20 item 8: 65,536 images do not split over 3 GPUs (lb-train refuses it too).
TEST(SimulateScaling, AGlobalBatchTheGpusDoNotDivideIsRefused) {
  expect_bad_input(seed_spec() + " --gpus 24", "train.global_batch");
}

// Issue 17 item 6: these crashed or hung the simulation child.
TEST(SimulateScaling, ATorusWhoseSizeOverflowsIsRefused) {
  expect_bad_input(
      seed_spec() + " --set cluster.topology=torus --set cluster.torus_dims=[2147483648]",
      "cluster.torus_dims");
  expect_bad_input(
      seed_spec() + " --set cluster.topology=torus --set cluster.torus_dims=[65536,65536,65536]",
      "cluster.torus_dims");
}

TEST(SimulateScaling, DenormalOrAbsurdLinksAreRefused) {
  expect_bad_input(seed_spec() + " --set cluster.intra.bandwidth_gbps=1e-320",
                   "cluster.intra.bandwidth_gbps");
  expect_bad_input(seed_spec() + " --set cluster.nic.bandwidth_gbps=1e300",
                   "cluster.nic.bandwidth_gbps");
  expect_bad_input(seed_spec() + " --set cluster.nic.latency_us=1e300", "cluster.nic.latency_us");
  expect_bad_input(seed_spec() + " --set cluster.uplink_latency_us=1e300",
                   "cluster.uplink_latency_us");
}

// Issue 17 item 13: a denormal input rate.
TEST(SimulateScaling, ADenormalInputRateIsRefused) {
  expect_bad_input(seed_spec() + " --set cluster.input_images_per_s=1e-320",
                   "cluster.input_images_per_s");
}

// Issue 17 item 20: cluster.gpu is a name, never a path.
TEST(SimulateScaling, AGpuNameWithAPathIsRefused) {
  expect_bad_input(seed_spec() + " --set cluster.gpu=../devices/v100", "cluster.gpu");
  expect_bad_input(seed_spec() + " --set cluster.gpu=/etc/passwd", "cluster.gpu");
}

fs::path write_file(const std::string& name, const std::string& text) {
  const fs::path file = fs::temp_directory_path() / ("lb_sim_app_" + name);
  std::ofstream(file) << text;
  return file;
}

nlohmann::json calibration_with(const std::string& key, const nlohmann::json& value) {
  nlohmann::json layer{{"name", "conv1"},
                       {"kind", "conv2d"},
                       {"params", 432},
                       {"forward_fixed_s", 0.001},
                       {"forward_per_image_s", 1e-5},
                       {"backward_fixed_s", 0.002},
                       {"backward_per_image_s", 2e-5}};
  nlohmann::json cal{{"format", "largebatch-calibration"},
                     {"version", 1},
                     {"links", {{"intra", {{"bandwidth_gbps", 40}, {"latency_us", 2}}}}},
                     {"compute",
                      {{"model", "resnet50"},
                       {"optimizer_s", 0.001},
                       {"compute_cv", 0.05},
                       {"layers", nlohmann::json::array({layer})}}}};
  if (key == "latency_us") cal["links"]["intra"]["latency_us"] = value;
  if (key == "compute_cv") cal["compute"]["compute_cv"] = value;
  if (key == "forward_fixed_s") {
    cal["compute"]["layers"][0]["forward_fixed_s"] = value;
    cal["compute"]["layers"][0]["forward_per_image_s"] = value;
  }
  if (key == "layers") cal["compute"]["layers"] = value;
  return cal;
}

// Issue 17 items 6 and 20, issue 20 item 8: a calibration file with
// non-finite, negative or absurd values, or no layers, is bad input.
TEST(SimulateScaling, ACalibrationWithBadValuesIsRefused) {
  const auto bad = [&](const std::string& name, const std::string& text,
                       const std::string& mentions) {
    const fs::path file = write_file(name, text);
    expect_bad_input(seed_spec() + " --calibration " + file.string(), mentions);
    fs::remove(file);
  };
  bad("cv.json", calibration_with("compute_cv", 1e308).dump(), "compute.compute_cv");
  bad("latency.json", calibration_with("latency_us", -1).dump(), "links.intra.latency_us");
  bad("negative.json", calibration_with("forward_fixed_s", -0.5).dump(), "forward_fixed_s");
  bad("empty.json", calibration_with("layers", nlohmann::json::array()).dump(), "compute.layers");
  bad("huge.json", "{\"format\": \"largebatch-calibration\", \"x\": 1e400}", "invalid JSON");
}

// Issue 17 item 13: 1e400 in a profile or device file names the file.
TEST(SimulateScaling, ANumberOutOfRangeInAnInputFileNamesTheFile) {
  const fs::path profile =
      write_file("profile_1e400.json", "{\"format\": \"largebatch-profile\", \"step_s\": 1e400}");
  expect_bad_input(seed_spec() + " --profile " + profile.string(), profile.string());
  fs::remove(profile);
  const fs::path dir = fs::temp_directory_path() / "lb_sim_app_devices";
  fs::create_directories(dir);
  std::ofstream(dir / "z80.json") << "{\"name\": \"Z80\", \"fp32_tflops\": 1e400}";
  expect_bad_input(seed_spec() + " --devices " + dir.string() + " --set cluster.gpu=Z80",
                   (dir / "z80.json").string());
  fs::remove_all(dir);
}

nlohmann::json run_json(const std::string& args, const std::string& name) {
  const fs::path out = fresh_dir(name);
  const Outcome r = run(args + " --no-plot --out " + out.string());
  EXPECT_EQ(r.code, 0) << args << "\n" << r.err;
  std::ifstream in(out / "scaling.json");
  const auto doc = nlohmann::json::parse(in);
  fs::remove_all(out);
  return doc;
}

// Issue 20 item 6: 2,048 images per P40 do not fit in 24 GiB: the row says
// so and warns; --require-fit refuses it before writing anything.
TEST(SimulateScaling, RowsThatDoNotFitTheGpuAreMarkedAndRefusedOnRequest) {
  const auto doc = run_json(seed_spec() + " --gpus 32,2048", "fit");
  EXPECT_FALSE(doc["results"][0]["fits_memory"].get<bool>());
  EXPECT_TRUE(doc["results"][1]["fits_memory"].get<bool>());
  bool warned = false;
  for (const auto& w : doc["warnings"])
    warned |= w.get<std::string>().find("does not fit") != std::string::npos;
  EXPECT_TRUE(warned);
  expect_bad_input(seed_spec() + " --gpus 32,2048 --require-fit", "--require-fit");
}

// Issue 20 item 7: GPU-hours always, money with a price.
TEST(SimulateScaling, CostIsGpuHoursAndMoneyAtAPrice) {
  const auto doc = run_json(seed_spec() + " --gpus 1024 --price-per-gpu-hour 2.5", "cost");
  const auto& row = doc["results"][0];
  EXPECT_NEAR(row["gpu_hours"].get<double>(), 1024 * row["time_to_train_s"].get<double>() / 3600,
              1e-6);
  EXPECT_NEAR(row["cost"].get<double>(), 2.5 * row["gpu_hours"].get<double>(), 1e-6);
  EXPECT_EQ(doc["price_per_gpu_hour"], 2.5);
}

// Issue 20 item 8: a partial last node is allowed and said.
TEST(SimulateScaling, APartialLastNodeIsSaidInTheHeader) {
  const auto doc = run_json(seed_spec() + " --gpus 1028 --set train.global_batch=65792", "partial");
  bool said = false;
  for (const auto& w : doc["warnings"])
    said |= w.get<std::string>().find("partial one of 4") != std::string::npos;
  EXPECT_TRUE(said);
}

// Issue 20 item 3: comm.auto_calibration is used where it was measured and
// its absence elsewhere is said, never ignored silently.
TEST(SimulateScaling, TheAutoCalibrationFileIsUsedOrItsMismatchSaid) {
  const fs::path file =
      write_file("auto.json", nlohmann::json{{"format", "largebatch-auto-allreduce/1"},
                                             {"ranks", 16},
                                             {"group_size", 8},
                                             {"fp16_wire", true},
                                             {"rules", {{{"algorithm", "torus2d"}}}}}
                                  .dump());
  const auto doc = run_json(
      seed_spec() +
          " --gpus 16,32 --set comm.algorithm=auto --set comm.auto_calibration=" + file.string(),
      "auto");
  EXPECT_TRUE(doc["results"][0]["auto_calibrated"].get<bool>());
  EXPECT_FALSE(doc["results"][1]["auto_calibrated"].get<bool>());
  bool said = false;
  for (const auto& w : doc["warnings"])
    said |= w.get<std::string>().find(file.string()) != std::string::npos;
  EXPECT_TRUE(said);
  fs::remove(file);
}

// Issue 17 item 11: the simulator's memory is linear in the GPU count; a
// count beyond the limit is refused up front.
TEST(SimulateScaling, AnAbsurdGpuCountIsRefusedBeforeSimulating) {
  expect_bad_input(seed_spec() + " --set cluster.nodes=0 --gpus 33554432", "--gpus");
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
