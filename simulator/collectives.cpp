#include "simulator/collectives.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "runtime/core/errors.hpp"

namespace lb::sim {
namespace {

// The largest ring chunk of `bytes` split n ways (runtime: ring_chunk), in
// whole wire elements: it sets the pace of a lock-step ring.
std::uint64_t chunk_bytes(std::uint64_t bytes, int n, int width) {
  const std::uint64_t elements = (bytes + width - 1) / width;
  return (elements + n - 1) / n * width;
}

// Several disjoint rings taking steps together (rows, columns, leaders).
Phase ring_phase(const std::string& name, const std::vector<std::vector<int>>& rings,
                 std::uint64_t chunk, int repeats) {
  Phase p{name, {}, repeats};
  for (const auto& ring : rings) {
    const auto n = ring.size();
    if (n < 2) continue;
    for (std::size_t i = 0; i < n; ++i) p.flows.push_back({ring[i], ring[(i + 1) % n], chunk});
  }
  return p;
}

std::vector<std::vector<int>> groups_of(int ranks, int m) {  // rank / m, as split(r / m)
  std::vector<std::vector<int>> groups((ranks + m - 1) / m);
  for (int r = 0; r < ranks; ++r) groups[r / m].push_back(r);
  return groups;
}

std::vector<std::vector<int>> columns_of(int ranks, int m) {  // rank % m
  std::vector<std::vector<int>> columns(std::min(m, ranks));
  for (int r = 0; r < ranks; ++r) columns[r % m].push_back(r);
  return columns;
}

std::vector<Phase> ring_plan(std::uint64_t bytes, const CollectiveConfig& c) {
  std::vector<int> all(c.ranks);
  for (int r = 0; r < c.ranks; ++r) all[r] = r;
  return {ring_phase("ring", {all}, chunk_bytes(bytes, c.ranks, c.wire_bytes), 2 * (c.ranks - 1))};
}

int largest_power_of_two(int ranks) {
  int pow2 = 1;
  while (pow2 * 2 <= ranks) pow2 *= 2;
  return pow2;
}

// Ranks beyond the largest power of two fold their buffer into a partner
// before `exchanges` (among the first pow2 ranks) and get the result back
// after them.
std::vector<Phase> with_folding(int ranks, int pow2, std::uint64_t bytes, const std::string& name,
                                const std::vector<Phase>& exchanges) {
  Phase fold{name + " fold", {}, 1}, unfold{name + " unfold", {}, 1};
  for (int r = pow2; r < ranks; ++r) {
    fold.flows.push_back({r, r - pow2, bytes});
    unfold.flows.push_back({r - pow2, r, bytes});
  }
  std::vector<Phase> phases;
  if (!fold.flows.empty()) phases.push_back(fold);
  phases.insert(phases.end(), exchanges.begin(), exchanges.end());
  if (!unfold.flows.empty()) phases.push_back(unfold);
  return phases;
}

// Recursive doubling: log2 p exchanges of the whole buffer.
std::vector<Phase> doubling_plan(std::uint64_t bytes, const CollectiveConfig& c) {
  const int pow2 = largest_power_of_two(c.ranks);
  std::vector<Phase> exchanges;
  for (int distance = 1; distance < pow2; distance *= 2) {
    Phase step{"mpi doubling", {}, 1};
    for (int r = 0; r < pow2; ++r) step.flows.push_back({r, r ^ distance, bytes});
    exchanges.push_back(step);
  }
  return with_folding(c.ranks, pow2, bytes, "mpi", exchanges);
}

void add_binomial_broadcast(std::vector<Phase>& phases, const std::vector<std::vector<int>>& groups,
                            std::uint64_t bytes) {
  for (int distance = 1;; distance *= 2) {
    Phase step{"broadcast (binomial)", {}, 1};
    for (const auto& g : groups) {
      for (int l = 0; l < distance && l + distance < int(g.size()); ++l) {
        step.flows.push_back({g[l], g[l + distance], bytes});
      }
    }
    if (step.flows.empty()) return;
    phases.push_back(step);
  }
}

// MPI_Ibcast from each group's first rank, as Open MPI's libnbc schedules
// it (nbc_ibcast.c): linear from the root for up to 4 ranks, a binomial
// tree below 64 KiB, else a pipelined chain of 8 KiB (below 512 KiB) or
// 32 KiB segments.
void add_broadcast(std::vector<Phase>& phases, const std::vector<std::vector<int>>& groups,
                   std::uint64_t bytes) {
  std::size_t m = 0;
  for (const auto& g : groups) m = std::max(m, g.size());
  if (m <= 4) {
    Phase linear{"broadcast (linear)", {}, 1};
    for (const auto& g : groups) {
      for (std::size_t l = 1; l < g.size(); ++l) linear.flows.push_back({g[0], g[l], bytes});
    }
    phases.push_back(linear);
  } else if (bytes < 65536) {
    add_binomial_broadcast(phases, groups, bytes);
  } else {
    const std::uint64_t segment = bytes < 524288 ? 8192 : 32768;
    const std::uint64_t fragments = (bytes + segment - 1) / segment;
    Phase chain{"broadcast (chain)", {}, int(fragments + m - 2)};
    for (const auto& g : groups) {
      for (std::size_t l = 0; l + 1 < g.size(); ++l)
        chain.flows.push_back({g[l], g[l + 1], (bytes + fragments - 1) / fragments});
    }
    phases.push_back(chain);
  }
}

std::vector<Phase> hierarchical_plan(std::uint64_t bytes, const CollectiveConfig& c) {
  const int m = c.group_size;
  const auto groups = groups_of(c.ranks, m);
  const std::uint64_t row_chunk = chunk_bytes(bytes, m, c.wire_bytes);
  std::vector<Phase> phases;
  if (m > 1) {
    phases.push_back(ring_phase("group reduce-scatter", groups, row_chunk, m - 1));
    Phase gather{"gather to leader", {}, 1};  // fp32 chunks, as the runtime sends them
    const std::uint64_t fp32_chunk = chunk_bytes(bytes / c.wire_bytes * 4, m, 4);
    for (const auto& g : groups) {
      for (std::size_t l = 1; l < g.size(); ++l) gather.flows.push_back({g[l], g[0], fp32_chunk});
    }
    phases.push_back(gather);
  }
  std::vector<int> leaders;
  for (const auto& g : groups) leaders.push_back(g[0]);
  const int n = int(leaders.size());
  if (n > 1) {
    phases.push_back(
        ring_phase("leader ring", {leaders}, chunk_bytes(bytes, n, c.wire_bytes), 2 * (n - 1)));
  }
  if (m > 1) add_broadcast(phases, groups, bytes / c.wire_bytes * 4);
  return phases;
}

std::vector<Phase> torus2d_plan(std::uint64_t bytes, const CollectiveConfig& c) {
  const int m = c.group_size;  // divides the ranks: check_group_size
  const auto rows = groups_of(c.ranks, m);
  const auto columns = columns_of(c.ranks, m);
  const int n = c.ranks / m;
  const std::uint64_t row_chunk = chunk_bytes(bytes, m, c.wire_bytes);
  std::vector<Phase> phases;
  if (m > 1) phases.push_back(ring_phase("row reduce-scatter", rows, row_chunk, m - 1));
  if (n > 1) {
    phases.push_back(
        ring_phase("column ring", columns, chunk_bytes(row_chunk, n, c.wire_bytes), 2 * (n - 1)));
  }
  if (m > 1) phases.push_back(ring_phase("row all-gather", rows, row_chunk, m - 1));
  return phases;
}

// Recursive halving reduce-scatter then recursive doubling all-gather
// (Rabenseifner): 2 log2 p exchanges of halving, then doubling, chunks.
std::vector<Phase> halving_doubling_plan(std::uint64_t bytes, const CollectiveConfig& c) {
  const int pow2 = largest_power_of_two(c.ranks);
  std::vector<Phase> exchanges;
  auto exchange = [&](const char* name, int distance) {
    Phase step{name, {}, 1};
    const std::uint64_t part = chunk_bytes(bytes, pow2 / distance, c.wire_bytes);
    for (int r = 0; r < pow2; ++r) step.flows.push_back({r, r ^ distance, part});
    exchanges.push_back(step);
  };
  for (int d = pow2 / 2; d >= 1; d /= 2) exchange("halving reduce-scatter", d);
  for (int d = 1; d < pow2; d *= 2) exchange("doubling all-gather", d);
  return with_folding(c.ranks, pow2, bytes, "halving_doubling", exchanges);
}

// --- NCCL --------------------------------------------------------------------
// Numbers from NCCL 2.7's tuning model (NVIDIA/nccl src/graph/tuning.cc):
// latencies in microseconds, bandwidths in GB/s.

enum { kTree = 0, kRing = 1 };
enum { kNvlink = 0, kPci = 1, kNet = 2 };
constexpr double kBaseLatencyUs[2][3] = {{4.4, 4.4, 0}, {3.6, 10.0, 8.4}};  // [algorithm][protocol]
constexpr double kHopLatencyUs[3][2][3] = {
    {{0.52, 1.2, 28}, {0.47, 1.9, 3.4}},  // NVLink: tree, ring
    {{1.0, 1.9, 28}, {1.0, 2.5, 5.7}},    // PCI
    {{5.0, 8.5, 50}, {2.7, 4.0, 9.6}}};   // network
// "Trees are not perfectly sticking to the model for medium sizes": NCCL's
// own correction of tree bandwidth, by log2(bytes / 64).
constexpr double kTreeCorrection[3][22] = {
    {1.0, 1.0, 1.0, 1.0, .9, .8, .7, .7, .7, .7, .6, .5, .4, .4, .5, .6, .7, .8, .9, 1.0, 1.0, 1.0},
    {1.0, 1.0, 1.0, 1.0, 1.0, .9, .8, .8, .8, .7, .6, .6, .6, .5, .6, .6, .7, .7, .8, .9, .9, 1.0},
    {.9, .9, .9, .9, .9, .9, .9, .8, .7, .6, .6, .5, .5, .5, .5, .5, .5, .6, .6, .7, .8, .9}};

struct NcclShape {
  int ranks = 1, nodes = 1, per_node = 1;
};

NcclShape shape_of(const CollectiveConfig& c) {
  const int per_node = std::max(1, std::min(c.ranks_per_node, c.ranks));
  return {c.ranks, (c.ranks + per_node - 1) / per_node, per_node};
}

int log2_floor(std::uint64_t v) {
  int l = -1;
  for (; v; v >>= 1) ++l;
  return l;
}

double tree_correction(NcclProtocol p, std::uint64_t bytes) {
  const int index = log2_floor(bytes >> 6);
  return index >= 0 && index < 22 ? kTreeCorrection[int(p)][index] : 1.0;
}

// Bandwidth efficiency of a protocol on an algorithm, NCCL's model refinements.
double protocol_efficiency(int a, NcclProtocol p, const NcclShape& s) {
  if (a == kRing) {
    if (p == NcclProtocol::ll) return 1.0 / 4;
    if (p == NcclProtocol::ll128) return double(s.ranks) / s.nodes < 2 ? 0.7 : 0.92;
    return 1;
  }
  const double tree = 0.9;
  if (p == NcclProtocol::ll) return tree / 3.8;
  if (p == NcclProtocol::ll128) return tree * (s.nodes == 1 ? 7.0 / 9 : 0.915);
  return tree;
}

// The per-hop latencies of an algorithm and protocol: (intra-node, inter-node).
std::pair<double, double> hop_latencies_s(int a, NcclProtocol p, const NcclShape& s, bool nvlink) {
  double intra = kHopLatencyUs[nvlink ? kNvlink : kPci][a][int(p)];
  if (s.nodes > 1 && p == NcclProtocol::ll) intra *= 1.8;
  return {intra * 1e-6, kHopLatencyUs[kNet][a][int(p)] * 1e-6};
}

bool ring_plateau(const NcclShape& s, std::uint64_t bytes, NcclProtocol p) {
  return p == NcclProtocol::simple && s.nodes > 1 && double(bytes) >= s.ranks / 16.0 * 65536;
}

// The bus bandwidth NCCL's model assumes, bytes/s: a GPU's intra link in one
// node, else the smaller of it and the node's NICs together; trees are
// further capped by their kernels' throughput.
double bus_Bps(int a, const CollectiveConfig& c, const NcclShape& s) {
  double bus = s.nodes == 1 ? c.nccl.intra_Bps
                            : std::min(c.nccl.intra_Bps, c.nics_per_node * c.nccl.nic_Bps);
  if (a == kTree) bus = std::min(bus, (s.nodes > 2 ? 80e9 : 110e9) / 0.9);
  return bus;
}

double nccl_model_s(int a, NcclProtocol p, std::uint64_t bytes, const CollectiveConfig& c) {
  const NcclShape s = shape_of(c);
  double bw = bus_Bps(a, c, s) * protocol_efficiency(a, p, s);
  bw *= a == kRing ? double(s.ranks) / (2.0 * (s.ranks - 1)) : 0.5;
  if (a == kTree) bw *= tree_correction(p, bytes);
  const auto [intra, inter] = hop_latencies_s(a, p, s, c.nccl.nvlink);
  double latency = kBaseLatencyUs[a][int(p)] * 1e-6;
  if (a == kRing) {
    const int steps = 2 * (s.ranks - 1), inter_steps = 2 * (s.nodes - 1);
    latency += (steps - inter_steps) * intra + inter_steps * inter;
    if (ring_plateau(s, bytes, p)) latency *= 1.9;
  } else {
    latency += 2 * ((s.per_node - 1) * intra + log2_floor(std::uint64_t(s.nodes)) * inter);
  }
  return latency + double(bytes) / bw;
}

// Ranks of `node`, in order, starting at its `first` local rank.
std::vector<int> node_ranks(const NcclShape& s, int node, int first) {
  const int begin = node * s.per_node, end = std::min(s.ranks, begin + s.per_node);
  std::vector<int> ranks;
  const int n = end - begin;
  for (int i = 0; i < n; ++i) ranks.push_back(begin + (first % n + i) % n);
  return ranks;
}

Phase pipelined_phase(const std::string& name, NcclProtocol p, int a, std::uint64_t bytes,
                      const CollectiveConfig& c) {
  const NcclShape s = shape_of(c);
  Phase phase{name + " (" + to_string(p) + ")", {}, 1, true};
  phase.base_latency_s = kBaseLatencyUs[a][int(p)] * 1e-6;
  phase.efficiency = protocol_efficiency(a, p, s);
  if (a == kTree) {
    phase.efficiency *= tree_correction(p, bytes);
    const double physical = bus_Bps(kRing, c, s), capped = bus_Bps(kTree, c, s);
    phase.efficiency *= std::min(1.0, capped / physical);
  }
  if (a == kRing && ring_plateau(s, bytes, p)) phase.latency_factor = 1.9;
  return phase;
}

void add_hop(Phase& phase, int src, int dst, int nic, double times, const NcclShape& s,
             std::pair<double, double> floors) {
  const bool inter = src / s.per_node != dst / s.per_node;
  phase.latency_path.push_back(
      {src, dst, inter ? nic : -1, times, inter ? floors.second : floors.first});
}

// NCCL's ring: one channel per NIC across nodes (each channel's inter-node
// hops use the same NIC index on both sides, its ring entering each node at
// the first GPU of that NIC), every ring carrying its share of the buffer
// round twice (reduce-scatter then all-gather), pipelined.
std::vector<Phase> nccl_ring_plan(std::uint64_t bytes, NcclProtocol p, const CollectiveConfig& c) {
  const NcclShape s = shape_of(c);
  const int channels = s.nodes > 1 ? std::max(1, c.nics_per_node) : 1;
  const int per_nic = std::max(1, c.ranks_per_node / std::max(1, c.nics_per_node));
  Phase phase = pipelined_phase("nccl ring", p, kRing, bytes, c);
  const double times = 2.0 * (s.ranks - 1) / s.ranks;
  const auto edge_bytes = std::uint64_t(std::ceil(times * double(bytes) / channels));
  const auto floors = hop_latencies_s(kRing, p, s, c.nccl.nvlink);
  for (int ch = 0; ch < channels; ++ch) {
    std::vector<int> ring;
    for (int node = 0; node < s.nodes; ++node) {
      for (int r : node_ranks(s, node, ch * per_nic)) ring.push_back(r);
    }
    for (std::size_t i = 0; i < ring.size(); ++i) {
      const int src = ring[i], dst = ring[(i + 1) % ring.size()];
      const bool inter = src / s.per_node != dst / s.per_node;
      phase.flows.push_back({src, dst, edge_bytes, inter ? ch : -1});
      if (ch == 0) add_hop(phase, src, dst, ch, times, s, floors);
    }
  }
  return {phase};
}

// An in-order balanced binary tree over positions [lo, hi): parent[pos].
void build_tree(int lo, int hi, int parent, std::vector<int>& parents) {
  if (lo >= hi) return;
  const int mid = lo + (hi - lo) / 2;
  parents[std::size_t(mid)] = parent;
  build_tree(lo, mid, mid, parents);
  build_tree(mid + 1, hi, mid, parents);
}

// NCCL's double binary tree: two trees over the nodes, the second the
// mirror (or, for an odd count, the shift) of the first so that a node is a
// leaf in at least one; each carries half the buffer, reduced up and
// broadcast down at once. Inside a node the GPUs form a chain from the head
// (the first GPU of the tree's NIC).
std::vector<Phase> nccl_tree_plan(std::uint64_t bytes, NcclProtocol p, const CollectiveConfig& c) {
  const NcclShape s = shape_of(c);
  const int per_nic = std::max(1, c.ranks_per_node / std::max(1, c.nics_per_node));
  Phase phase = pipelined_phase("nccl tree", p, kTree, bytes, c);
  const std::uint64_t half = (bytes + 1) / 2;
  const auto floors = hop_latencies_s(kTree, p, s, c.nccl.nvlink);
  std::vector<int> parents(std::size_t(s.nodes), -1);
  build_tree(0, s.nodes, -1, parents);
  for (int t = 0; t < 2; ++t) {
    const int nic = t % std::max(1, c.nics_per_node);
    auto position = [&](int node) {
      if (t == 0) return node;
      return s.nodes % 2 == 0 ? s.nodes - 1 - node : (node + 1) % s.nodes;
    };
    std::vector<int> node_at(std::size_t(s.nodes));
    for (int node = 0; node < s.nodes; ++node) node_at[std::size_t(position(node))] = node;
    std::vector<int> head(std::size_t(s.nodes));
    for (int node = 0; node < s.nodes; ++node) {
      const std::vector<int> chain = node_ranks(s, node, nic * per_nic);
      head[std::size_t(node)] = chain.front();
      for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
        phase.flows.push_back({chain[i + 1], chain[i], half});  // reduce towards the head
        phase.flows.push_back({chain[i], chain[i + 1], half});  // broadcast away from it
        if (t == 0 && node == 0) add_hop(phase, chain[i], chain[i + 1], -1, 2, s, floors);
      }
    }
    for (int node = 0; node < s.nodes; ++node) {
      const int up = parents[std::size_t(position(node))];
      if (up < 0) continue;
      const int child = head[std::size_t(node)],
                parent = head[std::size_t(node_at[std::size_t(up)])];
      phase.flows.push_back({child, parent, half, nic});
      phase.flows.push_back({parent, child, half, nic});
    }
    if (t == 0) {  // the deepest leaf's path to the root, up and down
      int deepest = 0, depth = 0;
      for (int pos = 0; pos < s.nodes; ++pos) {
        int d = 0;
        for (int q = pos; parents[std::size_t(q)] >= 0; q = parents[std::size_t(q)]) ++d;
        if (d > depth) depth = d, deepest = pos;
      }
      for (int q = deepest; parents[std::size_t(q)] >= 0; q = parents[std::size_t(q)]) {
        add_hop(phase, head[std::size_t(node_at[std::size_t(q)])],
                head[std::size_t(node_at[std::size_t(parents[std::size_t(q)])])], nic, 2, s,
                floors);
      }
    }
  }
  return {phase};
}

}  // namespace

std::string to_string(NcclProtocol p) {
  switch (p) {
    case NcclProtocol::ll:
      return "LL";
    case NcclProtocol::ll128:
      return "LL128";
    case NcclProtocol::simple:
      return "Simple";
  }
  return "?";
}

NcclChoice nccl_choice(Algorithm allowed, std::uint64_t bytes, const CollectiveConfig& c) {
  NcclChoice best;
  best.model_s = -1;
  for (const Algorithm a : {Algorithm::nccl_tree, Algorithm::nccl_ring}) {
    if (allowed != Algorithm::nccl && allowed != a) continue;
    for (const NcclProtocol p : {NcclProtocol::ll, NcclProtocol::ll128, NcclProtocol::simple}) {
      if (p == NcclProtocol::ll128 && !c.nccl.nvlink) continue;  // NCCL enables it on NVLink only
      const double t = nccl_model_s(a == Algorithm::nccl_tree ? kTree : kRing, p, bytes, c);
      if (best.model_s < 0 || t < best.model_s) best = {a, p, t};
    }
  }
  return best;
}

Algorithm resolve(Algorithm requested, std::uint64_t bytes, const CollectiveConfig& config) {
  if (requested == Algorithm::nccl) return nccl_choice(requested, bytes, config).algorithm;
  if (requested != Algorithm::automatic) return requested;
  // The runtime compares the fp32 buffer's size, whatever the wire format.
  const auto fp32 = std::int64_t(bytes / std::uint64_t(config.wire_bytes) * 4);
  if (!config.auto_rules.empty()) return rule_for(config.auto_rules, fp32);
  return default_auto_choice(fp32, config.auto_small_bytes, config.group_size, config.ranks);
}

std::vector<Phase> plan_collective(Algorithm algorithm, std::uint64_t bytes,
                                   const CollectiveConfig& config) {
  check_group_size(algorithm, config.ranks, config.group_size);
  if (config.ranks < 2 || bytes == 0) return {};
  const Algorithm a = resolve(algorithm, bytes, config);
  switch (a) {
    case Algorithm::mpi: {  // MPI_Allreduce sums the fp32 buffer: no fp16 wire
      const std::uint64_t fp32 = bytes / std::uint64_t(config.wire_bytes) * 4;
      CollectiveConfig native = config;
      native.wire_bytes = 4;
      if (std::int64_t(fp32) < config.mpi_ring_bytes) return doubling_plan(fp32, native);
      return ring_plan(fp32, native);
    }
    case Algorithm::ring:
      return ring_plan(bytes, config);
    case Algorithm::hierarchical:
      return hierarchical_plan(bytes, config);
    case Algorithm::torus2d:
      return torus2d_plan(bytes, config);
    case Algorithm::halving_doubling:
      return halving_doubling_plan(bytes, config);
    case Algorithm::nccl_ring:
      return nccl_ring_plan(bytes, nccl_choice(a, bytes, config).protocol, config);
    case Algorithm::nccl_tree:
      return nccl_tree_plan(bytes, nccl_choice(a, bytes, config).protocol, config);
    case Algorithm::automatic:
    case Algorithm::nccl:
      break;  // resolved above
  }
  return {};
}

std::vector<std::pair<int, int>> pairs_used(const std::vector<Phase>& phases) {
  std::set<std::pair<int, int>> pairs;
  for (const auto& p : phases) {
    for (const auto& f : p.flows) pairs.insert({f.src, f.dst});
  }
  return {pairs.begin(), pairs.end()};
}

double bytes_through_rank0(const std::vector<Phase>& phases) {
  double total = 0;
  for (const Phase& p : phases) {
    for (const Flow& f : p.flows) {
      if (f.src == 0 || f.dst == 0) total += double(p.repeats) * double(f.bytes);
    }
  }
  return total;
}

}  // namespace lb::sim
