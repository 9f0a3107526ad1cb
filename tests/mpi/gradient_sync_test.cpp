// Fused, overlapped gradient averaging against the exact mean.
#include "runtime/comm/gradient_sync.hpp"

#include <gtest/gtest.h>

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

// The single-pass pack-and-scale and the in-place one-tensor buckets must
// give exactly what Allreducer::mean gives on the same buffers.
TEST(GradientSync, MatchesAllreducerMeanBitForBit) {
  Allreducer reducer(world_comm(), {Algorithm::ring, 0, false});
  for (const std::int64_t fusion_bytes : {std::int64_t(0), std::int64_t(1) << 30}) {
    Grads g(world_comm().rank());
    std::vector<std::vector<float>> expected;
    if (fusion_bytes == 0) {  // one tensor per bucket: each averaged alone
      for (auto tensor : g.storage) {
        reducer.mean(tensor);
        expected.push_back(tensor);
      }
    } else {  // one bucket: the tensors packed in backward order, averaged together
      std::vector<float> packed;
      for (const auto& tensor : g.storage)
        packed.insert(packed.end(), tensor.begin(), tensor.end());
      reducer.mean(packed);
      auto at = packed.begin();
      for (const auto& tensor : g.storage) {
        expected.emplace_back(at, at + std::ptrdiff_t(tensor.size()));
        at += std::ptrdiff_t(tensor.size());
      }
    }
    GradientSync sync(reducer, g.spans, fusion_bytes, false);
    ASSERT_EQ(sync.buckets().size(), fusion_bytes == 0 ? g.storage.size() : 1u);
    sync.begin_step();
    for (std::size_t t = 0; t < g.spans.size(); ++t) sync.ready(t);
    sync.finish();
    for (std::size_t t = 0; t < g.storage.size(); ++t) {
      ASSERT_EQ(g.storage[t], expected[t]) << "tensor " << t << ", fusion_bytes " << fusion_bytes;
    }
  }
}

// Buckets that are slices of a gradient arena (reduced in place, padding
// included) give the values of buckets packed by copy. Not bit for bit: the
// padding moves the ring's chunk boundaries, and with them the order in
// which each value's N terms are added (at most an ulp or so apart).
TEST_P(GradientSyncTest, ArenaSlicesGiveTheValuesOfPackedBuckets) {
  const auto [fusion_bytes, overlap] = GetParam();
  Allreducer reducer(world_comm(), {Algorithm::ring, 0, false});
  Grads packed(world_comm().rank());
  std::vector<Tensor> tensors;
  for (const auto& values : packed.storage) {
    tensors.emplace_back(Shape{std::int64_t(values.size())});
    std::copy(values.begin(), values.end(), tensors.back().data());
  }
  std::vector<Tensor*> pointers;
  for (Tensor& t : tensors) pointers.push_back(&t);
  GradientArena arena(pointers);
  GradientSync by_copy(reducer, packed.spans, fusion_bytes, overlap);
  GradientSync in_arena(reducer, arena, fusion_bytes, overlap);
  ASSERT_EQ(in_arena.buckets().size(), by_copy.buckets().size());
  for (GradientSync* sync : {&by_copy, &in_arena}) {
    sync->begin_step(true);
    for (std::size_t t = 0; t < packed.spans.size(); ++t) sync->ready(t);
    sync->finish();
  }
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    for (std::size_t i = 0; i < packed.storage[t].size(); ++i) {
      const float want = packed.storage[t][i];
      ASSERT_NEAR(tensors[t][std::int64_t(i)], want, 2e-7f * std::abs(want))
          << "tensor " << t << " [" << i << "]";
    }
  }
  EXPECT_NEAR(in_arena.local_squared_norm(), by_copy.local_squared_norm(),
              1e-9 * by_copy.local_squared_norm());
}

INSTANTIATE_TEST_SUITE_P(FusionAndOverlap, GradientSyncTest,
                         ::testing::Combine(::testing::Values(0, 4096, 1 << 20),
                                            ::testing::Bool()));

}  // namespace
}  // namespace lb
