#include "simulator/cluster.hpp"

#include "runtime/core/errors.hpp"

namespace lb::sim {
namespace {

LinkClass link_class(const LinkSpec& l) { return {l.bandwidth_gbps * 1e9 / 8, l.latency_us * 1e-6}; }

}  // namespace

ClusterModel cluster_model(const ClusterSpec& s) {
  ClusterModel c;
  c.gpus_per_node = s.gpus_per_node;
  c.intra = link_class(s.intra);
  c.nic = link_class(s.nic);
  c.nic_per_gpu = s.nic_per == "gpu";
  c.fat_tree = s.topology == "fat_tree";
  c.nodes_per_leaf = s.nodes_per_leaf;
  c.oversubscription = s.oversubscription;
  c.uplink_latency_s = s.uplink_latency_us * 1e-6;
  c.input_images_per_s = s.input_images_per_s;
  return c;
}

void check_fits(const ClusterSpec& s, int gpus) {
  if (gpus < 1) throw InputError("--gpus: expected GPU counts >= 1, got " + std::to_string(gpus));
  const std::int64_t capacity = std::int64_t(s.nodes) * s.gpus_per_node;
  if (s.nodes > 0 && gpus > capacity) {
    throw SpecError("cluster.nodes", "the cluster has " + std::to_string(s.nodes) + " nodes x " +
                                         std::to_string(s.gpus_per_node) + " GPUs = " +
                                         std::to_string(capacity) + " GPUs, cannot run " +
                                         std::to_string(gpus));
  }
}

}  // namespace lb::sim
