#include "simulator/topology.hpp"

namespace lb::sim {

Topology::Topology(const ClusterModel& c, int gpus)
    : cluster_(c), gpus_(gpus), nodes_(c.nodes_for(gpus)) {
  const Link intra{c.intra.bandwidth_Bps, c.intra.latency_s / 2};
  for (int g = 0; g < gpus; ++g) links_.insert(links_.end(), {intra, intra});
  nic_base_ = int(links_.size());
  const Link nic{c.nic.bandwidth_Bps, c.nic.latency_s / 2};
  for (int n = 0; n < nodes_ * c.nics_per_node; ++n) links_.insert(links_.end(), {nic, nic});
  leaf_base_ = int(links_.size());
  const int groups = (nodes_ + c.nodes_per_leaf - 1) / c.nodes_per_leaf;
  const double node_Bps = c.nic.bandwidth_Bps * c.nics_per_node;
  if (c.fabric == Fabric::fat_tree) {  // a leaf holds every NIC of its nodes
    const Link up{node_Bps * c.nodes_per_leaf / c.oversubscription, c.uplink_latency_s / 2};
    for (int l = 0; l < groups; ++l) links_.insert(links_.end(), {up, up});
  } else if (c.fabric == Fabric::rail_fat_tree) {  // a leaf per rail: NIC k of each node
    const Link up{c.nic.bandwidth_Bps * c.nodes_per_leaf / c.oversubscription,
                  c.uplink_latency_s / 2};
    for (int l = 0; l < groups * c.nics_per_node; ++l) links_.insert(links_.end(), {up, up});
  }
}

int Topology::leaf_of(int node, int local_nic) const {
  const int group = node / cluster_.nodes_per_leaf;
  return cluster_.fabric == Fabric::rail_fat_tree ? group * cluster_.nics_per_node + local_nic
                                                  : group;
}

bool Topology::crosses_core(int src_leaf, int dst_leaf) const {
  const Fabric f = cluster_.fabric;
  return (f == Fabric::fat_tree || f == Fabric::rail_fat_tree) && src_leaf != dst_leaf;
}

double Topology::route(int src, int dst, int via_nic, std::vector<int>& out) const {
  const ClusterModel& c = cluster_;
  const std::size_t first = out.size();
  const int src_node = c.node_of(src), dst_node = c.node_of(dst);
  if (src_node == dst_node) {
    out.insert(out.end(), {intra_up(src), intra_up(dst) + 1});
  } else {
    const int src_nic = via_nic >= 0 ? via_nic : c.local_nic_of(src);
    const int dst_nic = via_nic >= 0 ? via_nic : c.local_nic_of(dst);
    if (!c.nic_direct || src_nic != c.local_nic_of(src)) out.push_back(intra_up(src));
    out.push_back(nic_up(src_node * c.nics_per_node + src_nic));
    if (c.fabric == Fabric::torus) add_torus_hops(src_node, dst_node, out);
    const int src_leaf = leaf_of(src_node, src_nic), dst_leaf = leaf_of(dst_node, dst_nic);
    if (crosses_core(src_leaf, dst_leaf))
      out.insert(out.end(), {leaf_up(src_leaf), leaf_up(dst_leaf) + 1});
    out.push_back(nic_up(dst_node * c.nics_per_node + dst_nic) + 1);
    if (!c.nic_direct || dst_nic != c.local_nic_of(dst)) out.push_back(intra_up(dst) + 1);
  }
  double latency = 0;
  for (std::size_t i = first; i < out.size(); ++i) latency += links_[std::size_t(out[i])].latency_s;
  return latency;
}

double Topology::latency(int src, int dst, int via_nic) const {
  std::vector<int> links;
  return route(src, dst, via_nic, links);
}

int Topology::torus_link(int node, int dim, bool plus) const {
  const std::int64_t key = std::int64_t(node) * 4 + dim;
  auto it = torus_ids_.find(key);
  if (it == torus_ids_.end()) {
    const Link hop{cluster_.nic.bandwidth_Bps * cluster_.nics_per_node, cluster_.uplink_latency_s};
    it = torus_ids_.emplace(key, int(links_.size())).first;
    links_.insert(links_.end(), {hop, hop});
  }
  return it->second + (plus ? 0 : 1);
}

// Dimension-order routing, each dimension the shorter way round (ties go +).
// Going + from coordinate x uses x's link (+ direction); going - from x uses
// (x-1)'s link in the - direction.
void Topology::add_torus_hops(int src_node, int dst_node, std::vector<int>& out) const {
  const auto& dims = cluster_.torus_dims;
  std::int64_t node = src_node, stride = 1;
  for (int d = 0; d < int(dims.size()); ++d) {
    const std::int64_t size = dims[std::size_t(d)];
    const std::int64_t from = (src_node / stride) % size, to = (dst_node / stride) % size;
    const std::int64_t forward = ((to - from) % size + size) % size;
    const bool plus = forward <= size - forward;
    for (std::int64_t hop = 0, hops = plus ? forward : size - forward; hop < hops; ++hop) {
      const std::int64_t x = (node / stride) % size;
      const std::int64_t next = plus ? (x + 1) % size : (x - 1 + size) % size;
      const std::int64_t owner = plus ? node : node + (next - x) * stride;
      out.push_back(torus_link(int(owner), d, plus));
      node += (next - x) * stride;
    }
    stride *= size;
  }
}

std::string Topology::link_name(int id) const {
  const std::string dir = id % 2 == 0 ? ".up" : ".down";
  if (id < nic_base_) return "intra" + std::to_string(id / 2) + dir;
  if (id < leaf_base_) return "nic" + std::to_string((id - nic_base_) / 2) + dir;
  for (const auto& [key, base] : torus_ids_) {
    if (id / 2 * 2 == base)
      return "torus" + std::to_string(key / 4) + "." + std::to_string(key % 4) + dir;
  }
  return "uplink" + std::to_string((id - leaf_base_) / 2) + dir;
}

}  // namespace lb::sim
