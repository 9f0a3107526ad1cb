// The one definition of the all-reduce algorithm names, the auto rule and
// the group-size rules that lb-train and simulate-scaling share.
#include "runtime/core/comm_algorithm.hpp"

#include <gtest/gtest.h>

#include "runtime/core/choice.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/spec.hpp"

namespace lb {
namespace {

TEST(CommAlgorithm, EveryNameParsesBackToItself) {
  for (std::string_view name : choice_names<Algorithm>())
    EXPECT_EQ(to_string(parse_algorithm(std::string(name))), name);
  EXPECT_EQ(parse_algorithm("auto"), Algorithm::automatic);
  try {
    parse_algorithm("nccl_doubletree");
    FAIL() << "unknown algorithm accepted";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "comm.algorithm");
    EXPECT_NE(std::string(e.what()).find("nccl_tree"), std::string::npos) << e.what();
  }
}

// The spec accepts every name (simulate-scaling models them all) ...
TEST(CommAlgorithm, TheSpecAcceptsSimulatorOnlyAlgorithms) {
  for (const char* name : {"nccl", "nccl_ring", "nccl_tree", "halving_doubling"}) {
    EXPECT_EQ(to_string(parse_spec({{"comm", {{"algorithm", name}}}}).comm.algorithm), name);
  }
}

// ... and lb-train refuses the ones it does not run, naming them.
TEST(CommAlgorithm, TheRuntimeRefusesSimulatorOnlyAlgorithms) {
  for (Algorithm a : {Algorithm::mpi, Algorithm::ring, Algorithm::hierarchical, Algorithm::torus2d,
                      Algorithm::automatic}) {
    EXPECT_TRUE(runs_in_runtime(a));
    EXPECT_NO_THROW(require_runtime_algorithm(a));
  }
  for (Algorithm a :
       {Algorithm::nccl, Algorithm::nccl_ring, Algorithm::nccl_tree, Algorithm::halving_doubling}) {
    EXPECT_FALSE(runs_in_runtime(a));
    try {
      require_runtime_algorithm(a);
      FAIL() << to_string(a);
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find("simulate-scaling only"), std::string::npos) << e.what();
    }
  }
}

TEST(CommAlgorithm, AutoAndGroupRules) {
  EXPECT_EQ(default_auto_choice(1000, 65536, 8, 16), Algorithm::mpi);
  EXPECT_EQ(default_auto_choice(1 << 20, 65536, 8, 16), Algorithm::hierarchical);
  EXPECT_EQ(default_auto_choice(1 << 20, 65536, 8, 8), Algorithm::ring);
  EXPECT_EQ(resolve_group_size(0, 8, 4), 4);   // ranks per node, capped at the ranks
  EXPECT_EQ(resolve_group_size(2, 8, 16), 2);  // comm.group_size
  EXPECT_EQ(resolve_group_size(32, 8, 16), 16);
  EXPECT_NO_THROW(check_group_size(Algorithm::torus2d, 16, 8));
  EXPECT_THROW(check_group_size(Algorithm::torus2d, 12, 8), SpecError);
  EXPECT_NO_THROW(check_group_size(Algorithm::hierarchical, 12, 8));  // uneven groups are fine
  const std::vector<AutoRule> rules{{4096, Algorithm::mpi}, {-1, Algorithm::ring}};
  EXPECT_EQ(rule_for(rules, 100), Algorithm::mpi);
  EXPECT_EQ(rule_for(rules, 1 << 20), Algorithm::ring);
}

}  // namespace
}  // namespace lb
