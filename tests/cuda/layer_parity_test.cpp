// Each layer kind alone, the CPU layer (runtime/nn, oneDNN) against its GPU
// mirror (runtime/backends/cuda/net, cuDNN and cuBLAS), forward and
// backward, in fp32 and fp16, so that the first run on a GPU names the layer
// that disagrees rather than the whole step (train_step_test.cpp compares
// whole models). Each case wraps one layer in a one-child Sequential model,
// binds the GPU copy to DeviceTrainingState as CudaStepEngine does, feeds
// both the same input and output gradient and compares: the output, the
// input gradient, every parameter gradient and (BatchNorm) the running
// statistics.
//
// Tolerances: relative L2 error |gpu - cpu| / |cpu| over each tensor.
//   fp32: 1e-4 forward, 1e-3 backward. cuDNN and cuBLAS sum in other orders
//     than oneDNN (FMA math, no TF32: cudnn_convolution.cpp), so results
//     agree to float rounding grown by the summation length.
//   fp16: 1e-2 forward and backward. Both sides see the same half values
//     (inputs, weights and output gradients are rounded to half on the
//     host first) and accumulate in fp32, but each stores its outputs and
//     gradients as half: a few half ulps (2^-11 relative) apart.
// Without a GPU every case prints SKIPPED (GpuTest).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/backends/cuda/cublas_gemm.hpp"
#include "runtime/backends/cuda/cudnn_tensors.hpp"
#include "runtime/backends/cuda/net/gpu_network.hpp"
#include "runtime/backends/cuda/train/device_training_state.hpp"
#include "runtime/core/half.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/models/model.hpp"
#include "runtime/nn/avg_pool2d.hpp"
#include "runtime/nn/batch_norm.hpp"
#include "runtime/nn/conv2d.hpp"
#include "runtime/nn/dropout.hpp"
#include "runtime/nn/flatten.hpp"
#include "runtime/nn/global_avg_pool.hpp"
#include "runtime/nn/linear.hpp"
#include "runtime/nn/max_pool2d.hpp"
#include "runtime/nn/relu.hpp"
#include "runtime/nn/residual.hpp"
#include "tests/cuda/gpu_test.hpp"

namespace lb::cuda {
namespace {

constexpr std::uint64_t kStepSeed = 12345;  // dropout's mask, the same on both devices

struct Tolerance {
  double forward, backward;
};

Tolerance tolerance(Precision p) {
  return p == Precision::fp32 ? Tolerance{1e-4, 1e-3} : Tolerance{1e-2, 1e-2};
}

double relative_l2(const std::vector<float>& gpu, std::span<const float> cpu) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    diff += (double(gpu[i]) - cpu[i]) * (double(gpu[i]) - cpu[i]);
    norm += double(cpu[i]) * cpu[i];
  }
  return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

// One layer kind: how to build it and the input shape it takes.
struct LayerCase {
  std::string kind;
  Shape input;
  std::function<std::unique_ptr<Layer>()> make;
};

std::unique_ptr<Layer> conv_bn_block() {
  auto branch = std::make_unique<Sequential>("block.branch");
  branch->emplace<Conv2d>("block.conv", 4, 4, 3, 1, 1, false);
  branch->emplace<BatchNorm>("block.bn", 4);
  return std::make_unique<Residual>("block", std::move(branch), nullptr);
}

std::vector<LayerCase> layer_cases() {
  return {
      {"conv2d",
       {8, 3, 12, 12},
       [] { return std::make_unique<Conv2d>("conv", 3, 8, 3, 1, 1, false); }},
      {"conv2d_bias_stride2",
       {8, 3, 12, 12},
       [] { return std::make_unique<Conv2d>("conv", 3, 8, 3, 2, 1, true); }},
      {"linear", {8, 40}, [] { return std::make_unique<Linear>("fc", 40, 10); }},
      {"batch_norm", {8, 6, 5, 5}, [] { return std::make_unique<BatchNorm>("bn", 6); }},
      {"relu", {8, 6, 5, 5}, [] { return std::make_unique<ReLU>("relu"); }},
      {"max_pool2d", {8, 4, 10, 10}, [] { return std::make_unique<MaxPool2d>("pool", 2, 2); }},
      {"avg_pool2d", {8, 4, 10, 10}, [] { return std::make_unique<AvgPool2d>("pool", 3, 2, 1); }},
      {"global_avg_pool", {8, 4, 6, 6}, [] { return std::make_unique<GlobalAvgPool>("gap"); }},
      {"flatten", {8, 4, 3, 3}, [] { return std::make_unique<Flatten>("flatten"); }},
      {"dropout", {8, 64}, [] { return std::make_unique<Dropout>("dropout", 0.5); }},
      {"residual", {8, 4, 6, 6}, conv_bn_block},
  };
}

// Seeded values, rounded to half in fp16 mode so both devices see the same numbers.
Tensor random_tensor(const Shape& shape, std::uint32_t seed, Precision precision) {
  Tensor t(shape);
  const std::vector<float> v = test::normal_values(std::size_t(t.numel()), seed);
  std::copy(v.begin(), v.end(), t.data());
  if (precision == Precision::fp16) round_to_half(t.span());
  return t;
}

class LayerParity : public test::GpuTest, public ::testing::WithParamInterface<Precision> {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    if (!has_gpu()) return;
    cudnn_ = std::make_unique<CudnnHandle>(stream());
    cublas_ = std::make_unique<CublasHandle>(stream());
  }

  Precision precision() const { return GetParam(); }
  DataType type() const { return precision() == Precision::fp16 ? DataType::fp16 : DataType::fp32; }

  // A device copy of `t` in the run's storage type.
  GpuTensor upload_as(const Tensor& t, GpuStorage& storage) {
    GpuTensor g = storage.view(allocator(), t.shape(), type());
    if (type() == DataType::fp32) {
      copy(std::span<const float>(t.span()), g.as<float>(), stream());
    } else {
      std::vector<half_bits> h(std::size_t(t.numel()));
      lb::to_half(std::span<const float>(t.span()), h);
      copy(std::span<const half_bits>(h), g.as<half_bits>(), stream());
      stream_->synchronize();  // `h` is a temporary
    }
    return g;
  }

  std::vector<float> download_any(const GpuTensor& g) {
    std::vector<float> out(std::size_t(g.numel()));
    if (g.type == DataType::fp32) {
      copy(std::span<const float>(g.as<float>()), std::span<float>(out), stream());
      stream_->synchronize();
    } else {
      std::vector<half_bits> h(out.size());
      copy(std::span<const half_bits>(g.as<half_bits>()), std::span<half_bits>(h), stream());
      stream_->synchronize();
      lb::from_half(h, out);
    }
    return out;
  }

  std::unique_ptr<CudnnHandle> cudnn_;
  std::unique_ptr<CublasHandle> cublas_;
};

// The zoo's convention: a model's weights start from one init; in fp16 the
// layers read the masters rounded to half (TrainingState::sync_values).
std::unique_ptr<Model> one_layer_model(const LayerCase& c, Precision precision) {
  auto model = std::make_unique<Model>();
  model->name = "parity-" + c.kind;
  model->input_chw = Shape(c.input.begin() + 1, c.input.end());
  model->net = std::make_unique<Sequential>("net");
  model->net->add(c.make());
  Rng rng(mix(7, 0x6d6f64656cull));
  model->net->init(rng);
  for (Param* p : model->net->params()) {
    if (precision == Precision::fp16 && p->half_storage) round_to_half(p->value.span());
  }
  return model;
}

Spec parity_spec(Precision precision) {
  return parse_spec({{"device", "cuda"},
                     {"data", {{"dataset", "synthetic"}}},
                     {"train", {{"precision", std::string(lb::to_string(precision))}}}});
}

TEST_P(LayerParity, ForwardAndBackwardOfEachLayerKindAgree) {
  if (!has_gpu()) return;
  const Tolerance tol = tolerance(precision());
  const Spec spec = parity_spec(precision());
  for (const LayerCase& c : layer_cases()) {
    SCOPED_TRACE(c.kind + " " + std::string(lb::to_string(precision())));
    std::unique_ptr<Model> model = one_layer_model(c, precision());
    const GpuRuntime runtime{stream(), *cudnn_, *cublas_, allocator(), type()};
    std::unique_ptr<GpuLayer> gpu = build_gpu_layer(*model->net, runtime);
    DeviceTrainingState state(*model, spec, runtime);
    state.bind(*gpu);

    const Tensor x = random_tensor(c.input, 1, precision());
    const Context ctx{Mode::train, precision(), kStepSeed};
    const Tensor& y_cpu = model->net->forward(x, ctx);
    GpuStorage x_storage, dy_storage;
    const GpuPass pass{Mode::train, kStepSeed, nullptr};
    const GpuTensor& y_gpu = gpu->forward(upload_as(x, x_storage), pass);
    ASSERT_EQ(y_gpu.shape, y_cpu.shape());
    EXPECT_LE(relative_l2(download_any(y_gpu), y_cpu.span()), tol.forward) << "output";

    const Tensor dy = random_tensor(y_cpu.shape(), 2, precision());
    const Tensor& dx_cpu = model->net->backward(dy, ctx);
    const GpuTensor& dx_gpu = gpu->backward(upload_as(dy, dy_storage), pass);
    ASSERT_EQ(dx_gpu.shape, dx_cpu.shape());
    EXPECT_LE(relative_l2(download_any(dx_gpu), dx_cpu.span()), tol.backward) << "input gradient";

    std::vector<GpuParam*> gpu_params;
    gpu->for_each_leaf([&](GpuLayer& leaf) {
      for (GpuParam* p : leaf.params()) gpu_params.push_back(p);
    });
    const std::vector<Param*> cpu_params = model->net->params();
    ASSERT_EQ(gpu_params.size(), cpu_params.size());
    for (std::size_t i = 0; i < cpu_params.size(); ++i) {
      EXPECT_LE(relative_l2(download_any(gpu_params[i]->grad), cpu_params[i]->grad.span()),
                tol.backward)
          << cpu_params[i]->name << " gradient";
    }
    std::vector<GpuBuffer*> gpu_buffers;
    gpu->for_each_leaf([&](GpuLayer& leaf) {
      for (GpuBuffer* b : leaf.buffers()) gpu_buffers.push_back(b);
    });
    const std::vector<Tensor*> cpu_buffers = model->net->buffers();
    ASSERT_EQ(gpu_buffers.size(), cpu_buffers.size());
    for (std::size_t i = 0; i < cpu_buffers.size(); ++i) {
      std::vector<float> host(gpu_buffers[i]->device.size());
      copy(std::span<const float>(gpu_buffers[i]->device), std::span<float>(host), stream());
      stream_->synchronize();
      EXPECT_LE(relative_l2(host, cpu_buffers[i]->span()), tol.forward)
          << "running statistics " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, LayerParity,
                         ::testing::Values(Precision::fp32, Precision::fp16),
                         [](const auto& info) { return std::string(lb::to_string(info.param)); });

}  // namespace
}  // namespace lb::cuda
