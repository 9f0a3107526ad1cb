// Every all-reduce algorithm against the exact sum, on integer-valued data
// (exact in fp32 and, kept small, in fp16), for awkward sizes.
#include "runtime/comm/allreduce.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "runtime/comm/mpi_communicator.hpp"
#include "runtime/core/errors.hpp"

namespace lb {
namespace {

MpiCommunicator& world() {
  static MpiCommunicator comm(MPI_COMM_WORLD, 60.0);
  return comm;
}

float pattern(std::size_t i) { return float(i % 17 + 1); }

std::vector<float> rank_data(std::size_t size, int rank) {
  std::vector<float> v(size);
  for (std::size_t i = 0; i < size; ++i) v[i] = float(rank + 1) * pattern(i);
  return v;
}

std::size_t count_wrong(const std::vector<float>& v, int n) {
  const float ranks_sum = float(n * (n + 1) / 2);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < v.size(); ++i) wrong += v[i] != ranks_sum * pattern(i);
  return wrong;
}

std::vector<std::size_t> awkward_sizes(int n) {
  return {0, 1, std::size_t(std::max(n - 1, 1)), 7, 13, 1000, 65537, (1u << 20) + 3};
}

struct Case {
  Algorithm algorithm;
  int group_size;  // 0 = ranks per node
};

std::vector<Case> cases(int n) {
  std::vector<Case> out{{Algorithm::mpi, 0},          {Algorithm::ring, 0},
                        {Algorithm::automatic, 0},    {Algorithm::hierarchical, 1},
                        {Algorithm::hierarchical, 2}, {Algorithm::hierarchical, n},
                        {Algorithm::torus2d, 1},      {Algorithm::torus2d, n}};
  if (n % 2 == 0) out.push_back({Algorithm::torus2d, 2});
  return out;
}

void expect_exact_sums(bool fp16_wire) {
  const int n = world().size();
  for (const Case& c : cases(n)) {
    Allreducer reducer(world(), {c.algorithm, c.group_size, fp16_wire});
    for (std::size_t size : awkward_sizes(n)) {
      auto data = rank_data(size, world().rank());
      reducer.sum(data);
      EXPECT_EQ(count_wrong(data, n), 0u) << to_string(c.algorithm) << " group " << c.group_size
                                          << " size " << size << " ranks " << n;
    }
  }
}

TEST(Allreduce, EveryAlgorithmGivesTheExactSum) { expect_exact_sums(false); }

TEST(Allreduce, Fp16WireGivesTheExactSumOfSmallIntegers) { expect_exact_sums(true); }

TEST(Allreduce, MeanPreScalesSoFp16CannotOverflow) {
  const int n = world().size();
  Allreducer reducer(world(), {Algorithm::ring, 0, true});
  std::vector<float> data(1000, 60000.0f);  // a sum over ranks > 65504 would be inf in fp16
  reducer.mean(data);
  for (float v : data) EXPECT_NEAR(v, 60000.0f, 60000.0f * 1e-3f) << "ranks " << n;
}

TEST(Allreduce, RingReduceScatterLeavesChunkROnRankR) {
  const int n = world().size(), r = world().rank();
  auto data = rank_data(101, r);
  ring_reduce_scatter(world(), data, false);
  const auto mine = ring_chunk(data, r, n);
  const std::size_t begin = std::size_t(mine.data() - data.data());
  for (std::size_t i = 0; i < mine.size(); ++i) {
    EXPECT_EQ(mine[i], float(n * (n + 1) / 2) * pattern(begin + i));
  }
}

TEST(Allreduce, Torus2dRejectsAGroupSizeThatDoesNotDivideTheRanks) {
  const int n = world().size();
  if (n < 3) GTEST_SKIP() << "SKIPPED: needs 3 or more ranks";
  EXPECT_THROW(Allreducer(world(), {Algorithm::torus2d, n - 1, false}), SpecError);
}

TEST(Allreduce, AutoPicksMpiForSmallAndRingOrHierarchicalForLarge) {
  Allreducer reducer(world(), {Algorithm::automatic, 0, false, 1 << 16});
  EXPECT_EQ(reducer.resolve(Algorithm::automatic, 1024), Algorithm::mpi);
  const Algorithm large = reducer.resolve(Algorithm::automatic, 1 << 24);
  EXPECT_TRUE(large == Algorithm::ring || large == Algorithm::hierarchical);
}

TEST(Allreduce, AutoFollowsMeasuredRulesAndTheyStillGiveTheExactSum) {
  AllreduceConfig config{Algorithm::automatic, 0, false};
  config.auto_rules = {{4096, Algorithm::ring}, {-1, Algorithm::mpi}};
  config.auto_ranks = world().size();
  config.auto_group_size = world().ranks_per_node();
  config.auto_source = "rules.json";
  Allreducer reducer(world(), config);
  EXPECT_EQ(reducer.resolve(Algorithm::automatic, 100), Algorithm::ring);
  EXPECT_EQ(reducer.resolve(Algorithm::automatic, 1 << 20), Algorithm::mpi);
  for (std::size_t size : {std::size_t(7), std::size_t(100000)}) {
    auto data = rank_data(size, world().rank());
    reducer.sum(data);
    EXPECT_EQ(count_wrong(data, world().size()), 0u) << size;
  }
}

TEST(Allreduce, RulesMeasuredWithOtherRanksAreRefusedWithTheFileNamed) {
  AllreduceConfig config{Algorithm::automatic, 0, false};
  config.auto_rules = {{-1, Algorithm::ring}};
  config.auto_ranks = world().size() + 1;
  config.auto_group_size = world().ranks_per_node();
  config.auto_source = "cal/auto.json";
  try {
    Allreducer reducer(world(), config);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("comm.auto_calibration: cal/auto.json: measured with " +
                                         std::to_string(world().size() + 1) + " ranks"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lb
