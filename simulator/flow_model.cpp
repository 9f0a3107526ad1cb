#include "simulator/flow_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>

namespace lb::sim {
namespace {

// Routes of a set of flows, flat (CSR): flow i uses links[offset[i], offset[i+1]).
struct Routes {
  std::vector<int> offset{0};
  std::vector<int> links;
  std::vector<double> latency;
};

Routes route_all(const Topology& topology, const std::vector<Flow>& flows) {
  Routes r;
  r.offset.reserve(flows.size() + 1);
  r.latency.reserve(flows.size());
  for (const Flow& f : flows) {
    r.latency.push_back(topology.route(f.src, f.dst, f.via_nic, r.links));
    r.offset.push_back(int(r.links.size()));
  }
  return r;
}

// Progressive filling over the flows in `active`: repeatedly take the link
// whose remaining capacity per unfrozen flow is smallest and freeze its
// flows at that share. Shares only grow as flows freeze elsewhere, so a
// queue entry whose share is out of date is pushed again with the new one.
class MaxMin {
 public:
  MaxMin(const Topology& topology, const Routes& routes)
      : topology_(topology),
        routes_(routes),
        remaining_(std::size_t(topology.link_count())),
        count_(std::size_t(topology.link_count())) {}

  void solve(const std::vector<int>& active, std::vector<double>& rate) {
    index_flows_by_link(active);
    using Entry = std::pair<double, int>;  // (share, link)
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue;
    for (int l : touched_) queue.push({remaining_[std::size_t(l)] / count_[std::size_t(l)], l});
    std::vector<char> frozen(routes_.latency.size(), 0);
    while (!queue.empty()) {
      const auto [share, l] = queue.top();
      queue.pop();
      const auto L = std::size_t(l);
      if (count_[L] == 0) continue;
      const double current = std::max(0.0, remaining_[L]) / count_[L];
      if (current > share * (1 + 1e-12) + 1e-300) {
        queue.push({current, l});
        continue;
      }
      for (int k = link_start_[L]; k < link_start_[L + 1]; ++k) {
        const int f = link_flows_[std::size_t(k)];
        if (frozen[std::size_t(f)]) continue;
        frozen[std::size_t(f)] = 1;
        rate[std::size_t(f)] = current;
        for (int i = routes_.offset[std::size_t(f)]; i < routes_.offset[std::size_t(f) + 1]; ++i) {
          const auto l2 = std::size_t(routes_.links[std::size_t(i)]);
          remaining_[l2] -= current;
          if (--count_[l2] > 0 && l2 != L)
            queue.push({std::max(0.0, remaining_[l2]) / count_[l2], int(l2)});
        }
      }
    }
  }

 private:
  // Counting sort of the active flows by link, over the links they touch only.
  void index_flows_by_link(const std::vector<int>& active) {
    for (int l : touched_) count_[std::size_t(l)] = 0;
    touched_.clear();
    for (int f : active) {
      for (int i = routes_.offset[std::size_t(f)]; i < routes_.offset[std::size_t(f) + 1]; ++i) {
        const auto l = std::size_t(routes_.links[std::size_t(i)]);
        if (count_[l]++ == 0) touched_.push_back(int(l));
      }
    }
    std::sort(touched_.begin(), touched_.end());
    link_start_.assign(std::size_t(topology_.link_count()) + 1, 0);
    for (int l : touched_) {
      link_start_[std::size_t(l) + 1] = count_[std::size_t(l)];
      remaining_[std::size_t(l)] = topology_.link(l).bandwidth_Bps;
    }
    for (std::size_t l = 1; l < link_start_.size(); ++l) link_start_[l] += link_start_[l - 1];
    link_flows_.assign(std::size_t(link_start_.back()), 0);
    std::vector<int> fill(link_start_.begin(), link_start_.end() - 1);
    for (int f : active) {
      for (int i = routes_.offset[std::size_t(f)]; i < routes_.offset[std::size_t(f) + 1]; ++i) {
        link_flows_[std::size_t(fill[std::size_t(routes_.links[std::size_t(i)])]++)] = f;
      }
    }
  }

  const Topology& topology_;
  const Routes& routes_;
  std::vector<double> remaining_;
  std::vector<int> count_, touched_, link_start_, link_flows_;
};

}  // namespace

std::vector<double> max_min_rates(const Topology& topology,
                                  const std::vector<std::vector<int>>& routes) {
  Routes r;
  for (const auto& route : routes) {
    r.links.insert(r.links.end(), route.begin(), route.end());
    r.offset.push_back(int(r.links.size()));
    r.latency.push_back(0);
  }
  std::vector<int> all(routes.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = int(i);
  std::vector<double> rate(routes.size(), 0);
  MaxMin(topology, r).solve(all, rate);
  return rate;
}

double lockstep_step_s(const Topology& topology, const std::vector<Flow>& flows) {
  if (flows.empty()) return 0;
  const Routes routes = route_all(topology, flows);
  MaxMin solver(topology, routes);
  const std::size_t n = flows.size();
  std::vector<double> left(n), rate(n, 0);
  std::vector<int> order(n);  // flows by start time (their latency)
  for (std::size_t i = 0; i < n; ++i) left[i] = double(flows[i].bytes), order[i] = int(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return routes.latency[std::size_t(a)] < routes.latency[std::size_t(b)];
  });
  std::vector<int> active;
  std::size_t next = 0;  // the next flow in `order` to start
  double now = 0, end = 0;
  while (next < n || !active.empty()) {
    if (active.empty()) now = std::max(now, routes.latency[std::size_t(order[next])]);
    // Flows whose latency has passed (equal times within rounding) start now.
    while (next < n && routes.latency[std::size_t(order[next])] <= now * (1 + 1e-12)) {
      const int f = order[next++];
      if (left[std::size_t(f)] > 0) active.push_back(f);
      end = std::max(end, now);
    }
    if (active.empty()) continue;
    solver.solve(active, rate);
    double dt = next < n ? routes.latency[std::size_t(order[next])] - now
                         : std::numeric_limits<double>::infinity();
    for (int f : active) dt = std::min(dt, left[std::size_t(f)] / rate[std::size_t(f)]);
    now += dt;
    std::vector<int> still;
    for (int f : active) {
      double& l = left[std::size_t(f)];
      l -= rate[std::size_t(f)] * dt;
      if (l > 1e-9 * double(flows[std::size_t(f)].bytes) + 1e-6) still.push_back(f);
    }
    if (still.size() < active.size()) end = now;
    active.swap(still);
  }
  return end;
}

double pipelined_transfer_s(const Topology& topology, const std::vector<Flow>& flows) {
  if (flows.empty()) return 0;
  const Routes routes = route_all(topology, flows);
  std::vector<int> all(flows.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = int(i);
  std::vector<double> rate(flows.size(), 0);
  MaxMin(topology, routes).solve(all, rate);
  double longest = 0;
  for (std::size_t i = 0; i < flows.size(); ++i)
    longest = std::max(longest, double(flows[i].bytes) / rate[i]);
  return longest;
}

double phase_s(const Topology& topology, const Phase& phase) {
  if (!phase.pipelined) return phase.repeats * lockstep_step_s(topology, phase.flows);
  double latency = phase.base_latency_s;
  for (const Hop& h : phase.latency_path) {
    latency += h.times * std::max(h.floor_s, topology.latency(h.src, h.dst, h.via_nic));
  }
  return latency * phase.latency_factor +
         pipelined_transfer_s(topology, phase.flows) / phase.efficiency;
}

double collective_s(const Topology& topology, const std::vector<Phase>& phases) {
  double t = 0;
  for (const Phase& p : phases) t += phase_s(topology, p);
  return t;
}

}  // namespace lb::sim
