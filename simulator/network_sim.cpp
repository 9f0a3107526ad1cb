#include "simulator/network_sim.hpp"

#include <xbt/log.h>

#include "simulator/fresh_engine.hpp"

namespace lb::sim {
namespace s4u = simgrid::s4u;
using Dir = s4u::LinkInRoute::Direction;

s4u::Engine& start_engine() {
  static int argc = 1;
  static char name[] = "simulate-scaling";
  static char* argv[] = {name, nullptr};
  static s4u::Engine engine(&argc, argv);
  xbt_log_control_set("root.thresh:critical");
  s4u::Engine::set_config("network/model:CM02");
  s4u::Engine::set_config("network/crosstraffic", false);
  // CM02 caps a flow's rate at TCP-gamma / (2 latency), a TCP window limit
  // that RDMA / NVLink do not have.
  s4u::Engine::set_config("network/TCP-gamma", 0.0);
  return engine;
}

namespace {

s4u::Link* make_link(s4u::NetZone* zone, const std::string& name, const LinkClass& c,
                     double latency_s) {
  return zone->create_split_duplex_link(name, c.bandwidth_Bps)->set_latency(latency_s)->seal();
}

}  // namespace

Platform::Platform(const ClusterModel& cluster, int gpus,
                   const std::vector<std::pair<int, int>>& pairs)
    : cluster_(cluster) {
  auto* zone = s4u::create_full_zone("cluster");
  const int nodes = cluster.nodes_for(gpus);
  for (int g = 0; g < gpus; ++g) {
    hosts_.push_back(zone->create_host("gpu" + std::to_string(g), 1.0)->seal());
    // Half the class latency on each end: an intra-node message crosses two.
    gpu_links_.push_back(
        make_link(zone, "intra" + std::to_string(g), cluster.intra, cluster.intra.latency_s / 2));
    if (cluster.nic_per_gpu) {
      nic_links_.push_back(
          make_link(zone, "nic" + std::to_string(g), cluster.nic, cluster.nic.latency_s / 2));
    }
  }
  if (!cluster.nic_per_gpu) {
    for (int n = 0; n < nodes; ++n) {
      nic_links_.push_back(
          make_link(zone, "nic" + std::to_string(n), cluster.nic, cluster.nic.latency_s / 2));
    }
  }
  if (cluster.fat_tree) {
    const int leaves = (nodes + cluster.nodes_per_leaf - 1) / cluster.nodes_per_leaf;
    const double node_Bps =
        cluster.nic.bandwidth_Bps * (cluster.nic_per_gpu ? cluster.gpus_per_node : 1);
    // One link stands for a leaf's bundle of up-links (perfect ECMP spreading).
    const LinkClass up{node_Bps * cluster.nodes_per_leaf / cluster.oversubscription, 0};
    for (int l = 0; l < leaves; ++l) {
      uplinks_.push_back(
          make_link(zone, "uplink" + std::to_string(l), up, cluster.uplink_latency_s / 2));
    }
  }
  if (!cluster.torus_dims.empty()) {
    int torus_nodes = 1;
    for (int d : cluster.torus_dims) torus_nodes *= d;
    const double node_Bps =
        cluster.nic.bandwidth_Bps * (cluster.nic_per_gpu ? cluster.gpus_per_node : 1);
    for (int n = 0; n < torus_nodes; ++n) {
      for (std::size_t d = 0; d < cluster.torus_dims.size(); ++d) {
        torus_links_.push_back(make_link(zone,
                                         "torus" + std::to_string(n) + "." + std::to_string(d),
                                         {node_Bps, 0}, cluster.uplink_latency_s));
      }
    }
  }
  for (const auto& [src, dst] : pairs) {
    zone->add_route(hosts_[src]->get_netpoint(), hosts_[dst]->get_netpoint(), nullptr, nullptr,
                    route(src, dst), false);
  }
  zone->seal();
}

std::vector<s4u::LinkInRoute> Platform::route(int src, int dst) const {
  const ClusterModel& c = cluster_;
  if (c.node_of(src) == c.node_of(dst)) {
    return {{gpu_links_[src], Dir::UP}, {gpu_links_[dst], Dir::DOWN}};
  }
  std::vector<s4u::LinkInRoute> links;
  auto nic_of = [&](int g) { return nic_links_[c.nic_per_gpu ? g : c.node_of(g)]; };
  if (!c.nic_per_gpu) links.push_back({gpu_links_[src], Dir::UP});  // GPU to the node's NIC
  links.push_back({nic_of(src), Dir::UP});
  if (!c.torus_dims.empty()) add_torus_hops(c.node_of(src), c.node_of(dst), links);
  if (c.fat_tree && c.leaf_of(src) != c.leaf_of(dst)) {
    links.push_back({uplinks_[c.leaf_of(src)], Dir::UP});
    links.push_back({uplinks_[c.leaf_of(dst)], Dir::DOWN});
  }
  links.push_back({nic_of(dst), Dir::DOWN});
  if (!c.nic_per_gpu) links.push_back({gpu_links_[dst], Dir::DOWN});
  return links;
}

// Dimension-order routing, each dimension the shorter way round (ties go +).
// Going + from coordinate x uses x's link UP; going - uses (x-1)'s link DOWN.
void Platform::add_torus_hops(int src_node, int dst_node,
                              std::vector<s4u::LinkInRoute>& links) const {
  const auto& dims = cluster_.torus_dims;
  const int n_dims = int(dims.size());
  int node = src_node, stride = 1;
  for (int d = 0; d < n_dims; ++d) {
    const int size = dims[d];
    const int from = (src_node / stride) % size, to = (dst_node / stride) % size;
    const int forward = ((to - from) % size + size) % size;
    const bool plus = forward <= size - forward;
    for (int hop = 0, hops = plus ? forward : size - forward; hop < hops; ++hop) {
      const int x = (node / stride) % size;
      const int next = plus ? (x + 1) % size : (x - 1 + size) % size;
      const int owner = plus ? node : node + (next - x) * stride;  // the node whose + link this is
      links.push_back({torus_links_[std::size_t(owner * n_dims + d)], plus ? Dir::UP : Dir::DOWN});
      node += (next - x) * stride;
    }
    stride *= size;
  }
}

double run_phases_by_step(const std::vector<Phase>& phases, const Platform& platform) {
  const double start = s4u::Engine::get_clock();
  for (const Phase& phase : phases) {
    const double step_start = s4u::Engine::get_clock();
    std::vector<s4u::CommPtr> comms;
    comms.reserve(phase.flows.size());
    for (const Flow& f : phase.flows) {
      comms.push_back(s4u::Comm::sendto_async(platform.host(f.src), platform.host(f.dst), f.bytes));
    }
    s4u::Comm::wait_all(comms);
    const double step = s4u::Engine::get_clock() - step_start;
    if (phase.repeats > 1) s4u::this_actor::sleep_for(step * (phase.repeats - 1));
  }
  return s4u::Engine::get_clock() - start;
}

namespace {

// One rank of the message-level reference.
void rank_actor(int rank, const std::vector<Phase>* phases, double* finished) {
  static int payload = 0;
  static int* received = nullptr;  // the payload is a token; its size is what counts
  auto box = [](int src, int dst) {
    return s4u::Mailbox::by_name(std::to_string(src) + ">" + std::to_string(dst));
  };
  for (const Phase& phase : *phases) {
    for (int step = 0; step < phase.repeats; ++step) {
      std::vector<s4u::CommPtr> comms;
      for (const Flow& f : phase.flows) {
        if (f.src == rank) comms.push_back(box(f.src, f.dst)->put_async(&payload, f.bytes));
        if (f.dst == rank) comms.push_back(box(f.src, f.dst)->get_async<int>(&received));
      }
      s4u::Comm::wait_all(comms);
    }
  }
  *finished = std::max(*finished, s4u::Engine::get_clock());
}

}  // namespace

double run_phases_message_level(const std::vector<Phase>& phases, const Platform& platform) {
  double finished = 0;
  const double start = s4u::Engine::get_clock();
  for (std::size_t r = 0; r < platform.hosts().size(); ++r) {
    s4u::Actor::create("rank" + std::to_string(r), platform.host(int(r)), rank_actor, int(r),
                       &phases, &finished);
  }
  s4u::Engine::get_instance()->run();
  return finished - start;
}

double CollectiveRunner::allreduce(Collective c, std::uint64_t bytes) {
  const auto key = std::make_pair(resolve(c, bytes, config_), bytes);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    it = cache_.emplace(key, run_phases_by_step(plan_collective(c, bytes, config_), platform_))
             .first;
  } else {
    s4u::this_actor::sleep_for(it->second);
  }
  return it->second;
}

double simulate_collective(const ClusterModel& cluster, const CollectiveConfig& config,
                           Collective algorithm, std::uint64_t bytes, bool message_level) {
  return in_fresh_engine([&] {
           start_engine();
           const auto phases = plan_collective(algorithm, bytes, config);
           Platform platform(cluster, config.ranks, pairs_used(phases));
           if (message_level) return nlohmann::json(run_phases_message_level(phases, platform));
           double t = 0;
           simgrid::s4u::Actor::create("driver", platform.host(0),
                                       [&] { t = run_phases_by_step(phases, platform); });
           simgrid::s4u::Engine::get_instance()->run();
           return nlohmann::json(t);
         })
      .get<double>();
}

}  // namespace lb::sim
