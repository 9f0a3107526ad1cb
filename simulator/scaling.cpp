#include "simulator/scaling.hpp"

#include <algorithm>
#include <map>

#include "runtime/comm/bucket_plan.hpp"
#include "simulator/fresh_engine.hpp"

namespace lb::sim {
namespace {

int group_size(const CommSpec& comm, const ClusterModel& cluster, int gpus) {
  return std::min(comm.group_size > 0 ? comm.group_size : cluster.gpus_per_node, gpus);
}

// Gradient buckets in launch order, and the forward index of the layer whose
// backward completes each (the earliest layer among its tensors).
void add_buckets(const Scenario& s, StepPlan& plan) {
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < plan.layers.size(); ++i) index[plan.layers[i]] = int(i);
  std::vector<std::size_t> sizes;
  for (const auto& g : s.model.gradients) sizes.push_back(g.elements);
  const int width = s.spec.comm.fp16_gradients ? 2 : 4;
  for (const Bucket& b : plan_buckets(sizes, s.spec.comm.fusion_bytes)) {
    int ready = int(plan.layers.size()) - 1;
    for (std::size_t t : b.tensors) {
      const auto it = index.find(s.model.gradients[t].layer);
      ready = std::min(ready, it == index.end() ? 0 : it->second);
    }
    plan.bucket_bytes.push_back(b.elements * width);
    plan.bucket_ready_after.push_back(ready);
  }
}

nlohmann::json event_json(const TraceEvent& e) {
  nlohmann::json j{{"name", e.name},
                   {"cat", e.category},
                   {"ph", "X"},
                   {"pid", 0},
                   {"tid", e.track},
                   {"ts", e.start_s * 1e6},
                   {"dur", e.duration_s * 1e6}};
  if (e.bytes) j["args"] = {{"bytes", e.bytes}, {"algorithm", e.algorithm}};
  return j;
}

}  // namespace

namespace {

// How much longer a rank's compute takes than its profile alone on a core:
// ranks that outnumber the node's cores take turns on them (the profiles
// were measured with a core per thread), and ranks running side by side
// slow each other through shared caches and memory (co_run_factor).
double compute_stretch(const Scenario& s, int gpus) {
  const int cores = s.cluster.cores_per_node;
  if (cores <= 0) return 1;
  const int threads = s.spec.train.threads > 0 ? s.spec.train.threads : cores;
  const int ranks_on_node = std::min(gpus, s.cluster.gpus_per_node);
  const double turns = std::max(1.0, double(ranks_on_node) * threads / cores);
  return turns * (ranks_on_node >= 2 ? s.compute.co_run_factor : 1.0);
}

}  // namespace

StepPlan step_plan(const Scenario& s, int gpus) {
  const double batch = double(s.spec.train.global_batch) / gpus;
  const double stretch = compute_stretch(s, gpus);
  StepPlan plan;
  for (const auto& l : s.compute.layers) {
    plan.layers.push_back(l.name);
    plan.forward_s.push_back(stretch * l.forward.at(batch));
    plan.backward_s.push_back(stretch * l.backward.at(batch));
  }
  add_buckets(s, plan);
  plan.overlap = s.spec.comm.overlap;
  plan.algorithm = s.spec.comm.algorithm;
  plan.collective = {gpus, group_size(s.spec.comm, s.cluster, gpus),
                     s.spec.comm.fp16_gradients ? 2 : 4, s.spec.comm.auto_small_bytes};
  plan.optimizer_s = stretch * s.compute.optimizer_s;
  plan.straggle = s.compute.compute_cv * expected_max_normal(gpus);
  if (s.cluster.input_images_per_s > 0) plan.data_s = batch / s.cluster.input_images_per_s;
  return plan;
}

ScalingRow simulate_gpus(const Scenario& s, int gpus, std::vector<TraceEvent>* trace) {
  const StepPlan plan = step_plan(s, gpus);
  const auto reply = in_fresh_engine([&] {
    const StepResult r = simulate_step(plan, s.cluster, gpus);
    nlohmann::json events = nlohmann::json::array();
    if (trace) {
      for (const auto& e : r.events) {
        events.push_back(
            {e.name, e.category, e.track, e.start_s, e.duration_s, e.bytes, e.algorithm});
      }
    }
    return nlohmann::json{{"iteration_s", r.iteration_s},
                          {"compute_s", r.forward_s + r.backward_s},
                          {"comm_s", r.comm_s},
                          {"exposed_comm_s", r.exposed_comm_s},
                          {"optimizer_s", r.optimizer_s},
                          {"data_wait_s", r.data_wait_s},
                          {"events", events}};
  });
  if (trace) {
    for (const auto& e : reply["events"]) {
      trace->push_back({e[0], e[1], e[2], e[3], e[4], e[5], e[6]});
    }
  }
  ScalingRow row;
  row.gpus = gpus;
  row.per_gpu_batch = double(s.spec.train.global_batch) / gpus;
  row.iteration_s = reply["iteration_s"];
  row.compute_s = reply["compute_s"];
  row.comm_s = reply["comm_s"];
  row.exposed_comm_s = reply["exposed_comm_s"];
  row.optimizer_s = reply["optimizer_s"];
  row.data_wait_s = reply["data_wait_s"];
  row.buckets = gpus > 1 ? int(plan.bucket_bytes.size()) : 0;
  row.images_per_s = double(s.spec.train.global_batch) / row.iteration_s;
  // One GPU with the same per-GPU batch and no communication: weak scaling.
  const double single_step = row.compute_s + row.optimizer_s +
                             std::max(0.0, plan.data_s - row.compute_s - row.optimizer_s);
  row.efficiency = row.images_per_s / (gpus * row.per_gpu_batch / single_step);
  const double steps_per_epoch =
      std::max<std::int64_t>(1, s.model.train_images / s.spec.train.global_batch);
  row.time_to_train_s = s.spec.train.epochs * steps_per_epoch * row.iteration_s;
  return row;
}

nlohmann::json to_json(const ScalingRow& r) {
  return {{"gpus", r.gpus},
          {"per_gpu_batch", r.per_gpu_batch},
          {"iteration_s", r.iteration_s},
          {"images_per_s", r.images_per_s},
          {"efficiency", r.efficiency},
          {"compute_s", r.compute_s},
          {"comm_s", r.comm_s},
          {"exposed_comm_s", r.exposed_comm_s},
          {"data_wait_s", r.data_wait_s},
          {"optimizer_s", r.optimizer_s},
          {"time_to_train_s", r.time_to_train_s},
          {"buckets", r.buckets}};
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
  for (const auto& e : events) list.push_back(event_json(e));
  return {{"traceEvents", list}, {"displayTimeUnit", "ms"}};
}

}  // namespace lb::sim
