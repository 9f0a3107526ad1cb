// The CUDA training step (CudaStepEngine) against the CPU one
// (CpuStepEngine), through the StepEngine interface the Trainer drives:
// the same zoo model with the same initial weights, the same batches, the
// same optimizer and loss scaler, one step and several.
//
// Tolerances. cuDNN and cuBLAS sum in other orders (and with other
// algorithms) than oneDNN, and the GPU stores fp16 values where the CPU
// rounds fp32 ones (the images too, which the CPU keeps fp32), so results
// agree to rounding, not to the bit:
//   loss of each step, relative:                 fp32 1e-4, fp16 2e-2
//   each parameter after the steps: |w_gpu - w_cpu| / |w_cpu - w_0|
//   (the error against how far training moved it, L2 over the tensor):
//                                                fp32 1e-2, fp16 1e-1
//   BatchNorm running statistics, relative L2:   fp32 1e-3, fp16 2e-2
// A dropped step (inf/NaN gradients) is dropped by both, and must leave the
// GPU's weights bit-identical to the initial ones.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "runtime/core/rng.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/models/model.hpp"
#include "runtime/optim/loss_scaler.hpp"
#include "runtime/optim/schedule.hpp"
#include "runtime/train/device_engines.hpp"
#include "tests/cuda/gpu_test.hpp"

namespace lb::cuda {
namespace {

namespace fs = std::filesystem;
constexpr std::int64_t kBatch = 32;
constexpr int kClasses = 10;

struct Tolerance {
  double loss, weights, statistics;
};

Tolerance tolerance(Precision p) {
  return p == Precision::fp32 ? Tolerance{1e-4, 1e-2, 1e-3} : Tolerance{2e-2, 1e-1, 2e-2};
}

Spec test_spec(const std::string& model, Precision precision, const std::string& device) {
  return parse_spec({{"name", "gpu-vs-cpu"},
                     {"device", device},
                     {"model", {{"name", model}}},
                     {"data", {{"dataset", "synthetic"}}},
                     {"train",
                      {{"global_batch", kBatch},
                       {"precision", std::string(lb::to_string(precision))},
                       {"seed", 7},
                       {"loss_scale", {{"init", 256.0}}}}},
                     {"optimizer", {{"name", "lars"}, {"lr", {{"base", 0.1}}}}}});
}

// Uniform [0, 1) pixels and random labels, seeded by `index`.
Batch synthetic_batch(std::int64_t index) {
  Rng rng(mix(99, static_cast<std::uint64_t>(index)));
  Batch b;
  b.images = Tensor({kBatch, 1, 28, 28});
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  for (float& x : b.images.span()) x = pixel(rng);
  std::uniform_int_distribution<std::int32_t> label(0, kClasses - 1);
  for (std::int64_t i = 0; i < kBatch; ++i) b.labels.push_back(label(rng));
  return b;
}

// One device's engine with everything it reports to, as the Trainer builds it.
struct EngineRun {
  Spec spec;
  std::unique_ptr<Model> model;
  std::unique_ptr<TraceWriter> trace;
  std::unique_ptr<StepProfile> profile;
  std::unique_ptr<StepEngine> engine;
  std::unique_ptr<LossScaler> scaler;
  std::vector<double> losses;

  EngineRun(Spec s, const fs::path& trace_file) : spec(std::move(s)) {
    model = make_model(spec.model.name, {1, 28, 28}, kClasses);
    Rng rng(mix(spec.train.seed, 0x6d6f64656cull));  // the Trainer's "model" stream
    model->net->init(rng);
    trace = std::make_unique<TraceWriter>(trace_file, 0);
    profile = std::make_unique<StepProfile>(model->layer_table(kBatch));
    engine = make_step_engine({spec, *model, nullptr, kBatch});
    engine->attach({*trace, *profile});
    scaler = std::make_unique<LossScaler>(spec.train.loss_scale,
                                          spec.train.precision == Precision::fp16);
  }

  void train(int steps) {
    const LrSchedule schedule(spec.optimizer.lr, kBatch, 100, 1000);
    for (int s = 0; s < steps; ++s) {
      profile->begin_step();
      losses.push_back(
          engine->train_step(synthetic_batch(s), {s, float(schedule.at(s)), true, *scaler}));
      profile->end_step();
    }
  }

  std::vector<NamedSpan> state() {
    engine->read_state();
    return engine->state_tensors();
  }
};

double l2(std::span<const float> a, std::span<const float> b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(sum);
}

double l2(std::span<const float> a) {
  std::vector<float> zero(a.size(), 0.0f);
  return l2(a, zero);
}

class GpuTrainStep : public test::GpuTest,
                     public ::testing::WithParamInterface<std::tuple<const char*, Precision, int>> {
 protected:
  fs::path file(const char* name) const {
    return fs::temp_directory_path() / ("lb_gpu_step_" + std::to_string(::getpid()) + name);
  }
  void TearDown() override {
    fs::remove(file("cpu.json"));
    fs::remove(file("gpu.json"));
  }
};

// Compares the GPU's final state with the CPU's, tensor by tensor (the
// checkpoint tensors: masters, momentum, BatchNorm statistics).
void expect_states_agree(EngineRun& cpu, EngineRun& gpu,
                         const std::vector<std::vector<float>>& initial, const Tolerance& tol) {
  const std::vector<NamedSpan> c = cpu.state(), g = gpu.state();
  ASSERT_EQ(c.size(), g.size());
  for (std::size_t k = 0; k < c.size(); ++k) {
    ASSERT_EQ(c[k].name, g[k].name) << "checkpoint tensors in another order";
    ASSERT_EQ(c[k].data.size(), g[k].data.size()) << c[k].name;
    const double error = l2(c[k].data, g[k].data);
    if (c[k].name.ends_with(".master")) {
      const double moved = std::max(l2(c[k].data, initial[k]), 1e-6 * l2(initial[k]));
      EXPECT_LE(error / moved, tol.weights) << c[k].name << ": moved " << moved;
    } else if (c[k].name.starts_with("buffer")) {
      EXPECT_LE(error, tol.statistics * std::max(l2(c[k].data), 1e-12)) << c[k].name;
    }
  }
}

TEST_P(GpuTrainStep, MatchesTheCpuStep) {
  if (!has_gpu()) return;
  const auto [model, precision, steps] = GetParam();
  EngineRun cpu(test_spec(model, precision, "cpu"), file("cpu.json"));
  EngineRun gpu(test_spec(model, precision, "cuda"), file("gpu.json"));
  std::vector<std::vector<float>> initial;
  for (const NamedSpan& t : cpu.state()) initial.emplace_back(t.data.begin(), t.data.end());
  cpu.train(steps);
  gpu.train(steps);
  const Tolerance tol = tolerance(precision);
  for (int s = 0; s < steps; ++s) {
    EXPECT_NEAR(gpu.losses[s], cpu.losses[s], tol.loss * std::fabs(cpu.losses[s])) << "step " << s;
  }
  EXPECT_EQ(gpu.scaler->skipped_steps(), cpu.scaler->skipped_steps());
  EXPECT_EQ(gpu.scaler->scale(), cpu.scaler->scale());
  expect_states_agree(cpu, gpu, initial, tol);
  EXPECT_EQ(gpu.profile->steps_recorded(), steps - 1);  // the first step is the warm-up
}

INSTANTIATE_TEST_SUITE_P(ModelsPrecisionsSteps, GpuTrainStep,
                         ::testing::Combine(::testing::Values("lenet_bn", "resnet20"),
                                            ::testing::Values(Precision::fp32, Precision::fp16),
                                            ::testing::Values(1, 5)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_" +
                                  std::string(lb::to_string(std::get<1>(info.param))) + "_" +
                                  std::to_string(std::get<2>(info.param)) + "steps";
                         });

class GpuEngine : public test::GpuTest {};

TEST_F(GpuEngine, EvaluationMatchesTheCpu) {
  if (!has_gpu()) return;
  const fs::path trace = fs::temp_directory_path() / ("lb_gpu_eval_" + std::to_string(::getpid()));
  EngineRun cpu(test_spec("resnet20", Precision::fp32, "cpu"), trace.string() + "cpu");
  EngineRun gpu(test_spec("resnet20", Precision::fp32, "cuda"), trace.string() + "gpu");
  cpu.train(3);
  gpu.train(3);
  const Batch batch = synthetic_batch(1000);
  const EvalOutcome c = cpu.engine->evaluate(batch, 3), g = gpu.engine->evaluate(batch, 3);
  EXPECT_NEAR(g.mean_loss, c.mean_loss, 1e-3 * std::fabs(c.mean_loss));
  EXPECT_NEAR(double(g.correct), double(c.correct), 1.0);  // a near tie may flip one image
  fs::remove(trace.string() + "cpu");
  fs::remove(trace.string() + "gpu");
}

// A loss scale so large that the fp16 gradients overflow: the step must be
// dropped on the device, leaving every master bit-identical.
TEST_F(GpuEngine, OverflowingFp16StepIsDroppedOnTheDevice) {
  if (!has_gpu()) return;
  Spec spec = test_spec("lenet_bn", Precision::fp16, "cuda");
  spec.train.loss_scale.mode = LossScaleMode::fixed;
  spec.train.loss_scale.init = 1e9;
  const fs::path trace = fs::temp_directory_path() / ("lb_gpu_skip_" + std::to_string(::getpid()));
  EngineRun gpu(spec, trace);
  std::vector<std::vector<float>> initial;
  for (const NamedSpan& t : gpu.state()) initial.emplace_back(t.data.begin(), t.data.end());
  gpu.train(1);
  EXPECT_EQ(gpu.scaler->skipped_steps(), 1);
  const std::vector<NamedSpan> after = gpu.state();
  for (std::size_t k = 0; k < after.size(); ++k) {
    if (!after[k].name.ends_with(".master")) continue;
    EXPECT_TRUE(std::equal(after[k].data.begin(), after[k].data.end(), initial[k].begin()))
        << after[k].name;
  }
  fs::remove(trace);
}

}  // namespace
}  // namespace lb::cuda
