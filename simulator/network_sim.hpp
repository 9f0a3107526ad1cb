#pragma once
// The cluster as a SimGrid platform and the two ways of running a
// collective's phases on it.
//
// SimGrid keeps one Engine per process, so every simulation runs in a fresh
// child process (fresh_engine.hpp); the functions here assume that engine.
#include <map>
#include <simgrid/s4u.hpp>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "simulator/cluster.hpp"
#include "simulator/collectives.hpp"

namespace lb::sim {

// Creates the engine of this process with CM02 and no cross-traffic: the
// latency of a message is the sum of its links' latencies and its rate the
// max-min fair share of its links' bandwidths (alpha-beta). Call once.
simgrid::s4u::Engine& start_engine();

// One host per GPU, full-duplex links per link class, and explicit routes
// (our own routing, declared in a full zone) for the (src, dst) pairs given.
class Platform {
 public:
  Platform(const ClusterModel& cluster, int gpus, const std::vector<std::pair<int, int>>& pairs);
  simgrid::s4u::Host* host(int rank) const { return hosts_[rank]; }
  const std::vector<simgrid::s4u::Host*>& hosts() const { return hosts_; }

 private:
  std::vector<simgrid::s4u::LinkInRoute> route(int src, int dst) const;
  void add_torus_hops(int src_node, int dst_node,
                      std::vector<simgrid::s4u::LinkInRoute>& links) const;

  ClusterModel cluster_;
  std::vector<simgrid::s4u::Host*> hosts_;
  std::vector<simgrid::s4u::Link*> gpu_links_, nic_links_, uplinks_;
  std::vector<simgrid::s4u::Link*> torus_links_;  // [node * dims + d]: node to its + neighbour in d
};

// Runs inside an actor: each phase's step once with all its flows at the same
// time, then waits the step's duration for each repeat. Exact when the steps
// of a phase are identical and nothing else uses the network, which holds
// for the runtime's collectives (they run one at a time, on one thread).
// Durations are cached per (collective, bytes) by CollectiveRunner.
double run_phases_by_step(const std::vector<Phase>& phases, const Platform& platform);

// The reference: one actor per rank, every step a real send and receive
// (put/get on mailboxes), each rank waiting for both before its next step,
// as ring sendrecv does. Creates the actors, runs the engine, returns the
// time the last rank finished. Slow (tens of seconds for 2,048 ranks).
double run_phases_message_level(const std::vector<Phase>& phases, const Platform& platform);

// Simulated seconds of one all-reduce of `bytes` on `cluster`, in a fresh
// engine (a forked child), by step or message by message: what the tests
// and sim-step-vs-message compare.
double simulate_collective(const ClusterModel& cluster, const CollectiveConfig& config,
                           Collective algorithm, std::uint64_t bytes, bool message_level);

// All-reduces of a configuration, simulated once per (algorithm, bytes).
class CollectiveRunner {
 public:
  CollectiveRunner(const Platform& platform, CollectiveConfig config)
      : platform_(platform), config_(config) {}
  // Inside an actor: advances simulated time by the all-reduce's duration.
  double allreduce(Collective c, std::uint64_t bytes);

 private:
  const Platform& platform_;
  CollectiveConfig config_;
  std::map<std::pair<Collective, std::uint64_t>, double> cache_;
};

}  // namespace lb::sim
