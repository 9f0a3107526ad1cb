#pragma once
// The fast network model: flows on the cluster's links (topology.hpp) share
// bandwidth max-min fairly, as SimGrid's CM02 model with no TCP corrections
// does, but solved directly with no per-pair routing table and no actors, so
// 65,536 GPUs cost milliseconds per phase and megabytes of memory. The
// SimGrid message-level simulation (network_sim.hpp) is its check at small
// scale (tests/simulator/network_test.cpp: within 1 %).
#include <cstdint>
#include <vector>

#include "simulator/collectives.hpp"
#include "simulator/topology.hpp"

namespace lb::sim {

// One step of a lock-step phase: every flow starts at time 0, waits its
// route's latency, then moves its bytes at its max-min fair share of the
// links among the flows moving at that moment (recomputed whenever a flow
// starts or ends). Returns when the last flow ends.
double lockstep_step_s(const Topology& topology, const std::vector<Flow>& flows);

// A pipelined phase's transfer: every flow streams for the whole phase at
// its max-min fair share among all of them; returns the longest bytes/rate.
double pipelined_transfer_s(const Topology& topology, const std::vector<Flow>& flows);

// One phase, and a whole collective (the sum of its phases).
double phase_s(const Topology& topology, const Phase& phase);
double collective_s(const Topology& topology, const std::vector<Phase>& phases);

// Max-min fair rates (bytes/s) of flows given as routes over `topology`'s
// links: progressive filling, the bottleneck link first.
std::vector<double> max_min_rates(const Topology& topology,
                                  const std::vector<std::vector<int>>& routes);

}  // namespace lb::sim
