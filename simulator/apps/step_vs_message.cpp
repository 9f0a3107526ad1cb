// sim-step-vs-message: one flat ring all-reduce of ResNet-50's fp16 gradients
// (51,114,064 bytes) on P ranks (8 GPUs per node, PCIe + 100 Gbps NIC, one
// switch), simulated with the fast flow model and message by message in
// SimGrid; prints both simulated times and the wall time each took.
//   build/bin/sim-step-vs-message 256 512 1024
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "simulator/network_sim.hpp"

using namespace lb::sim;

namespace {

double simulate(int ranks, bool message_level) {
  ClusterModel c;
  c.gpus_per_node = 8;
  c.intra = {12e9, 2e-6};
  c.nic = {12.5e9, 5e-6};
  CollectiveConfig cfg;
  cfg.ranks = ranks;
  cfg.group_size = 8;
  cfg.wire_bytes = 2;
  return simulate_collective(c, cfg, lb::Algorithm::ring, 51'114'064, message_level);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: sim-step-vs-message RANKS...\n");
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    const int ranks = std::atoi(argv[i]);
    if (ranks < 2) {
      std::fprintf(stderr, "sim-step-vs-message: expected ranks >= 2, got %s\n", argv[i]);
      return 2;
    }
    for (bool message_level : {false, true}) {
      const auto start = std::chrono::steady_clock::now();
      const double simulated = simulate(ranks, message_level);
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("ranks %5d %-13s simulated %.9f s  wall %.2f s\n", ranks,
                  message_level ? "message-level" : "flow model", simulated, wall);
    }
  }
  return 0;
}
