#include "runtime/core/comm_algorithm.hpp"

#include <algorithm>
#include <iterator>
#include <string>

#include "runtime/core/choice.hpp"
#include "runtime/core/errors.hpp"

namespace lb {
namespace {

// lb-train's algorithms; the others are models of NCCL and MPI libraries.
constexpr Algorithm kRuntimeAlgorithms[] = {Algorithm::mpi, Algorithm::ring,
                                            Algorithm::hierarchical, Algorithm::torus2d,
                                            Algorithm::automatic};

std::string runtime_names() {
  std::string text;
  for (Algorithm a : kRuntimeAlgorithms) text += (text.empty() ? "" : ", ") + to_string(a);
  return text;
}

}  // namespace

bool runs_in_runtime(Algorithm a) {
  return std::find(std::begin(kRuntimeAlgorithms), std::end(kRuntimeAlgorithms), a) !=
         std::end(kRuntimeAlgorithms);
}

void require_runtime_algorithm(Algorithm a) {
  if (runs_in_runtime(a)) return;
  throw SpecError("comm.algorithm", "\"" + to_string(a) +
                                        "\" is modelled by simulate-scaling only; lb-train runs " +
                                        runtime_names());
}

Algorithm rule_for(const std::vector<AutoRule>& rules, std::int64_t bytes) {
  for (const AutoRule& r : rules) {
    if (r.below_bytes < 0 || bytes < r.below_bytes) return r.algorithm;
  }
  return rules.back().algorithm;
}

Algorithm default_auto_choice(std::int64_t fp32_bytes, std::int64_t small_bytes, int group_size,
                              int ranks) {
  if (fp32_bytes < small_bytes) return Algorithm::mpi;
  return group_size < ranks ? Algorithm::hierarchical : Algorithm::ring;
}

int resolve_group_size(int configured, int ranks_per_node, int ranks) {
  return configured > 0 ? std::min(configured, ranks) : std::min(ranks_per_node, ranks);
}

void check_group_size(Algorithm algorithm, int ranks, int group_size) {
  if (algorithm != Algorithm::torus2d || (group_size > 0 && ranks % group_size == 0)) return;
  throw SpecError("comm.group_size", "torus2d needs a group size that divides the " +
                                         std::to_string(ranks) + " ranks, got " +
                                         std::to_string(group_size));
}

}  // namespace lb
