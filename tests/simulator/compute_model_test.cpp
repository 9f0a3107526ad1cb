// Compute model: line fits, profile checks, the analytic model; device profiles.
#include "simulator/compute_model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "runtime/core/errors.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/models/model.hpp"
#include "simulator/device.hpp"
#include "simulator/model_info.hpp"
#include "simulator/order_statistics.hpp"

namespace lb::sim {
namespace {

Spec resnet20_spec() {
  Spec s;
  s.model.name = "resnet20";
  return s;
}

// A profile of `model` whose every layer takes 1 ms + 0.1 ms per image forward
// and twice that backward.
RuntimeProfile synthetic_profile(const ModelInfo& model, std::int64_t batch) {
  RuntimeProfile p;
  p.file = "synthetic-b" + std::to_string(batch);
  p.model = model.name;
  p.per_rank_batch = batch;
  for (const auto& row : model.table) {
    const double f = 1e-3 + 1e-4 * double(batch);
    p.layers.push_back({row.name, row.kind, row.params, 0, f, 2 * f});
  }
  p.optimizer_s = 0.01;
  return p;
}

TEST(ComputeModel, FitLineRecoversALineAndFallsBackToTheOrigin) {
  const Line l = fit_line({32, 64, 128}, {0.5 + 32 * 0.01, 0.5 + 64 * 0.01, 0.5 + 128 * 0.01});
  EXPECT_NEAR(l.fixed_s, 0.5, 1e-9);
  EXPECT_NEAR(l.per_image_s, 0.01, 1e-12);
  const Line origin = fit_line({64, 64}, {1.0, 1.0});
  EXPECT_DOUBLE_EQ(origin.fixed_s, 0);
  EXPECT_NEAR(origin.per_image_s, 1.0 / 64, 1e-12);
}

TEST(ComputeModel, TwoProfilesGiveAPerLayerLinearModel) {
  const ModelInfo model = model_info(resnet20_spec());
  const ComputeModel m =
      fitted_compute_model(model, {synthetic_profile(model, 32), synthetic_profile(model, 128)});
  ASSERT_EQ(m.layers.size(), model.table.size() + 1);  // + the unattributed remainder
  for (std::size_t i = 0; i < model.table.size(); ++i) {
    const auto& l = m.layers[i];
    EXPECT_NEAR(l.forward.fixed_s, 1e-3, 1e-9) << l.name;
    EXPECT_NEAR(l.backward.per_image_s, 2e-4, 1e-10) << l.name;
  }
  EXPECT_NEAR(m.forward_s(64), double(model.table.size()) * (1e-3 + 64e-4), 1e-9);
  EXPECT_DOUBLE_EQ(m.optimizer_s, 0.01);
}

// The compute jitter is the median profile's, and survives a JSON round trip
// (calibration files); an older calibration without it reads as 0.
TEST(ComputeModel, ComputeCvIsTheMedianProfilesAndRoundTrips) {
  const ModelInfo model = model_info(resnet20_spec());
  std::vector<RuntimeProfile> profiles;
  for (double cv : {0.02, 0.30, 0.05}) {
    profiles.push_back(synthetic_profile(model, 32 * std::int64_t(profiles.size() + 1)));
    profiles.back().compute_cv = cv;
  }
  const ComputeModel m = fitted_compute_model(model, profiles);
  EXPECT_DOUBLE_EQ(m.compute_cv, 0.05);
  EXPECT_DOUBLE_EQ(compute_model_from_json(to_json(m), "test").compute_cv, 0.05);
  nlohmann::json old = to_json(m);
  old.erase("compute_cv");
  EXPECT_DOUBLE_EQ(compute_model_from_json(old, "test").compute_cv, 0.0);
}

// Multi-rank profiles do not bend the lines: the single-rank ones give them,
// and the others' forward slowdown against those lines (median) is the
// co-run factor (backward, which also shares the cores with all-reduces,
// does not count), which round-trips and defaults to 1 in older calibrations.
TEST(ComputeModel, MultiRankProfilesGiveTheCoRunFactor) {
  const ModelInfo model = model_info(resnet20_spec());
  std::vector<RuntimeProfile> profiles = {synthetic_profile(model, 32),
                                          synthetic_profile(model, 128)};
  const ComputeModel alone = fitted_compute_model(model, profiles);
  EXPECT_DOUBLE_EQ(alone.co_run_factor, 1);
  for (auto [batch, slowdown] : {std::pair{24, 1.10}, std::pair{48, 1.30}, std::pair{96, 1.20}}) {
    RuntimeProfile p = synthetic_profile(model, batch);
    p.ranks = 2;
    for (auto& l : p.layers) l.forward_s *= slowdown, l.backward_s *= 2 * slowdown;
    for (const auto& l : p.layers) p.forward_s += l.forward_s, p.backward_s += l.backward_s;
    profiles.push_back(p);
  }
  for (auto& p : profiles) {
    if (p.ranks == 1) {
      for (const auto& l : p.layers) p.forward_s += l.forward_s, p.backward_s += l.backward_s;
    }
  }
  const ComputeModel m = fitted_compute_model(model, profiles);
  EXPECT_NEAR(m.co_run_factor, 1.20, 1e-9);
  EXPECT_NEAR(m.layers[0].forward.fixed_s, 1e-3, 1e-9);  // the single-rank line
  EXPECT_NEAR(m.layers[0].backward.per_image_s, 2e-4, 1e-10);
  EXPECT_NE(m.source.find("co-run factor 1.200 from 3 multi-rank profile(s)"), std::string::npos)
      << m.source;
  EXPECT_DOUBLE_EQ(compute_model_from_json(to_json(m), "test").co_run_factor, m.co_run_factor);
  nlohmann::json old = to_json(m);
  old.erase("co_run_factor");
  EXPECT_DOUBLE_EQ(compute_model_from_json(old, "test").co_run_factor, 1);
}

// Ranks that each have a core wait for the slowest of them, and their
// measured waits (mean over ranks of each rank's exposed communication, over
// the mean compute and E[max of N]) give the spread, median over the
// profiles, instead of the step-to-step jitter that both ranks share.
// GPU profiles, profiles that do not record their node, or that lack every
// rank's times, do not count.
TEST(ComputeModel, BoundRanksWaitsGiveTheSpread) {
  const ModelInfo model = model_info(resnet20_spec());
  std::vector<RuntimeProfile> profiles = {synthetic_profile(model, 32),
                                          synthetic_profile(model, 128)};
  for (auto& p : profiles) p.compute_cv = 0.10;
  const std::vector<std::pair<std::vector<double>, std::vector<double>>> runs = {
      {{0.004, 0.000}, {0.200, 0.200}},   // spread 0.010 / 0.564
      {{0.002, 0.006}, {0.190, 0.210}},   // 0.020 / 0.564
      {{0.030, 0.030}, {0.200, 0.200}}};  // 0.150 / 0.564
  for (const auto& [waits, computes] : runs) {
    RuntimeProfile p = synthetic_profile(model, 48);
    p.ranks = p.ranks_per_node = 2, p.node_cores = 2, p.threads = 1, p.compute_cv = 0.10;
    p.device = "cpu", p.rank_exposed_comm_s = waits, p.rank_compute_s = computes;
    profiles.push_back(p);
  }
  RuntimeProfile unknown_node = profiles.back();  // an older profile: no node recorded
  unknown_node.node_cores = 0, unknown_node.rank_exposed_comm_s = {0.5, 0.5};
  profiles.push_back(unknown_node);
  RuntimeProfile gpu = profiles[2];  // its exposed communication is mostly NCCL's transfer
  gpu.device = "cuda", gpu.rank_exposed_comm_s = {0.5, 0.5};
  gpu.node_cores = 1;  // two ranks on one core: a CPU run would be time-sliced, a GPU run is not
  EXPECT_DOUBLE_EQ(node_threads_per_core(gpu), 0);
  profiles.push_back(gpu);
  const ComputeModel m = fitted_compute_model(model, profiles);
  EXPECT_NEAR(m.compute_cv, 0.020 / expected_max_normal(2), 1e-12);
  EXPECT_NE(m.source.find("ranks' spread 0.035 from the waits of 3 multi-rank profile(s) (step to "
                          "step 0.100)"),
            std::string::npos)
      << m.source;
  for (auto& p : profiles) p.rank_exposed_comm_s.clear();
  EXPECT_DOUBLE_EQ(fitted_compute_model(model, profiles).compute_cv, 0.10);
}

// Bound ranks whose one all-reduce follows backward wait their whole lead
// and give the spread; ranks that all-reduce many times during backward
// wait less, and what they wait gives the lead each all-reduce keeps.
TEST(ComputeModel, ManyAllreducesDuringBackwardGiveTheLeadKeptAtEach) {
  const ModelInfo model = model_info(resnet20_spec());
  std::vector<RuntimeProfile> profiles = {synthetic_profile(model, 32),
                                          synthetic_profile(model, 128)};
  const auto bound = [&](int buckets, double wait_share) {
    RuntimeProfile p = synthetic_profile(model, 48);
    p.ranks = p.ranks_per_node = 2, p.node_cores = 2, p.threads = 1, p.device = "cpu";
    p.comm.overlap = true, p.comm.buckets = buckets;
    p.rank_compute_s = {0.2, 0.2};
    p.rank_exposed_comm_s = {0.2 * wait_share, 0.2 * wait_share};
    return p;
  };
  for (int i = 0; i < 3; ++i) profiles.push_back(bound(1, 0.02));
  // A lead cut to 0.9 at each of 65 evenly spaced all-reduces ends at
  // (1 - 0.9^65) / (65 * 0.1) of what it would be uncut.
  const double left = (1 - std::pow(0.9, 65)) / (65 * 0.1);
  profiles.push_back(bound(65, 0.02 * left));
  const ComputeModel m = fitted_compute_model(model, profiles);
  EXPECT_NEAR(m.compute_cv, 0.02 / expected_max_normal(2), 1e-12);  // the one-bucket runs alone
  EXPECT_NEAR(m.lead_kept_at_allreduce, 0.9, 1e-9);
  EXPECT_NE(m.source.find("lead kept at each all-reduce 0.900 from 1 profile(s)"),
            std::string::npos)
      << m.source;
  const ComputeModel back = compute_model_from_json(to_json(m), "compute");
  EXPECT_DOUBLE_EQ(back.lead_kept_at_allreduce, m.lead_kept_at_allreduce);
  profiles.pop_back();  // nothing with many all-reduces: never cut
  EXPECT_DOUBLE_EQ(fitted_compute_model(model, profiles).lead_kept_at_allreduce, 1);
}

// Repeated profiles at one batch give one point, their median: a repeat hit
// by a burst of noise does not pull the line (nor the optimizer time).
TEST(ComputeModel, RepeatsAtOneBatchGiveTheirMedian) {
  const ModelInfo model = model_info(resnet20_spec());
  std::vector<RuntimeProfile> profiles;
  for (int batch : {32, 128}) {
    for (double noise : {1.0, 1.3, 1.0}) {
      RuntimeProfile p = synthetic_profile(model, batch);
      for (auto& l : p.layers) l.forward_s *= noise, l.backward_s *= noise;
      p.optimizer_s *= noise;
      profiles.push_back(p);
    }
  }
  const ComputeModel m = fitted_compute_model(model, profiles);
  EXPECT_NEAR(m.layers[0].forward.fixed_s, 1e-3, 1e-9);
  EXPECT_NEAR(m.layers[0].forward.per_image_s, 1e-4, 1e-10);
  EXPECT_DOUBLE_EQ(m.optimizer_s, 0.01);
}

// Profiles whose node had more threads than cores (time-sliced ranks) give
// the spread at that load and nothing else: not the lines, not the co-run
// factor, not compute_cv. Any load above one thread per core is time-sliced
// (compute_cv_at gives their spread there) and it round-trips; a profile
// that does not record its node counts as not shared.
TEST(ComputeModel, TimeSlicedProfilesGiveTheSpreadAtTheirLoad) {
  const ModelInfo model = model_info(resnet20_spec());
  std::vector<RuntimeProfile> profiles = {synthetic_profile(model, 32),
                                          synthetic_profile(model, 128)};
  for (auto& p : profiles) {
    p.compute_cv = 0.02, p.ranks_per_node = 1, p.node_cores = 2, p.threads = 1;
  }
  const std::vector<std::vector<double>> waits = {
      {0.010, 0.010, 0.012, 0.008}, {0.016, 0.016, 0.016, 0.016}, {0.013, 0.011, 0.015, 0.013}};
  for (int i = 0; i < 3; ++i) {
    const double cv = std::vector<double>{0.10, 0.14, 0.12}[std::size_t(i)];
    RuntimeProfile p = synthetic_profile(model, 24);
    p.rank_exposed_comm_s = waits[std::size_t(i)];
    for (auto& l : p.layers) l.forward_s *= 3, l.backward_s *= 3;  // would bend any fit it entered
    for (const auto& l : p.layers) p.forward_s += l.forward_s, p.backward_s += l.backward_s;
    p.ranks = p.ranks_per_node = 4, p.node_cores = 2, p.threads = 1, p.compute_cv = cv;
    profiles.push_back(p);
  }
  const ComputeModel m = fitted_compute_model(model, profiles);
  EXPECT_NEAR(m.layers[0].forward.fixed_s, 1e-3, 1e-9);
  EXPECT_DOUBLE_EQ(m.co_run_factor, 1);
  EXPECT_DOUBLE_EQ(m.compute_cv, 0.02);
  EXPECT_DOUBLE_EQ(m.shared_cores_cv, 0.12);
  EXPECT_DOUBLE_EQ(m.shared_cores_load, 2);
  EXPECT_NEAR(m.shared_cores_wait_s, 0.013, 1e-12);  // the median of the ranks' mean waits
  EXPECT_NEAR(compute_model_from_json(to_json(m), "test").shared_cores_wait_s, 0.013, 1e-12);
  EXPECT_DOUBLE_EQ(m.compute_cv_at(1), 0.02);
  EXPECT_FALSE(m.time_sliced(1));
  EXPECT_TRUE(m.time_sliced(1.5));
  EXPECT_DOUBLE_EQ(m.compute_cv_at(1.5), 0.12);
  EXPECT_DOUBLE_EQ(m.compute_cv_at(8), 0.12);
  const ComputeModel read = compute_model_from_json(to_json(m), "test");
  EXPECT_DOUBLE_EQ(read.compute_cv_at(1.5), 0.12);
  nlohmann::json old = to_json(m);
  old.erase("shared_cores_cv"), old.erase("shared_cores_load");
  EXPECT_DOUBLE_EQ(compute_model_from_json(old, "test").compute_cv_at(2), 0.02);

  // Without single-rank profiles the lines come from the multi-rank ones,
  // still not from the time-sliced ones.
  std::vector<RuntimeProfile> no_single(profiles.begin() + 2, profiles.end());
  for (int batch : {32, 128}) {
    RuntimeProfile multi = synthetic_profile(model, batch);
    multi.ranks = multi.ranks_per_node = 2, multi.node_cores = 2, multi.threads = 1;
    no_single.push_back(multi);
  }
  EXPECT_NEAR(fitted_compute_model(model, no_single).layers[0].forward.per_image_s, 1e-4, 1e-12);

  for (auto& p : profiles) p.ranks_per_node = p.node_cores = 0;  // older profiles
  EXPECT_DOUBLE_EQ(fitted_compute_model(model, profiles).shared_cores_load, 0);
}

// Phase times beyond the layers' sum (the loss, copies) become one more layer
// after the last, fitted like the others.
TEST(ComputeModel, TimeOutsideTheLayersIsKept) {
  const ModelInfo model = model_info(resnet20_spec());
  std::vector<RuntimeProfile> profiles;
  for (int batch : {32, 128}) {
    RuntimeProfile p = synthetic_profile(model, batch);
    for (const auto& l : p.layers) p.forward_s += l.forward_s, p.backward_s += l.backward_s;
    p.forward_s += 0.002 + 1e-5 * batch;
    p.backward_s += 0.004;
    profiles.push_back(p);
  }
  const ComputeModel m = fitted_compute_model(model, profiles);
  const auto& extra = m.layers.back();
  EXPECT_EQ(extra.name, "(unattributed)");
  EXPECT_NEAR(extra.forward.fixed_s, 0.002, 1e-9);
  EXPECT_NEAR(extra.forward.per_image_s, 1e-5, 1e-11);
  EXPECT_NEAR(extra.backward.at(64), 0.004, 1e-9);
  EXPECT_NEAR(m.forward_s(32), profiles[0].forward_s, 1e-9);
}

TEST(ComputeModel, AProfileOfAnotherModelIsRefused) {
  const ModelInfo model = model_info(resnet20_spec());
  RuntimeProfile p = synthetic_profile(model, 32);
  p.model = "lenet_bn";
  EXPECT_THROW(fitted_compute_model(model, {p}), InputError);
  p = synthetic_profile(model, 32);
  p.layers[0].params += 1;
  try {
    fitted_compute_model(model, {p});
    FAIL() << "a layer with the wrong parameter count was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(p.layers[0].name), std::string::npos) << e.what();
  }
  p = synthetic_profile(model, 32);
  p.layers.erase(p.layers.begin());  // conv1 has parameters
  EXPECT_THROW(fitted_compute_model(model, {p}), InputError);
}

DeviceProfile device_x() {
  DeviceProfile d;
  d.name = "X";
  d.fp32_tflops = 10, d.fp16_tflops = 100, d.memory_gbps = 500, d.memory_gib = 16;
  d.efficiency = 0.5;
  d.kernel_overhead_us = 0;
  return d;
}

// Per layer, the longer of FLOPs over the peak and activation bytes over the
// memory bandwidth (backward twice both), over the efficiency.
TEST(ComputeModel, AnalyticTimeIsTheRooflineOverTheEfficiency) {
  const ModelInfo model = model_info(resnet20_spec());
  const ComputeModel m = analytic_compute_model(model, device_x(), Precision::fp32);
  double expected = 0, previous = double(model.input_elements);
  for (const auto& row : model.table) {
    double out = 1;
    for (std::size_t i = 1; i < row.output_shape.size(); ++i) out *= double(row.output_shape[i]);
    expected += std::max(row.forward_flops / 10e12, (previous + out) * 4 / 500e9) / 0.5;
    previous = out;
  }
  EXPECT_NEAR(m.forward_s(8), 8 * expected, 1e-12);
  EXPECT_NEAR(m.backward_s(8), 2 * m.forward_s(8), 1e-12);
  EXPECT_EQ(m.measured_min_batch, 0);  // nothing measured: every batch is extrapolated
}

// Two or more measured batch sizes give the fixed time and the efficiency;
// one gives the efficiency under the assumed fixed time.
TEST(ComputeModel, AnalyticFitRecoversFixedTimeAndEfficiency) {
  const double roof = 0.002, fixed = 0.012, efficiency = 0.6;
  std::vector<MeasuredThroughput> points;
  for (double b : {32.0, 64.0, 128.0}) {
    points.push_back({"m", "fp16", b / (fixed + b * roof / efficiency), b, "synthetic"});
  }
  const AnalyticFit fit = analytic_fit(points, roof, 0.001, 0.3, 0.0005);
  EXPECT_NEAR(fit.efficiency, efficiency, 1e-9);
  EXPECT_NEAR(fit.fixed_s, fixed, 1e-9);
  EXPECT_EQ(fit.min_batch, 32);
  EXPECT_EQ(fit.max_batch, 128);
  EXPECT_TRUE(fit.warnings.empty());
  const AnalyticFit one = analytic_fit({points[1]}, roof, fixed, 0.3, 0.0005);
  EXPECT_NEAR(one.efficiency, efficiency, 1e-9);
  const AnalyticFit none = analytic_fit({}, roof, fixed, 0.3, 0.0005);
  EXPECT_DOUBLE_EQ(none.efficiency, 0.3);
}

// The throughput grows with the per-GPU batch and saturates: small batches
// pay the fixed time per image more often.
TEST(ComputeModel, SmallPerGpuBatchesAreSlowerPerImage) {
  const ModelInfo model = model_info(resnet20_spec());
  DeviceProfile d = device_x();
  d.kernel_overhead_us = 20;
  const ComputeModel m = analytic_compute_model(model, d, Precision::fp32);
  auto images_per_s = [&](double b) {
    return b / (m.forward_s(b) + m.backward_s(b) + m.optimizer_s);
  };
  EXPECT_LT(images_per_s(8), images_per_s(64));
  EXPECT_LT(images_per_s(64), images_per_s(512));
  EXPECT_GT(m.fixed_s(), 0);
}

// A measured figure beyond the roofline is capped at 100 % and said.
TEST(ComputeModel, AFitBeyondThePeakIsCappedWithAWarning) {
  const ModelInfo model = model_info(resnet20_spec());
  DeviceProfile d = device_x();
  d.measured.push_back({"resnet20", "fp32", 1e9, 128, "impossible"});
  const ComputeModel m = analytic_compute_model(model, d, Precision::fp32);
  ASSERT_EQ(m.warnings.size(), 1u);
  EXPECT_NE(m.warnings[0].find("capped"), std::string::npos) << m.warnings[0];
}

// fp32 runs on TF32 tensor cores where a device has them (A100, H100).
TEST(ComputeModel, Fp32UsesTheTf32PeakWhereThereIsOne) {
  const ModelInfo model = model_info(resnet20_spec());
  DeviceProfile d = device_x();
  const double plain = analytic_compute_model(model, d, Precision::fp32).forward_s(64);
  d.tf32_tflops = 80;
  EXPECT_LT(analytic_compute_model(model, d, Precision::fp32).forward_s(64), plain);
}

const std::vector<std::filesystem::path> kBuiltIn{default_devices_dir()};

TEST(Devices, EveryProfileLoadsAndAnUnknownGpuIsNamed) {
  for (const char* name : {"P40", "v100", "A100", "H100", "P100-SXM2", "p100-pcie"}) {
    EXPECT_GT(load_device(kBuiltIn, name).fp32_tflops, 0) << name;
  }
  try {
    load_device(kBuiltIn, "Z80");
    FAIL() << "unknown GPU accepted";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "cluster.gpu");
    EXPECT_NE(std::string(e.what()).find("p40"), std::string::npos) << e.what();
  }
}

// Every single-GPU figure in the shipped profiles fits the roofline (no
// capped fit), so no prediction is silently slower than the device's record.
TEST(Devices, NoShippedProfileNeedsACappedFit) {
  for (const char* name : {"P40", "V100", "A100", "H100", "P100-SXM2", "P100-PCIe"}) {
    const DeviceProfile d = load_device(kBuiltIn, name);
    for (const char* model_name : {"resnet50"}) {
      Spec spec;
      spec.model.name = model_name;
      spec.data.dataset = Dataset::synthetic;
      spec.data.synthetic = {1281167, 50000, 3, 224, 224, 1000};
      for (Precision p : {Precision::fp32, Precision::fp16}) {
        const ComputeModel m = analytic_compute_model(model_info(spec), d, p);
        EXPECT_TRUE(m.warnings.empty()) << name << " " << to_string(p) << ": " << m.warnings[0];
      }
    }
  }
}

// cluster.gpu names a file in a directory: a path must never reach outside.
TEST(Devices, AGpuNameWithAPathIsRefused) {
  for (const char* name : {"../v100", "/etc/passwd", "v100/../v100", "a b", ""}) {
    try {
      load_device(kBuiltIn, name);
      FAIL() << "accepted " << name;
    } catch (const SpecError& e) {
      EXPECT_EQ(e.path(), "cluster.gpu");
    }
  }
}

// --devices DIR adds profiles: its own are found, the built-in ones still are,
// and a profile in DIR shadows a built-in one of the same name.
TEST(Devices, AUserDirectoryAddsToTheBuiltInProfiles) {
  const auto dir = std::filesystem::temp_directory_path() / "lb_sim_devices";
  std::filesystem::create_directories(dir);
  nlohmann::json extra{{"name", "Z80"},
                       {"fp32_tflops", 1},
                       {"fp16_tflops", 2},
                       {"memory_gbps", 10},
                       {"memory_gib", 1}};
  std::ofstream(dir / "z80.json") << extra.dump();
  extra["name"] = "My V100";
  std::ofstream(dir / "v100.json") << extra.dump();
  const std::vector<std::filesystem::path> dirs{dir, default_devices_dir()};
  EXPECT_EQ(load_device(dirs, "Z80").name, "Z80");
  EXPECT_EQ(load_device(dirs, "P40").name, "P40");
  EXPECT_EQ(load_device(dirs, "V100").name, "My V100");
  std::filesystem::remove_all(dir);
}

TEST(ModelInfo, GradientsAreInBackwardOrderAndAddUpToTheParameters) {
  const ModelInfo model = model_info(resnet20_spec());
  std::int64_t total = 0;
  for (const auto& g : model.gradients) total += std::int64_t(g.elements);
  EXPECT_EQ(total, model.params);
  EXPECT_EQ(model.gradients.front().layer, model.table.back().name);  // the classifier first
  EXPECT_EQ(model.train_images, 60000);
}

// The sizes model_info derives without allocating match the real tensors in
// the order the runtime's GradientSync registers them.
TEST(ModelInfo, GradientSizesMatchTheInitialisedModel) {
  for (const char* name : {"lenet_bn", "resnet20"}) {
    Spec spec;
    spec.model.name = name;
    const ModelInfo info = model_info(spec);
    auto model = make_model(name, {1, 28, 28}, 10);
    Rng rng(1);
    model->net->init(rng);
    const auto params = model->net->params();
    ASSERT_EQ(info.gradients.size(), params.size()) << name;
    for (std::size_t i = 0; i < params.size(); ++i) {
      EXPECT_EQ(info.gradients[i].elements, params[params.size() - 1 - i]->grad.span().size())
          << name << " " << params[params.size() - 1 - i]->name;
    }
  }
}

}  // namespace
}  // namespace lb::sim
