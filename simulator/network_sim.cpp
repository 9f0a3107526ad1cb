#include "simulator/network_sim.hpp"

#include <xbt/log.h>

#include <map>
#include <stdexcept>

#include "simulator/flow_model.hpp"
#include "simulator/fresh_engine.hpp"

namespace lb::sim {
namespace s4u = simgrid::s4u;

s4u::Engine& start_engine() {
  static s4u::Engine& engine = []() -> s4u::Engine& {
    static int argc = 1;
    static char name[] = "simulate-scaling";
    static char* argv[] = {name, nullptr};
    static s4u::Engine e(&argc, argv);
    xbt_log_control_set("root.thresh:critical");
    s4u::Engine::set_config("network/model:CM02");
    s4u::Engine::set_config("network/crosstraffic", false);
    // CM02 caps a flow's rate at TCP-gamma / (2 latency), a TCP window limit
    // that RDMA / NVLink do not have; weight-S would share bandwidth by RTT
    // as TCP does, where credit-based fabrics share it max-min fairly.
    s4u::Engine::set_config("network/TCP-gamma", 0.0);
    s4u::Engine::set_config("network/weight-S", 0.0);
    return e;
  }();
  return engine;
}

Platform::Platform(const Topology& topology, const std::vector<std::pair<int, int>>& pairs) {
  auto* zone = s4u::create_full_zone("cluster");
  for (int g = 0; g < topology.gpus(); ++g) {
    hosts_.push_back(zone->create_host("gpu" + std::to_string(g), 1.0)->seal());
  }
  std::map<std::pair<int, int>, std::vector<int>> routes;
  for (const auto& pair : pairs) topology.route(pair.first, pair.second, -1, routes[pair]);
  std::vector<s4u::Link*> links;  // after the routes: they may add torus links
  for (int id = 0; id < topology.link_count(); ++id) {
    const Link& l = topology.link(id);
    links.push_back(zone->create_link(topology.link_name(id), l.bandwidth_Bps)
                        ->set_latency(l.latency_s)
                        ->seal());
  }
  for (const auto& [pair, ids] : routes) {
    std::vector<s4u::LinkInRoute> route;
    for (int id : ids) route.emplace_back(links[std::size_t(id)]);
    zone->add_route(hosts_[std::size_t(pair.first)]->get_netpoint(),
                    hosts_[std::size_t(pair.second)]->get_netpoint(), nullptr, nullptr, route,
                    false);
  }
  zone->seal();
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
  for (const Phase& p : phases) {
    if (p.pipelined) throw std::logic_error("message-level reference: pipelined phase " + p.name);
  }
  double finished = 0;
  const double start = s4u::Engine::get_clock();
  for (std::size_t r = 0; r < platform.hosts().size(); ++r) {
    s4u::Actor::create("rank" + std::to_string(r), platform.host(int(r)), rank_actor, int(r),
                       &phases, &finished);
  }
  s4u::Engine::get_instance()->run();
  return finished - start;
}

double simulate_collective(const ClusterModel& cluster, const CollectiveConfig& config,
                           Algorithm algorithm, std::uint64_t bytes, bool message_level) {
  const auto phases = plan_collective(algorithm, bytes, config);
  if (!message_level) return collective_s(Topology(cluster, config.ranks), phases);
  return in_fresh_engine([&] {
           start_engine();
           const Topology topology(cluster, config.ranks);
           Platform platform(topology, pairs_used(phases));
           return nlohmann::json(run_phases_message_level(phases, platform));
         })
      .get<double>();
}

}  // namespace lb::sim
