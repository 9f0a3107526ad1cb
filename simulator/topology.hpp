#pragma once
// The cluster's links as a plain graph and the route of a message between
// two GPUs: the one description of the network that both the fast flow
// model (flow_model.hpp) and the SimGrid message-level reference
// (network_sim.hpp) use.
//
// Every link is one direction of a full-duplex cable: per GPU an up and a
// down link to its node switch (latency intra/2 each); per NIC an up and a
// down link to the network (nic/2 each); per leaf switch of a fat tree an up
// and a down link standing for its bundle of up-links to the core (perfect
// ECMP; uplink latency/2 each); per torus node and dimension a + and a -
// link to its neighbour (uplink latency each, created when a route first
// uses it). Nothing is stored per pair of GPUs, so memory grows with the GPU
// count, not its square.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "simulator/cluster.hpp"

namespace lb::sim {

struct Link {
  double bandwidth_Bps = 0;
  double latency_s = 0;
};

class Topology {
 public:
  Topology(const ClusterModel& cluster, int gpus);

  // Appends the links of a message from GPU `src` to GPU `dst` to `out` and
  // returns its latency (the sum of theirs). Inter-node messages leave and
  // enter through NIC `via_nic` of each node (-1: each GPU's own NIC; a GPU
  // reaches a NIC that is not its own through its intra link, as NCCL's PXN).
  double route(int src, int dst, int via_nic, std::vector<int>& out) const;
  double latency(int src, int dst, int via_nic = -1) const;

  const Link& link(int id) const { return links_[std::size_t(id)]; }
  int link_count() const { return int(links_.size()); }
  std::string link_name(int id) const;
  const ClusterModel& cluster() const { return cluster_; }
  int gpus() const { return gpus_; }

 private:
  int intra_up(int gpu) const { return 2 * gpu; }
  int nic_up(int nic) const { return nic_base_ + 2 * nic; }
  int leaf_up(int leaf) const { return leaf_base_ + 2 * leaf; }
  int leaf_of(int node, int local_nic) const;
  bool crosses_core(int src_leaf, int dst_leaf) const;
  void add_torus_hops(int src_node, int dst_node, std::vector<int>& out) const;
  int torus_link(int node, int dim, bool plus) const;

  ClusterModel cluster_;
  int gpus_ = 0, nodes_ = 0;
  int nic_base_ = 0, leaf_base_ = 0;
  mutable std::vector<Link> links_;                          // torus links are added lazily
  mutable std::unordered_map<std::int64_t, int> torus_ids_;  // (node, dim) -> + link id
};

}  // namespace lb::sim
