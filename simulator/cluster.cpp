#include "simulator/cluster.hpp"

#include "runtime/core/errors.hpp"

namespace lb::sim {
namespace {

LinkClass link_class(const LinkSpec& l) {
  return {l.bandwidth_gbps * 1e9 / 8, l.latency_us * 1e-6};
}

Fabric fabric_of(Topology topology) {
  switch (topology) {
    case Topology::fat_tree:
      return Fabric::fat_tree;
    case Topology::rail_fat_tree:
      return Fabric::rail_fat_tree;
    case Topology::torus:
      return Fabric::torus;
    case Topology::single_switch:
      break;
  }
  return Fabric::single_switch;
}

}  // namespace

ClusterModel cluster_model(const ClusterSpec& s) {
  ClusterModel c;
  c.gpus_per_node = s.gpus_per_node;
  c.nics_per_node = s.nics_per_node;
  c.nic_direct = s.nic_path == NicPath::direct;
  c.intra = link_class(s.intra);
  c.nic = link_class(s.nic);
  c.fabric = fabric_of(s.topology);
  c.nodes_per_leaf = s.nodes_per_leaf;
  c.oversubscription = s.oversubscription;
  c.uplink_latency_s = s.uplink_latency_us * 1e-6;
  c.input_images_per_s = s.input_images_per_s;
  c.node_input_images_per_s = s.node_input_images_per_s;
  c.cores_per_node = s.cores_per_node;
  if (c.fabric == Fabric::torus) {
    for (double d : s.torus_dims) c.torus_dims.push_back(int(d));
  }
  return c;
}

void check_fits(const ClusterSpec& s, int gpus) {
  if (gpus < 1) throw InputError("--gpus: expected GPU counts >= 1, got " + std::to_string(gpus));
  const std::int64_t needed = (std::int64_t(gpus) + s.gpus_per_node - 1) / s.gpus_per_node;
  if (s.topology == Topology::torus) {
    std::int64_t torus_nodes = 1;  // at most 2^24 (spec.cpp checks)
    for (double d : s.torus_dims) torus_nodes *= std::int64_t(d);
    if (needed > torus_nodes) {
      throw SpecError("cluster.torus_dims", "the torus holds " + std::to_string(torus_nodes) +
                                                " nodes, " + std::to_string(gpus) + " GPUs need " +
                                                std::to_string(needed));
    }
  }
  const std::int64_t capacity = std::int64_t(s.nodes) * s.gpus_per_node;
  if (s.nodes > 0 && gpus > capacity) {
    throw SpecError("cluster.nodes", "the cluster has " + std::to_string(s.nodes) + " nodes x " +
                                         std::to_string(s.gpus_per_node) +
                                         " GPUs = " + std::to_string(capacity) +
                                         " GPUs, cannot run " + std::to_string(gpus));
  }
}

}  // namespace lb::sim
