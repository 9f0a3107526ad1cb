#pragma once
// The message pattern of each all-reduce algorithm comm.algorithm names
// (runtime/core/comm_algorithm.hpp), as a list of phases. Pure planning, no
// network: flow_model.hpp times the phases, network_sim.hpp is the SimGrid
// message-level reference.
//
// A lock-step phase is one step that every participating rank takes at the
// same time (its flows concurrent), repeated `repeats` times with the same
// flows: a ring's 2(n-1) steps are one phase of n flows repeated 2(n-1)
// times. The runtime's own algorithms (runtime/comm/allreduce.cpp) are
// lock-step: each step is a sendrecv that waits for the slowest flow.
//
// A pipelined phase (NCCL) streams: chunks move through the ring or tree
// continuously, so the phase takes its base latency plus the latency of the
// path one chunk travels (each hop at least NCCL's per-hop latency for its
// protocol) plus the slowest flow's bytes over its max-min rate, divided by
// the protocol's bandwidth efficiency.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/comm_algorithm.hpp"

namespace lb::sim {

struct Flow {
  int src = 0, dst = 0;  // ranks
  std::uint64_t bytes = 0;
  int via_nic =
      -1;  // inter-node: leave and enter through this NIC of each node (-1: the GPU's own)
};

struct Hop {  // one hop of a pipelined phase's latency path
  int src = 0, dst = 0, via_nic = -1;
  double times = 1;    // how often a chunk crosses it
  double floor_s = 0;  // the protocol's per-hop latency: at least this, whatever the links
};

struct Phase {
  std::string name;         // "ring", "gather", ... for traces
  std::vector<Flow> flows;  // one step's flows, all concurrent
  int repeats = 1;          // lock-step: identical steps in a row
  bool pipelined = false;
  std::vector<Hop> latency_path;  // pipelined: the hops a chunk crosses in turn
  double base_latency_s = 0;      // pipelined: the protocol's fixed start-up
  double latency_factor = 1;      // pipelined: NCCL's ring plateau (1.9 on large multi-node rings)
  double efficiency = 1;          // pipelined: payload fraction of the bandwidth (protocol)
};

// NCCL's three protocols (NCCL 2.7+): LL (8-byte stores with flags: low
// latency, a quarter of the bandwidth), LL128 (128-byte lines, NVLink only)
// and Simple (full bandwidth, highest latency).
enum class NcclProtocol { ll, ll128, simple };
std::string to_string(NcclProtocol p);

// What NCCL's tuning model (src/graph/tuning.cc, NCCL 2.7) predicts for an
// all-reduce, and so which algorithm and protocol it runs.
struct NcclChoice {
  Algorithm algorithm = Algorithm::nccl_ring;  // nccl_ring or nccl_tree
  NcclProtocol protocol = NcclProtocol::simple;
  double model_s = 0;  // NCCL's own estimate, used only to choose
};

struct NcclLinks {           // what NCCL's model knows of the links
  double intra_Bps = 150e9;  // one GPU's intra-node link
  double nic_Bps = 12.5e9;   // one NIC
  bool nvlink = true;        // intra links are NVLink (enables LL128, NVLink latencies)
};

struct CollectiveConfig {
  int ranks = 1;
  int group_size = 1;  // resolved: comm.group_size, or GPUs per node, capped at ranks
  int wire_bytes = 4;  // 4 (fp32) or 2 (comm.fp16_gradients)
  std::int64_t auto_small_bytes = 64 << 10;
  // MPI_Allreduce is modelled as recursive doubling below this size and as
  // a ring above (Open MPI's tuned component switches similarly).
  std::int64_t mpi_ring_bytes = 64 << 10;
  int ranks_per_node = 1;  // GPUs per node (NCCL's rings and trees, channels)
  int nics_per_node = 1;
  NcclLinks nccl;
  // `auto` by these rules (comm.auto_calibration measured at this rank
  // count and group size) instead of auto_small_bytes; empty = the default rule.
  std::vector<AutoRule> auto_rules;
};

// What `requested` runs for a buffer of `bytes` wire bytes: `auto` as
// lb-train resolves it (calibration rules or the default rule on the fp32
// size), `nccl` by NCCL's model; anything else as it is.
Algorithm resolve(Algorithm requested, std::uint64_t bytes, const CollectiveConfig& config);

// NCCL's choice among `allowed` (nccl: ring and tree; nccl_ring or
// nccl_tree: that one, choosing only the protocol).
NcclChoice nccl_choice(Algorithm allowed, std::uint64_t bytes, const CollectiveConfig& config);

// The phases of one all-reduce of `bytes` wire bytes over ranks 0..ranks-1.
// Throws SpecError("comm.group_size") where the runtime would refuse (torus2d
// with a group size that does not divide the ranks).
std::vector<Phase> plan_collective(Algorithm algorithm, std::uint64_t bytes,
                                   const CollectiveConfig& config);

// Every (src, dst) pair the phases use, for the message-level reference's routes.
std::vector<std::pair<int, int>> pairs_used(const std::vector<Phase>& phases);

// Bytes rank 0 sends plus receives over the whole collective (all repeats):
// what its device memory moves for the collective, for the interference estimate.
double bytes_through_rank0(const std::vector<Phase>& phases);

}  // namespace lb::sim
