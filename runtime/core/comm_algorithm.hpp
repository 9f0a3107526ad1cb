#pragma once
// What the all-reduce algorithms a spec can name (comm.algorithm; the enum
// and its names are in spec_choices.hpp) are, which of them lb-train runs,
// the rule that resolves `auto`, and the group-size rules: defined once here for lb-train
// (runtime/comm/allreduce.cpp, the CUDA NcclAllreducer) and simulate-scaling
// (simulator/collectives.cpp), so the simulator runs the configuration the
// runtime would.
//
//   mpi               MPI_Allreduce                                   runtime, simulator
//   ring              reduce-scatter + all-gather around one ring      runtime, simulator
//   hierarchical      reduce in groups, ring of leaders, broadcast     runtime, simulator
//   torus2d           rows reduce-scatter, columns all-reduce, rows
//                     all-gather (Mikami et al. 2018)                  runtime, simulator
//   auto              by bucket size (the seed's hybrid)               runtime, simulator
//   halving_doubling  recursive halving reduce-scatter + recursive
//                     doubling all-gather (Rabenseifner)               simulator only
//   nccl_ring         NCCL's pipelined ring, one channel per NIC       simulator only
//   nccl_tree         NCCL's double binary tree across nodes, chains
//                     inside them                                      simulator only
//   nccl              NCCL's own choice of ring or tree and protocol
//                     by size and scale (its tuning model)             simulator only
#include <cstdint>
#include <vector>

#include "runtime/core/spec_choices.hpp"  // Algorithm, its names and parse_algorithm

namespace lb {

// lb-train runs mpi, ring, hierarchical, torus2d and auto; the others are
// models of NCCL and MPI libraries that only simulate-scaling has.
bool runs_in_runtime(Algorithm a);
// Throws SpecError("comm.algorithm") naming the simulator-only algorithm.
void require_runtime_algorithm(Algorithm a);

// An `auto` rule from a calibration file: buckets of fewer than
// `below_bytes` bytes (not caught by an earlier rule) use `algorithm`; the
// last rule has no bound (below_bytes = -1).
struct AutoRule {
  std::int64_t below_bytes = -1;
  Algorithm algorithm = Algorithm::ring;
  bool operator==(const AutoRule&) const = default;
};

// The algorithm `rules` give for a bucket of `bytes`.
Algorithm rule_for(const std::vector<AutoRule>& rules, std::int64_t bytes);

// `auto` without a calibration file, for a bucket of `fp32_bytes` (the fp32
// size, whatever the wire format): MPI_Allreduce below `small_bytes`
// (latency-bound), else hierarchical when the ranks form several groups,
// else ring.
Algorithm default_auto_choice(std::int64_t fp32_bytes, std::int64_t small_bytes, int group_size,
                              int ranks);

// The group size of hierarchical and torus2d: comm.group_size when set
// (capped at the rank count), else the ranks per node.
int resolve_group_size(int configured, int ranks_per_node, int ranks);

// Throws SpecError("comm.group_size") where `algorithm` cannot run with this
// group size (torus2d needs one that divides the ranks).
void check_group_size(Algorithm algorithm, int ranks, int group_size);

}  // namespace lb
