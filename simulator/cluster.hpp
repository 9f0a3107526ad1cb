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

// The CPU time one rank's communication thread spends on an all-reduce on a
// CPU node (calibration.hpp): per call (waking, spinning before it first
// sleeps) and per byte through the rank (copies, reductions). Zero: not modelled.
struct CommCpuCost {
  double per_call_s = 0, per_byte_s = 0;
  // Compute time each call costs beyond that CPU time: the thread wakes
  // several times per all-reduce (it sleeps between polls), and each wake
  // preempts compute on its core and evicts part of compute's caches.
  double disturbance_s = 0;
  bool modelled() const { return per_call_s > 0 || per_byte_s > 0 || disturbance_s > 0; }
  // One all-reduce's CPU seconds, with `busiest_link_bytes` from
  // alpha_beta_features (calibration.hpp): what the fit fits.
  double seconds(double busiest_link_bytes) const {
    return per_call_s + busiest_link_bytes * per_byte_s;
  }
  // What it takes from the cores compute runs on: what the simulation charges.
  double on_cores_s(double busiest_link_bytes) const {
    return seconds(busiest_link_bytes) + disturbance_s;
  }
};

enum class Fabric { single_switch, fat_tree, rail_fat_tree, torus };

struct ClusterModel {
  int gpus_per_node = 8;
  int nics_per_node = 1;  // GPUs share them in blocks of gpus_per_nic()
  // NIC traffic crosses the GPU's intra link (PCIe servers: it shares the
  // link with intra-node traffic), or not (GPUDirect RDMA beside NVLink).
  bool nic_direct = false;
  LinkClass intra;  // GPU <-> its node's switch: an intra-node message crosses it at both ends
  LinkClass nic;    // one NIC <-> the network
  Fabric fabric = Fabric::single_switch;
  int nodes_per_leaf = 16;
  double oversubscription = 1;
  double uplink_latency_s = 0;         // fat trees: through the core; torus: per hop
  std::vector<int> torus_dims;         // torus: nodes numbered with dimension 0 fastest
  double input_images_per_s = 0;       // per GPU; 0 = not modelled
  double node_input_images_per_s = 0;  // per node, shared by its GPUs; 0 = not modelled
  int cores_per_node = 0;              // CPU ranks share these; 0 = no sharing (GPUs)
  CommCpuCost comm_cpu;                // CPU nodes, from a calibration

  int nodes_for(int gpus) const { return (gpus + gpus_per_node - 1) / gpus_per_node; }
  int node_of(int gpu) const { return gpu / gpus_per_node; }
  int gpus_per_nic() const { return gpus_per_node / nics_per_node; }
  // The NIC index within its node that `gpu` uses.
  int local_nic_of(int gpu) const { return (gpu % gpus_per_node) / gpus_per_nic(); }
  bool is_gpu_cluster() const { return cores_per_node == 0; }
};

ClusterModel cluster_model(const ClusterSpec& spec);

// Checks the cluster against a GPU count (a torus must hold the nodes; so
// must cluster.nodes when given); throws SpecError naming the key.
void check_fits(const ClusterSpec& spec, int gpus);

}  // namespace lb::sim
