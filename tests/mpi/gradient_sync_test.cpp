// Fused, overlapped gradient averaging against the exact mean.
#include <gtest/gtest.h>

#include "runtime/comm/gradient_sync.hpp"
#include "runtime/comm/mpi_communicator.hpp"

namespace lb {
namespace {

MpiCommunicator& world_comm() {
  static MpiCommunicator comm(MPI_COMM_WORLD, 60.0);
  return comm;
}

struct Grads {
  std::vector<std::vector<float>> storage;
  std::vector<std::span<float>> spans;
  explicit Grads(int rank) {
    for (std::size_t size : {3u, 1000u, 17u, 1u, 50000u, 7u}) {
      storage.emplace_back(size);
      for (std::size_t i = 0; i < size; ++i) storage.back()[i] = float((rank + 1) * (i % 5 + 1));
    }
    for (auto& s : storage) spans.emplace_back(s);
  }
};

class GradientSyncTest : public ::testing::TestWithParam<std::tuple<std::int64_t, bool>> {};

TEST_P(GradientSyncTest, AveragesEveryTensorOverSeveralSteps) {
  const auto [fusion_bytes, overlap] = GetParam();
  const int n = world_comm().size();
  Allreducer reducer(world_comm(), {Algorithm::ring, 0, false});
  Grads g(world_comm().rank());
  GradientSync sync(reducer, g.spans, fusion_bytes, overlap);
  for (int step = 0; step < 3; ++step) {
    Grads fresh(world_comm().rank());
    for (std::size_t t = 0; t < g.storage.size(); ++t) g.storage[t] = fresh.storage[t];
    sync.begin_step();
    for (std::size_t t = 0; t < g.spans.size(); ++t) sync.ready(t);
    sync.finish();
    const double rank_mean = (n + 1) / 2.0;
    for (const auto& tensor : g.storage) {
      for (std::size_t i = 0; i < tensor.size(); ++i) {
        ASSERT_NEAR(tensor[i], rank_mean * double(i % 5 + 1), 1e-5) << "step " << step;
      }
    }
  }
  for (const auto& t : sync.timings()) EXPECT_LE(t.start_s, t.end_s);
}

INSTANTIATE_TEST_SUITE_P(FusionAndOverlap, GradientSyncTest,
                         ::testing::Combine(::testing::Values(0, 4096, 1 << 20),
                                            ::testing::Bool()));

}  // namespace
}  // namespace lb
