#pragma once
// The simulated cluster in SI units, resolved from the spec's `cluster`
// section (or its documented defaults) and optionally a calibration.
#include <string>
#include <vector>

#include "runtime/core/spec.hpp"

namespace lb::sim {

struct LinkClass {
  double bandwidth_Bps = 0;  // bytes per second, each direction
  double latency_s = 0;      // one-way latency of a message crossing this class
};

struct ClusterModel {
  int gpus_per_node = 8;
  LinkClass intra;  // GPU <-> its node's switch: an intra-node message crosses it at both ends
  LinkClass nic;    // node (or GPU) <-> network
  bool nic_per_gpu = false;
  bool fat_tree = false;
  int nodes_per_leaf = 16;
  double oversubscription = 1;
  double uplink_latency_s = 0;    // fat tree: through the core; torus: per hop
  std::vector<int> torus_dims;    // empty: no torus; nodes numbered with dimension 0 fastest
  double input_images_per_s = 0;  // per GPU; 0 = unlimited
  int cores_per_node = 0;         // CPU ranks share these; 0 = no sharing (GPUs)

  int nodes_for(int gpus) const { return (gpus + gpus_per_node - 1) / gpus_per_node; }
  int node_of(int gpu) const { return gpu / gpus_per_node; }
  int leaf_of(int gpu) const { return node_of(gpu) / nodes_per_leaf; }
};

// Checks the cluster against a GPU count (torus: the dimensions must hold the nodes; (nodes, if
// given, must hold them); throws SpecError naming the key.
ClusterModel cluster_model(const ClusterSpec& spec);
void check_fits(const ClusterSpec& spec, int gpus);

}  // namespace lb::sim
