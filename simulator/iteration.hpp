#pragma once
// One training step of one representative rank, simulated with S4U actors:
// a compute actor sleeps through forward and backward layer by layer and
// marks fusion buckets ready; a communication actor all-reduces the buckets
// strictly in order as they become ready (with comm.overlap; otherwise after
// backward), as GradientSync's communication thread does; then the optimizer
// step. Every rank is identical in data-parallel training, so one rank's
// compute stands for all, while each all-reduce runs over the whole platform.
#include <cstdint>
#include <string>
#include <vector>

#include "simulator/cluster.hpp"
#include "simulator/collectives.hpp"

namespace lb::sim {

struct StepPlan {
  std::vector<std::string> layers;            // forward order
  std::vector<double> forward_s, backward_s;  // per layer, at this per-GPU batch
  std::vector<std::uint64_t> bucket_bytes;    // wire bytes, in launch (backward) order
  std::vector<int> bucket_ready_after;        // the layer whose backward completes the bucket
  bool overlap = true;
  Collective algorithm = Collective::automatic;
  CollectiveConfig collective;
  double optimizer_s = 0;
  double data_s = 0;  // time the input pipeline needs per batch; 0 = unlimited
  // The slowest rank reaches each point of its backward (1 + straggle) times
  // later than the typical rank, so a bucket's all-reduce starts that much
  // later (see expected_max_normal).
  double straggle = 0;
};

// E[max of n independent standard normal variables]: 0 for n = 1, 0.564 for
// 2, 1.029 for 4, 3.241 for 1,000. With a rank's compute jittering by a
// relative std cv from step to step, the slowest of n ranks takes about
// (1 + cv * expected_max_normal(n)) times the typical compute time.
double expected_max_normal(int n);

struct TraceEvent {
  std::string name, category;
  int track = 0;  // 0 compute, 1 communication
  double start_s = 0, duration_s = 0;
  std::uint64_t bytes = 0;
  std::string algorithm;
};

struct StepResult {
  double iteration_s = 0, forward_s = 0, backward_s = 0, comm_s = 0, exposed_comm_s = 0;
  double optimizer_s = 0, data_wait_s = 0;
  std::vector<TraceEvent> events;
};

// Builds the platform for `gpus` GPUs in this process's (fresh) engine and
// runs one step. Call once per process (see fresh_engine.hpp).
StepResult simulate_step(const StepPlan& plan, const ClusterModel& cluster, int gpus);

}  // namespace lb::sim
