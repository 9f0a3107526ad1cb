#include "hparam/strategy.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

namespace lb::hparam {
namespace {

using json = nlohmann::json;

// A box in unit coordinates: continuous dims get [lo, hi]; a choice dim is
// either free (every choice) or fixed to one value.
struct Box {
  std::vector<double> lo, hi;
  std::vector<std::optional<json>> fixed;
};

Box whole_space(const SearchSpace& space) {
  const std::size_t n = space.size();
  return {std::vector<double>(n, 0.0), std::vector<double>(n, 1.0),
          std::vector<std::optional<json>>(n)};
}

Box box_around(const SearchSpace& space, const Params& centre, double half_width) {
  Box box = whole_space(space);
  for (std::size_t d = 0; d < space.size(); ++d) {
    const Param& p = space.params[d];
    const json& value = centre.at(p.key);
    if (!p.continuous()) {
      box.fixed[d] = value;
      continue;
    }
    const double u = p.to_unit(value);
    box.lo[d] = std::max(0.0, u - half_width);
    box.hi[d] = std::min(1.0, u + half_width);
  }
  return box;
}

std::vector<double> axis(double lo, double hi, int n) {
  if (n == 1) return {(lo + hi) / 2};
  std::vector<double> values;
  for (int i = 0; i < n; ++i) values.push_back(lo + (hi - lo) * i / (n - 1));
  return values;
}

// Cartesian product, one dimension at a time.
std::vector<Params> grid(const SearchSpace& space, const Box& box, int n) {
  std::vector<Params> points{json::object()};
  for (std::size_t d = 0; d < space.size(); ++d) {
    const Param& p = space.params[d];
    std::vector<json> values;
    if (box.fixed[d])
      values = {*box.fixed[d]};
    else if (!p.continuous())
      values = p.choices;
    else
      for (double u : axis(box.lo[d], box.hi[d], n)) values.push_back(p.from_unit(u));
    std::vector<Params> next;
    for (const Params& point : points) {
      for (const json& v : values) {
        next.push_back(point);
        next.back()[p.key] = v;
      }
    }
    points = std::move(next);
  }
  return points;
}

unsigned nth_prime(std::size_t n) {
  static const unsigned kPrimes[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53};
  return kPrimes[n % std::size(kPrimes)];
}

// Halton points with a seeded random shift per dimension (Cranley-Patterson
// rotation), so different seeds give different but equally even point sets.
std::vector<Params> halton(const SearchSpace& space, const Box& box, int n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<double> shift(space.size());
  for (double& s : shift) s = uniform(rng);
  std::vector<Params> points;
  for (int i = 1; i <= n; ++i) {
    Params point = json::object();
    for (std::size_t d = 0; d < space.size(); ++d) {
      const Param& p = space.params[d];
      if (box.fixed[d]) {
        point[p.key] = *box.fixed[d];
        continue;
      }
      const double u =
          std::fmod(radical_inverse(static_cast<std::uint64_t>(i), nth_prime(d)) + shift[d], 1.0);
      point[p.key] = p.from_unit(box.lo[d] + u * (box.hi[d] - box.lo[d]));
    }
    points.push_back(std::move(point));
  }
  return points;
}

// Appends `p` unless it is already there; a configuration derived from two
// centres keeps the first (the better one).
void append_unique(std::vector<Params>& out, std::vector<std::size_t>& parents,
                   std::set<std::string>& seen, const Params& p, std::size_t parent) {
  if (!seen.insert(p.dump()).second) return;
  out.push_back(p);
  parents.push_back(parent);
}

std::vector<Params> sample_box(const SweepConfig& sweep, const Stage& stage, const Box& box,
                               std::mt19937_64& rng) {
  return stage.sampler == Sampler::grid ? grid(sweep.space, box, stage.points)
                                        : halton(sweep.space, box, stage.points, rng);
}

}  // namespace

double radical_inverse(std::uint64_t index, unsigned base) {
  double result = 0, fraction = 1.0 / base;
  while (index > 0) {
    result += static_cast<double>(index % base) * fraction;
    index /= base;
    fraction /= base;
  }
  return result;
}

double box_half_width(const SweepConfig& sweep, std::size_t stage) {
  double w = 0.5;
  for (std::size_t s = 1; s <= stage && s < sweep.stages.size(); ++s) {
    if (!sweep.stages[s].final) w *= sweep.stages[s].narrow;
  }
  return w;
}

std::vector<Params> stage_configurations(const SweepConfig& sweep, std::size_t stage,
                                         const std::vector<Params>& previous_best,
                                         std::vector<std::size_t>* parents) {
  const Stage& st = sweep.stages.at(stage);
  std::mt19937_64 rng(sweep.seed * 0x9e3779b97f4a7c15ull + stage + 1);
  std::vector<Params> out;
  std::vector<std::size_t> from;
  std::set<std::string> seen;
  const std::size_t k =
      std::min<std::size_t>(previous_best.size(), static_cast<std::size_t>(st.top_k));
  if (stage == 0) {
    for (const Params& p : sample_box(sweep, st, whole_space(sweep.space), rng))
      append_unique(out, from, seen, p, 0);
  } else if (st.final) {
    for (std::size_t i = 0; i < k; ++i) append_unique(out, from, seen, previous_best[i], i);
  } else {
    for (std::size_t i = 0; i < k; ++i) {  // the centre itself is re-run at the new fidelity
      append_unique(out, from, seen, previous_best[i], i);
      const Box box = box_around(sweep.space, previous_best[i], box_half_width(sweep, stage));
      for (const Params& p : sample_box(sweep, st, box, rng)) append_unique(out, from, seen, p, i);
    }
  }
  // Halving judges a trial against those that reached its rung before it:
  // a random order keeps neighbouring grid points from meeting first. The
  // permutation is drawn on positions, so the parents follow their points.
  if (st.halving) {
    std::vector<std::size_t> order(out.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<Params> shuffled;
    std::vector<std::size_t> shuffled_from;
    for (std::size_t i : order) {
      shuffled.push_back(out[i]);
      shuffled_from.push_back(from[i]);
    }
    out = std::move(shuffled);
    from = std::move(shuffled_from);
  }
  if (parents != nullptr) *parents = stage == 0 ? std::vector<std::size_t>{} : from;
  return out;
}

bool better(double a, double b, Goal goal) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return goal == Goal::maximize ? a > b : a < b;
}

}  // namespace lb::hparam
