// The GPU optimizers against the CPU ones (runtime/optim), expected bit for
// bit: the per-element formulas are the same functions
// (elementwise_math.hpp), the kernels are compiled without FMA contraction,
// and the LARS norms add their squares in the CPU's order, so the trust
// ratios are the same doubles. A mismatch is a bug, not a tolerance issue.
#include <gtest/gtest.h>

#include <cstdio>

#include "runtime/backends/cuda/cuda_lars_optimizer.hpp"
#include "runtime/backends/cuda/cuda_sgd_optimizer.hpp"
#include "runtime/optim/lars.hpp"
#include "runtime/optim/sgd.hpp"
#include "tests/cuda/gpu_test.hpp"

namespace lb::cuda {
namespace {

// Sizes around the norm block (4096), the update chunk (8192), lanes of 8,
// and a bias-sized and a large tensor.
constexpr std::size_t kSizes[] = {1, 7, 64, 4095, 4096, 4097, 8192, 8199, 100003, 1 << 20};

struct HostModel {
  std::vector<std::vector<float>> w, g, v;
  std::vector<OptimSlot> slots;
};

HostModel host_model(std::size_t copies) {
  HostModel m;
  std::uint32_t seed = 100;
  for (std::size_t c = 0; c < copies; ++c) {
    for (std::size_t n : kSizes) {
      m.w.push_back(test::normal_values(n, seed++, 0.05f));
      m.g.push_back(test::normal_values(n, seed++, 300.0f));  // loss-scaled
      m.v.push_back(test::normal_values(n, seed++, 0.01f));
    }
  }
  m.w[2].assign(m.w[2].size(), 0.0f);  // a zero tensor: trust ratio 1
  for (std::size_t s = 0; s < m.w.size(); ++s) {
    m.slots.push_back(OptimSlot{m.w[s], m.g[s], m.v[s], s % 3 != 1, s % 4 != 3});
  }
  return m;
}

class GpuOptimizer : public test::GpuTest {
 protected:
  struct DeviceModel {
    std::vector<DeviceBuffer<float>> w, g, v;
    std::vector<OptimSlot> slots;
  };

  DeviceModel device_model(const HostModel& m) {
    DeviceModel d;
    for (std::size_t s = 0; s < m.slots.size(); ++s) {
      d.w.push_back(upload(m.w[s]));
      d.g.push_back(upload(m.g[s]));
      d.v.push_back(upload(m.v[s]));
    }
    for (std::size_t s = 0; s < m.slots.size(); ++s) {
      d.slots.push_back(OptimSlot{d.w[s].span(), d.g[s].span(), d.v[s].span(),
                                  m.slots[s].weight_decay, m.slots[s].adapt});
    }
    return d;
  }

  void expect_same(const HostModel& cpu, const DeviceModel& gpu) {
    for (std::size_t s = 0; s < cpu.slots.size(); ++s) {
      EXPECT_EQ(download(gpu.w[s]), cpu.w[s]) << "weights of slot " << s;
      EXPECT_EQ(download(gpu.v[s]), cpu.v[s]) << "velocity of slot " << s;
    }
  }
};

OptimizerSpec spec(OptimizerKind name, bool nesterov, bool clip) {
  OptimizerSpec s;
  s.name = name;
  s.momentum = 0.9;
  s.nesterov = nesterov;
  s.weight_decay = 5e-4;
  s.lars.eta = 0.02;
  s.lars.clip = clip;
  return s;
}

TEST_F(GpuOptimizer, LarsMatchesTheCpuBitForBit) {
  for (bool nesterov : {false, true}) {
    for (bool clip : {false, true}) {
      SCOPED_TRACE(std::string("nesterov ") + (nesterov ? "on" : "off") + ", clip " +
                   (clip ? "on" : "off"));
      HostModel cpu = host_model(1);
      DeviceModel gpu = device_model(cpu);
      LarsOptimizer reference(spec(OptimizerKind::lars, nesterov, clip));
      CudaLarsOptimizer optimizer(spec(OptimizerKind::lars, nesterov, clip), allocator(), stream());
      for (int step = 0; step < 3; ++step) {
        reference.step(cpu.slots, 0.5f + step, 1.0f / 1024);
        optimizer.step(gpu.slots, 0.5f + step, 1.0f / 1024);
        EXPECT_EQ(optimizer.last_local_lrs(), reference.last_local_lrs()) << "step " << step;
      }
      expect_same(cpu, gpu);
    }
  }
}

TEST_F(GpuOptimizer, LarsOverMoreSlotsThanOneLaunchHolds) {
  HostModel cpu = host_model(kMaxSlotsPerLaunch / std::size(kSizes) + 2);
  ASSERT_GT(cpu.slots.size(), std::size_t(kMaxSlotsPerLaunch));
  DeviceModel gpu = device_model(cpu);
  LarsOptimizer reference(spec(OptimizerKind::lars, false, false));
  CudaLarsOptimizer optimizer(spec(OptimizerKind::lars, false, false), allocator(), stream());
  reference.step(cpu.slots, 1.0f, 1.0f / 256);
  optimizer.step(gpu.slots, 1.0f, 1.0f / 256);
  EXPECT_EQ(optimizer.last_local_lrs(), reference.last_local_lrs());
  expect_same(cpu, gpu);
}

TEST_F(GpuOptimizer, SgdMatchesTheCpuBitForBit) {
  for (bool nesterov : {false, true}) {
    SCOPED_TRACE(nesterov ? "nesterov" : "plain");
    HostModel cpu = host_model(1);
    DeviceModel gpu = device_model(cpu);
    SgdOptimizer reference(spec(OptimizerKind::sgd, nesterov, false));
    CudaSgdOptimizer optimizer(spec(OptimizerKind::sgd, nesterov, false), stream());
    for (int step = 0; step < 3; ++step) {
      reference.step(cpu.slots, 0.1f, 1.0f / 1024);
      optimizer.step(gpu.slots, 0.1f, 1.0f / 1024);
    }
    expect_same(cpu, gpu);
  }
}

TEST_F(GpuOptimizer, ASetSkipFlagLeavesEverythingUnchanged) {
  HostModel cpu = host_model(1);
  DeviceModel gpu = device_model(cpu);
  DeviceBuffer<int> skip = upload(std::vector<int>{1});
  CudaLarsOptimizer lars(spec(OptimizerKind::lars, false, false), allocator(), stream());
  CudaSgdOptimizer sgd(spec(OptimizerKind::sgd, false, false), stream());
  lars.step(gpu.slots, 1.0f, 1.0f, skip.data());
  sgd.step(gpu.slots, 1.0f, 1.0f, skip.data());
  expect_same(cpu, gpu);  // cpu never stepped
}

TEST_F(GpuOptimizer, TheGradientIsNeverWritten) {
  HostModel cpu = host_model(1);
  DeviceModel gpu = device_model(cpu);
  CudaLarsOptimizer optimizer(spec(OptimizerKind::lars, true, false), allocator(), stream());
  optimizer.step(gpu.slots, 1.0f, 0.5f);
  for (std::size_t s = 0; s < cpu.slots.size(); ++s) EXPECT_EQ(download(gpu.g[s]), cpu.g[s]);
}

}  // namespace
}  // namespace lb::cuda
