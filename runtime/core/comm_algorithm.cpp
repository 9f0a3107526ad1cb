#include "runtime/core/comm_algorithm.hpp"

#include <algorithm>

#include "runtime/core/errors.hpp"

namespace lb {
namespace {

struct Entry {
  Algorithm algorithm;
  std::string_view name;
  bool runtime;
};

constexpr Entry kAlgorithms[] = {
    {Algorithm::mpi, "mpi", true},
    {Algorithm::ring, "ring", true},
    {Algorithm::hierarchical, "hierarchical", true},
    {Algorithm::torus2d, "torus2d", true},
    {Algorithm::automatic, "auto", true},
    {Algorithm::halving_doubling, "halving_doubling", false},
    {Algorithm::nccl_ring, "nccl_ring", false},
    {Algorithm::nccl_tree, "nccl_tree", false},
    {Algorithm::nccl, "nccl", false},
};

const Entry& entry(Algorithm a) {
  for (const Entry& e : kAlgorithms) {
    if (e.algorithm == a) return e;
  }
  return kAlgorithms[0];  // unreachable: every enumerator has an entry
}

std::string joined_names(bool runtime_only) {
  std::string text;
  for (const Entry& e : kAlgorithms) {
    if (runtime_only && !e.runtime) continue;
    text += (text.empty() ? "" : ", ") + std::string(e.name);
  }
  return text;
}

}  // namespace

const std::vector<std::string_view>& algorithm_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const Entry& e : kAlgorithms) v.push_back(e.name);
    return v;
  }();
  return names;
}

Algorithm parse_algorithm(std::string_view name) {
  for (const Entry& e : kAlgorithms) {
    if (e.name == name) return e.algorithm;
  }
  throw SpecError("comm.algorithm",
                  "expected one of " + joined_names(false) + ", got \"" + std::string(name) + "\"");
}

std::string to_string(Algorithm a) { return std::string(entry(a).name); }

bool runs_in_runtime(Algorithm a) { return entry(a).runtime; }

void require_runtime_algorithm(Algorithm a) {
  if (runs_in_runtime(a)) return;
  throw SpecError("comm.algorithm", "\"" + to_string(a) +
                                        "\" is modelled by simulate-scaling only; lb-train runs " +
                                        joined_names(true));
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
