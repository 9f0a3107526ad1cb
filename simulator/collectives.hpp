#pragma once
// The message pattern of each runtime all-reduce algorithm
// (runtime/comm/allreduce.cpp), as a list of phases. A phase is one step that
// every participating rank takes at the same time (its flows run
// concurrently) repeated `repeats` times with the same flows: a ring's
// 2(n-1) steps are one phase of n flows repeated 2(n-1) times.
//
// Pure planning, no SimGrid: simulation lives in network_sim.hpp.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/spec_choices.hpp"

namespace lb::sim {

// The runtime's all-reduce algorithms: the spec's comm.algorithm enum, with
// its names (runtime/core/spec_choices.hpp).
using Collective = Algorithm;
inline Collective parse_collective(const std::string& name) { return parse_algorithm(name); }

struct Flow {
  int src = 0, dst = 0;  // ranks
  std::uint64_t bytes = 0;
};

struct Phase {
  std::string name;         // "ring", "gather", ... for traces
  std::vector<Flow> flows;  // one step's flows, all concurrent
  int repeats = 1;          // identical steps in a row
};

struct CollectiveConfig {
  int ranks = 1;
  int group_size = 1;  // resolved: comm.group_size, or GPUs per node, capped at ranks
  int wire_bytes = 4;  // 4 (fp32) or 2 (comm.fp16_gradients)
  std::int64_t auto_small_bytes = 64 << 10;
  // MPI_Allreduce is modelled as recursive doubling below this size and as
  // a ring above (Open MPI's tuned component switches similarly).
  std::int64_t mpi_ring_bytes = 64 << 10;
};

// What `automatic` resolves to for a buffer of `bytes` wire bytes, as
// Allreducer::resolve (which compares the fp32 size).
Collective resolve(Collective c, std::uint64_t bytes, const CollectiveConfig& config);

// The phases of one all-reduce of `bytes` wire bytes over ranks 0..ranks-1.
// Throws SpecError("comm.group_size") where the runtime would refuse (torus2d
// with a group size that does not divide the ranks).
std::vector<Phase> plan_collective(Collective c, std::uint64_t bytes,
                                   const CollectiveConfig& config);

// Every (src, dst) pair any plan of this configuration can use, for routing.
std::vector<std::pair<int, int>> pairs_used(const std::vector<Phase>& phases);

}  // namespace lb::sim
