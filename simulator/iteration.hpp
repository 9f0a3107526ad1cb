#pragma once
// One training step of one representative rank, simulated with S4U actors
// on one host whose speed stands for the GPU's: a compute actor executes
// forward and backward layer by layer and marks fusion buckets ready; a
// communication actor all-reduces the buckets strictly in order as they
// become ready (with comm.overlap; otherwise after backward), as
// GradientSync's communication thread does; then the optimizer step. While
// an all-reduce runs it takes a share of the host (its interference: NCCL's
// kernels use the GPU's memory bandwidth and SMs), so overlapped compute
// slows down. On a CPU node the host is the rank's share of the node's cores
// and an all-reduce's CPU work (its thread's copies, reductions and polls)
// runs on it beside compute, each at most at its own rate, sharing the host
// in proportion to their weights (scaling.cpp's RankShare).
// Every rank does the same work in data-parallel training, so
// one rank's compute stands for all; the all-reduce durations come from the
// network model over the whole cluster (flow_model.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "simulator/order_statistics.hpp"

namespace lb::sim {

struct BucketComm {
  std::uint64_t bytes = 0;  // wire bytes
  double seconds = 0;       // the all-reduce alone
  std::string algorithm;    // as resolved, for traces
  double interference = 0;  // share of the device's throughput it takes while it runs, [0, 0.5]
  // CPU nodes: host work it does on the cores (0: none modelled), at most at
  // cpu_rate; the all-reduce ends when both its transfer (`seconds`) and this are done.
  double cpu_work = 0, cpu_rate = 1;
};

struct StepPlan {
  std::vector<std::string> layers;  // forward order
  // Per layer at this per-GPU batch, as host work: seconds at compute_rate
  // 1 (a GPU), else work / compute_rate seconds with nothing beside it.
  std::vector<double> forward_s, backward_s;
  double compute_rate = 1;    // compute's bound on the host, (0, 1]
  double compute_weight = 1;  // its share beside an all-reduce's CPU work (weight 1): its threads
  std::vector<BucketComm> buckets;      // launch (backward) order
  std::vector<int> bucket_ready_after;  // the layer whose backward completes the bucket
  bool overlap = true;
  double host_overhead_s = 0;  // fixed host time per step before forward (cluster.step_overhead_s)
  double optimizer_s = 0;
  double data_s = 0;  // time the input pipeline needs per batch; 0 = unlimited
  // The slowest rank reaches each point of its backward (1 + straggle) times
  // later than the typical rank, so a bucket's all-reduce starts that much
  // later (see expected_max_normal).
  double straggle = 0;
  // How much of the slowest rank's lead survives each all-reduce, [0, 1]:
  // on CPU ranks whose cores their compute fills, the faster ranks' wait in
  // an all-reduce holds their compute back a little, so they leave it with
  // part of their lead given up; the lead then grows again by `straggle`
  // over the compute until the next one. Measured by the calibration
  // (ComputeModel::lead_kept_at_allreduce). 1: the lead grows from the
  // step's start (GPUs, whose collectives wait on the device; time-sliced
  // ranks, whose measured wait is a scheduler's slice whatever came before).
  double lead_kept_at_allreduce = 1;

  // Forward + backward of every layer, as host work (seconds at compute_rate 1).
  double compute_work_s() const;
};

struct TraceEvent {
  std::string name, category;
  int track = 0;  // 0 compute, 1 communication
  double start_s = 0, duration_s = 0;
  std::uint64_t bytes = 0;
  std::string algorithm;
};

struct StepResult {
  double iteration_s = 0, forward_s = 0, backward_s = 0, comm_s = 0, exposed_comm_s = 0;
  double optimizer_s = 0, data_wait_s = 0, host_overhead_s = 0;
  std::vector<TraceEvent> events;
};

// Runs one step in this process's engine (a fresh one: fresh_engine.hpp).
// May be called several times in one process (plans differing in one term).
StepResult simulate_step(const StepPlan& plan);

}  // namespace lb::sim
