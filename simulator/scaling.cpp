#include "simulator/scaling.hpp"

#include <algorithm>
#include <map>

#include "runtime/comm/bucket_plan.hpp"
#include "runtime/core/batch_arithmetic.hpp"
#include "runtime/core/fusion_rule.hpp"
#include "simulator/calibration.hpp"
#include "simulator/collectives.hpp"
#include "simulator/cost.hpp"
#include "simulator/flow_model.hpp"
#include "simulator/fresh_engine.hpp"
#include "simulator/memory_model.hpp"
#include "simulator/topology.hpp"

namespace lb::sim {
namespace {

// NVLink-class links (NCCL's model then uses its NVLink latencies and LL128):
// anything faster than PCIe 4.0 x16 (32 GB/s per direction).
constexpr double kNvlinkBps = 40e9;
// An all-reduce takes at most half the device while it runs (SimGrid shares
// the host fairly beyond its bound).
constexpr double kMaxInterference = 0.5;

int group_size(const Scenario& s, int gpus) {
  return resolve_group_size(s.spec.comm.group_size, s.cluster.gpus_per_node, gpus);
}

CollectiveConfig collective_config(const Scenario& s, int gpus) {
  CollectiveConfig c;
  c.ranks = gpus;
  c.group_size = group_size(s, gpus);
  c.wire_bytes = s.spec.comm.fp16_gradients ? 2 : 4;
  c.auto_small_bytes = s.spec.comm.auto_small_bytes;
  c.ranks_per_node = s.cluster.gpus_per_node;
  c.nics_per_node = s.cluster.nics_per_node;
  c.nccl = {s.cluster.intra.bandwidth_Bps, s.cluster.nic.bandwidth_Bps,
            s.cluster.intra.bandwidth_Bps >= kNvlinkBps};
  if (auto_calibration_applies(s, gpus)) c.auto_rules = s.auto_rules;
  return c;
}

}  // namespace

// "auto" resolves as lb-train resolves it (core/fusion_rule.hpp), with the
// ring a large bucket runs on this cluster: the groups' leaders (or a torus
// column) or every rank, over the network once the job spans nodes, else
// over the node's links (no measured cost: the cluster's figures are the
// model's). A CPU cluster's shared-memory rule needs its cache size, which
// the cluster spec does not have: it is resolved as a ring over `intra`.
std::int64_t fusion_bytes(const Scenario& s, int gpus) {
  std::int64_t gradient_bytes = 0;
  for (const auto& g : s.model.gradients)
    gradient_bytes += std::int64_t(g.elements * sizeof(float));
  const CollectiveConfig config = collective_config(s, gpus);
  const Algorithm large = resolve(s.spec.comm.algorithm, std::uint64_t(gradient_bytes), config);
  const int groups = gpus / std::max(config.group_size, 1);
  const bool grouped = large == Algorithm::hierarchical || large == Algorithm::torus2d;
  const int ring = grouped && groups > 1 ? groups : gpus;  // one group: its own ring
  // A message crosses its link class at both ends (the GPU's and the peer's).
  const LinkClass& link = gpus <= s.cluster.gpus_per_node ? s.cluster.intra : s.cluster.nic;
  FusionJob job;
  job.gradient_bytes = gradient_bytes;
  job.ring = {ring, 2 * link.latency_s, link.bandwidth_Bps};
  return resolve_fusion_bytes(s.spec.comm.fusion_bytes, job);
}

namespace {

// Gradient buckets in launch order (wire bytes), and the forward index of
// the layer whose backward completes each (the earliest layer among its tensors).
void add_buckets(const Scenario& s, int gpus, StepPlan& plan, std::vector<std::uint64_t>& bytes) {
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < plan.layers.size(); ++i) index[plan.layers[i]] = int(i);
  std::vector<std::size_t> sizes;
  for (const auto& g : s.model.gradients) sizes.push_back(g.elements);
  const int width = s.spec.comm.fp16_gradients ? 2 : 4;
  for (const Bucket& b : plan_buckets(sizes, fusion_bytes(s, gpus))) {
    int ready = int(plan.layers.size()) - 1;
    for (std::size_t t : b.tensors) {
      const auto it = index.find(s.model.gradients[t].layer);
      ready = std::min(ready, it == index.end() ? 0 : it->second);
    }
    bytes.push_back(b.elements * std::uint64_t(width));
    plan.bucket_ready_after.push_back(ready);
  }
}

// What the simulated rank's host stands for, in the units of iteration.hpp.
// On a GPU: the device, compute at its full rate. On a CPU node
// (cores_per_node > 0): the rank's share of the node's cores, cores / ranks
// on the node. Its compute threads use at most min(threads, share) cores of
// it (ranks that outnumber the cores take turns on them; the profiles were
// measured with a core per thread) and run co_run_factor slower beside other
// ranks (shared caches and memory bandwidth); an all-reduce's CPU work (the
// communication thread: copies, reductions, polls) uses at most one core.
// Beside each other they get shares weighted by their threads, as Linux's
// fair scheduler gives every runnable thread an equal share.
struct RankShare {
  double compute_work = 1;  // host work per second of profiled compute
  double compute_rate = 1, compute_weight = 1;
  double comm_cpu_work = 0;  // host work per CPU second of communication
  double comm_cpu_rate = 0;
  // The node's threads over its cores (0: not a CPU node). Each all-reduce
  // also costs compute its disturbance (CommCpuCost) only at 1 or below,
  // where the threads have a core each.
  double threads_per_core = 0;
  bool disturbed() const { return threads_per_core <= 1; }
  // Compute's wall time over its profiled time, with no all-reduce beside it.
  double stretch() const { return compute_work / compute_rate; }
};

// A CPU rank's compute threads: train.threads, or every core of the node (0).
double rank_threads(const Scenario& s) {
  return s.spec.train.threads > 0 ? s.spec.train.threads : s.cluster.cores_per_node;
}

RankShare rank_share(const Scenario& s, int gpus) {
  RankShare r;
  const int cores = s.cluster.cores_per_node;
  if (cores <= 0) return r;
  const double threads = rank_threads(s);
  const int ranks_on_node = std::min(gpus, s.cluster.gpus_per_node);
  const double share = double(cores) / ranks_on_node;  // cores: the host's speed
  const double co_run = ranks_on_node >= 2 ? s.compute.co_run_factor : 1.0;
  r.compute_work = co_run * threads / share;
  r.compute_rate = std::min(threads, share) / share;
  r.compute_weight = threads;
  r.comm_cpu_work = 1 / share;
  r.comm_cpu_rate = std::min(1.0, share) / share;
  r.threads_per_core = threads_per_core(ranks_on_node, threads, cores);
  return r;
}

// How far behind the slowest rank each rank reaches an all-reduce, as a
// fraction of its compute (StepPlan::straggle): the ranks' spread times the
// expected maximum of N. On a CPU node whose ranks' threads outnumber its
// cores (ComputeModel::time_sliced), the calibration's time-sliced profiles
// give it instead: their measured wait, a time whatever the compute (see
// ComputeModel::shared_cores_wait_s), or, with no wait measured, their
// spread. Not measured (a scenario's own compute_cv): the scenario's spread.
double straggle(const Scenario& s, int gpus, const RankShare& share, const StepPlan& plan) {
  const double spread_to_wait = expected_max_normal(gpus);
  if (s.cluster.cores_per_node <= 0 || !s.compute_cv_measured) return s.compute_cv * spread_to_wait;
  const ComputeModel& m = s.compute;
  const double spread = m.compute_cv_at(share.threads_per_core) * spread_to_wait;
  if (!m.time_sliced(share.threads_per_core) || m.shared_cores_wait_s <= 0) return spread;
  const double compute_s = plan.compute_work_s() / plan.compute_rate;  // on the rank's share
  return compute_s > 0 ? m.shared_cores_wait_s / compute_s : spread;
}

// StepPlan::lead_kept_at_allreduce: what the calibration measured
// (ComputeModel::lead_kept_at_allreduce) on a CPU node whose ranks' compute
// fills their cores (one thread per core or fewer, and no core to spare for
// the communication thread), where it was measured; elsewhere the lead is
// never cut.
double lead_kept_at_allreduce(const Scenario& s, const RankShare& share) {
  if (s.cluster.cores_per_node <= 0 || !share.disturbed() || share.compute_rate < 1) return 1;
  return s.compute.lead_kept_at_allreduce;
}

// Each distinct bucket size's all-reduce on the whole cluster, and what it
// takes from compute: on a GPU a share of the device (NCCL-style collectives
// move comm_memory_passes bytes of device memory per byte a rank sends or
// receives); on a CPU node its thread's CPU work on the rank's cores.
void time_buckets(const Scenario& s, int gpus, const RankShare& share,
                  const std::vector<std::uint64_t>& bytes, StepPlan& plan) {
  const CollectiveConfig config = collective_config(s, gpus);
  const Algorithm requested = s.spec.comm.algorithm;
  const Topology topology(s.cluster, gpus);
  std::map<std::uint64_t, BucketComm> cache;
  for (std::uint64_t b : bytes) {
    auto it = cache.find(b);
    if (it == cache.end()) {
      const auto phases = plan_collective(requested, b, config);
      BucketComm c{b, collective_s(topology, phases), to_string(resolve(requested, b, config)), 0};
      if (s.cluster.is_gpu_cluster() && c.seconds > 0) {
        const double moved = s.spec.cluster.comm_memory_passes * bytes_through_rank0(phases);
        c.interference =
            std::min(kMaxInterference, moved / c.seconds / (s.device.memory_gbps * 1e9));
      }
      const CommCpuCost& cpu = s.cluster.comm_cpu;
      if (!s.cluster.is_gpu_cluster() && cpu.modelled()) {
        const double load = alpha_beta_features(phases).second;
        c.cpu_work =
            share.comm_cpu_work * (share.disturbed() ? cpu.on_cores_s(load) : cpu.seconds(load));
        c.cpu_rate = share.comm_cpu_rate;
      }
      it = cache.emplace(b, c).first;
    }
    plan.buckets.push_back(it->second);
  }
}

// Seconds the input pipeline needs per batch: the slower of the per-GPU
// rate and this GPU's share of its node's rate; 0 when neither is set.
double data_seconds(const Scenario& s, int gpus, double batch) {
  double rate = 0;
  if (s.cluster.input_images_per_s > 0) rate = s.cluster.input_images_per_s;
  if (s.cluster.node_input_images_per_s > 0) {
    const double share =
        s.cluster.node_input_images_per_s / std::min(gpus, s.cluster.gpus_per_node);
    rate = rate > 0 ? std::min(rate, share) : share;
  }
  return rate > 0 ? batch / rate : 0;
}

nlohmann::json result_json(const StepResult& r, bool events) {
  nlohmann::json list = nlohmann::json::array();
  if (events) {
    for (const auto& e : r.events) {
      list.push_back({e.name, e.category, e.track, e.start_s, e.duration_s, e.bytes, e.algorithm});
    }
  }
  return {{"iteration_s", r.iteration_s},
          {"compute_s", r.forward_s + r.backward_s},
          {"comm_s", r.comm_s},
          {"exposed_comm_s", r.exposed_comm_s},
          {"optimizer_s", r.optimizer_s},
          {"data_wait_s", r.data_wait_s},
          {"events", list}};
}

// The step, and the step without each of the terms that have their own line
// (stragglers, interference): their cost is the difference.
nlohmann::json simulate_variants(const StepPlan& plan, bool events) {
  return in_fresh_engine([&] {
    StepPlan still = plan, quiet = plan;
    still.straggle = 0;
    for (auto& b : quiet.buckets) b.interference = 0, b.cpu_work = 0;
    return nlohmann::json{result_json(simulate_step(plan), events),
                          result_json(simulate_step(still), false),
                          result_json(simulate_step(quiet), false)};
  });
}

bool extrapolated(const ComputeModel& m, double batch) {
  if (m.measured_min_batch <= 0) return true;
  return batch < m.measured_min_batch / 2 || batch > m.measured_max_batch * 2;
}

}  // namespace

bool auto_calibration_applies(const Scenario& s, int gpus) {
  return !s.auto_rules.empty() && s.auto_ranks == gpus && s.auto_group_size == group_size(s, gpus);
}

StepPlan step_plan(const Scenario& s, int gpus, std::int64_t global_batch) {
  const double batch = double(per_rank_batch(global_batch, gpus));
  const RankShare share = rank_share(s, gpus);
  StepPlan plan;
  plan.compute_rate = share.compute_rate;
  plan.compute_weight = share.compute_weight;
  for (const auto& l : s.compute.layers) {
    plan.layers.push_back(l.name);
    plan.forward_s.push_back(share.compute_work * l.forward.at(batch));
    plan.backward_s.push_back(share.compute_work * l.backward.at(batch));
  }
  std::vector<std::uint64_t> bytes;
  add_buckets(s, gpus, plan, bytes);
  if (gpus >= 2) {
    time_buckets(s, gpus, share, bytes, plan);
  } else {
    plan.bucket_ready_after.clear();  // one rank: no all-reduce
  }
  plan.overlap = s.spec.comm.overlap;
  plan.host_overhead_s = s.spec.cluster.step_overhead_s;
  plan.optimizer_s = share.compute_work * s.compute.optimizer_s;
  plan.straggle = straggle(s, gpus, share, plan);
  plan.lead_kept_at_allreduce = lead_kept_at_allreduce(s, share);
  plan.data_s = data_seconds(s, gpus, batch);
  return plan;
}

ScalingRow predict(const Scenario& s, int gpus, std::int64_t global_batch,
                   double price_per_gpu_hour, std::vector<TraceEvent>* trace) {
  const StepPlan plan = step_plan(s, gpus, global_batch);
  const auto reply = simulate_variants(plan, trace != nullptr);
  const auto& main = reply[0];
  if (trace) {
    for (const auto& e : main["events"])
      trace->push_back({e[0], e[1], e[2], e[3], e[4], e[5], e[6]});
  }
  ScalingRow row;
  row.gpus = gpus;
  row.global_batch = global_batch;
  row.per_gpu_batch = global_batch / gpus;
  row.iteration_s = main["iteration_s"];
  row.compute_s = main["compute_s"];
  row.comm_s = main["comm_s"];
  row.exposed_comm_s = main["exposed_comm_s"];
  row.optimizer_s = main["optimizer_s"];
  row.data_wait_s = main["data_wait_s"];
  row.straggler_s = std::max(0.0, row.iteration_s - reply[1]["iteration_s"].get<double>());
  row.interference_s = std::max(0.0, row.iteration_s - reply[2]["iteration_s"].get<double>());
  const RankShare share = rank_share(s, gpus);
  row.overhead_s = share.stretch() * s.compute.fixed_s() + plan.host_overhead_s;
  row.buckets = int(plan.buckets.size());
  row.fusion_bytes = fusion_bytes(s, gpus);
  row.images_per_s = double(global_batch) / row.iteration_s;
  // One GPU with the same per-GPU batch and no communication: weak scaling.
  const double work = plan.optimizer_s + plan.compute_work_s();  // host work: time at compute_rate
  double alone = plan.host_overhead_s + work / plan.compute_rate;
  alone += std::max(0.0, plan.data_s - alone);
  row.efficiency = row.images_per_s / (double(gpus) * double(row.per_gpu_batch) / alone);
  row.steps =
      epochs_to_steps(s.spec.train.epochs, steps_per_epoch(s.model.train_images, global_batch));
  row.time_to_train_s = double(row.steps) * row.iteration_s;
  row.memory_gib = memory_per_gpu(s.spec, s.model, row.per_gpu_batch).total_gib();
  row.fits_memory = !s.cluster.is_gpu_cluster() || row.memory_gib <= s.device.memory_gib;
  const RunCost cost = run_cost(gpus, row.time_to_train_s, price_per_gpu_hour);
  row.gpu_hours = cost.gpu_hours;
  row.cost = cost.money;
  row.extrapolated = extrapolated(s.compute, double(row.per_gpu_batch));
  row.auto_calibrated = auto_calibration_applies(s, gpus);
  return row;
}

nlohmann::json to_json(const ScalingRow& r) {
  return {{"gpus", r.gpus},
          {"global_batch", r.global_batch},
          {"per_gpu_batch", r.per_gpu_batch},
          {"iteration_s", r.iteration_s},
          {"images_per_s", r.images_per_s},
          {"efficiency", r.efficiency},
          {"compute_s", r.compute_s},
          {"comm_s", r.comm_s},
          {"exposed_comm_s", r.exposed_comm_s},
          {"data_wait_s", r.data_wait_s},
          {"optimizer_s", r.optimizer_s},
          {"overhead_s", r.overhead_s},
          {"straggler_s", r.straggler_s},
          {"interference_s", r.interference_s},
          {"steps", r.steps},
          {"time_to_train_s", r.time_to_train_s},
          {"gpu_hours", r.gpu_hours},
          {"cost", r.cost},
          {"memory_gib", r.memory_gib},
          {"fits_memory", r.fits_memory},
          {"extrapolated", r.extrapolated},
          {"auto_calibrated", r.auto_calibrated},
          {"buckets", r.buckets},
          {"fusion_bytes", r.fusion_bytes}};
}

nlohmann::json chrome_trace(const std::vector<TraceEvent>& events, int gpus) {
  nlohmann::json list = nlohmann::json::array();
  list.push_back({{"name", "process_name"},
                  {"ph", "M"},
                  {"pid", 0},
                  {"args", {{"name", "simulated rank 0 of " + std::to_string(gpus)}}}});
  list.push_back({{"name", "thread_name"},
                  {"ph", "M"},
                  {"pid", 0},
                  {"tid", 0},
                  {"args", {{"name", "compute"}}}});
  list.push_back({{"name", "thread_name"},
                  {"ph", "M"},
                  {"pid", 0},
                  {"tid", 1},
                  {"args", {{"name", "all-reduce"}}}});
  for (const auto& e : events) {
    nlohmann::json j{{"name", e.name},
                     {"cat", e.category},
                     {"ph", "X"},
                     {"pid", 0},
                     {"tid", e.track},
                     {"ts", e.start_s * 1e6},
                     {"dur", e.duration_s * 1e6}};
    if (e.bytes) j["args"] = {{"bytes", e.bytes}, {"algorithm", e.algorithm}};
    list.push_back(j);
  }
  return {{"traceEvents", list}, {"displayTimeUnit", "ms"}};
}

}  // namespace lb::sim
