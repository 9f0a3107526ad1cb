#pragma once
// The SimGrid message-level reference of the network model: one actor per
// rank, every step of every lock-step phase a real send and receive on a
// SimGrid platform built from the same Topology (links and routes) the fast
// flow model uses. It is slow (tens of seconds for 2,048 ranks) and keeps a
// route per pair of ranks, so it serves as the check of flow_model.hpp at
// small scale (tests/simulator/network_test.cpp, sim-step-vs-message).
//
// SimGrid keeps one Engine per process, so it runs in a fresh child process
// (fresh_engine.hpp).
#include <simgrid/s4u.hpp>
#include <utility>
#include <vector>

#include "simulator/cluster.hpp"
#include "simulator/collectives.hpp"
#include "simulator/topology.hpp"

namespace lb::sim {

// Creates the engine of this process with CM02, no cross-traffic, no TCP
// window (TCP-gamma 0) and no RTT weighting (weight-S 0): a message's time is
// the sum of its links' latencies plus its size over its max-min fair share
// of their bandwidth, as in flow_model.hpp. Configures it on the first call.
simgrid::s4u::Engine& start_engine();

// One host per rank and one SimGrid link per Topology link, with a route
// for each (src, dst) pair given.
class Platform {
 public:
  Platform(const Topology& topology, const std::vector<std::pair<int, int>>& pairs);
  simgrid::s4u::Host* host(int rank) const { return hosts_[std::size_t(rank)]; }
  const std::vector<simgrid::s4u::Host*>& hosts() const { return hosts_; }

 private:
  std::vector<simgrid::s4u::Host*> hosts_;
};

// Runs the lock-step phases message by message in this process's engine
// (each rank waits for its sends and receives of a step before the next, as
// a sendrecv ring does) and returns when the last rank finished.
double run_phases_message_level(const std::vector<Phase>& phases, const Platform& platform);

// Simulated seconds of one all-reduce of `bytes` on `cluster`: with the fast
// flow model, or (message_level) with SimGrid in a fresh child process.
double simulate_collective(const ClusterModel& cluster, const CollectiveConfig& config,
                           Algorithm algorithm, std::uint64_t bytes, bool message_level);

}  // namespace lb::sim
