#include "simulator/collectives.hpp"

#include <algorithm>
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

// Recursive doubling; ranks beyond the largest power of two fold into a
// partner first and get the result back at the end.
std::vector<Phase> doubling_plan(std::uint64_t bytes, const CollectiveConfig& c) {
  int pow2 = 1;
  while (pow2 * 2 <= c.ranks) pow2 *= 2;
  std::vector<Phase> phases;
  Phase fold{"mpi fold", {}, 1}, unfold{"mpi unfold", {}, 1};
  for (int r = pow2; r < c.ranks; ++r) {
    fold.flows.push_back({r, r - pow2, bytes});
    unfold.flows.push_back({r - pow2, r, bytes});
  }
  if (!fold.flows.empty()) phases.push_back(fold);
  for (int distance = 1; distance < pow2; distance *= 2) {
    Phase step{"mpi doubling", {}, 1};
    for (int r = 0; r < pow2; ++r) step.flows.push_back({r, r ^ distance, bytes});
    phases.push_back(step);
  }
  if (!unfold.flows.empty()) phases.push_back(unfold);
  return phases;
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
  const int m = c.group_size;
  if (c.ranks % m != 0) {
    throw SpecError("comm.group_size", "torus2d needs a group size that divides the " +
                                           std::to_string(c.ranks) + " ranks, got " +
                                           std::to_string(m));
  }
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

}  // namespace

Collective resolve(Collective c, std::uint64_t bytes, const CollectiveConfig& config) {
  if (c != Collective::automatic) return c;
  // The runtime compares the fp32 buffer's size, whatever the wire format.
  if (std::int64_t(bytes / config.wire_bytes * 4) < config.auto_small_bytes) return Collective::mpi;
  return config.group_size < config.ranks ? Collective::hierarchical : Collective::ring;
}

std::vector<Phase> plan_collective(Collective c, std::uint64_t bytes,
                                   const CollectiveConfig& config) {
  if (config.ranks < 2 || bytes == 0) return {};
  switch (resolve(c, bytes, config)) {
    case Collective::mpi: {  // MPI_Allreduce sums the fp32 buffer: no fp16 wire
      const std::uint64_t fp32 = bytes / config.wire_bytes * 4;
      CollectiveConfig native = config;
      native.wire_bytes = 4;
      if (std::int64_t(fp32) < config.mpi_ring_bytes) return doubling_plan(fp32, native);
      return ring_plan(fp32, native);
    }
    case Collective::ring:
      return ring_plan(bytes, config);
    case Collective::hierarchical:
      return hierarchical_plan(bytes, config);
    case Collective::torus2d:
      return torus2d_plan(bytes, config);
    case Collective::automatic:
      break;
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

}  // namespace lb::sim
