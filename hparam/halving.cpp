#include "hparam/halving.hpp"

#include <algorithm>
#include <cmath>

#include "hparam/strategy.hpp"
#include "hparam/text.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb::hparam {
namespace {

std::size_t survivors(std::size_t n, double eta) {
  return std::max<std::size_t>(1, static_cast<std::size_t>(std::floor(double(n) / eta)));
}

}  // namespace

std::vector<double> halving_rungs(const Halving& halving, double epochs) {
  std::vector<double> rungs;
  for (double r = halving.min_epochs; r < epochs - 1e-9; r *= halving.eta) rungs.push_back(r);
  return rungs;
}

bool survives_rung(double value, const std::vector<double>& rung_values, double eta, Goal goal) {
  std::size_t strictly_better = 0;
  for (double v : rung_values) strictly_better += better(v, value, goal) ? 1 : 0;
  return !std::isnan(value) && strictly_better < survivors(rung_values.size(), eta);
}

std::vector<double> HalvingPolicy::rungs(double budget_epochs) const {
  return halving_rungs(halving_, budget_epochs);
}

std::vector<double> HalvingPolicy::segment_targets(double budget_epochs) const {
  std::vector<double> targets = rungs(budget_epochs);
  targets.push_back(budget_epochs);
  return targets;
}

std::vector<HalvingPolicy::Cut> HalvingPolicy::cuts_at_rung(std::vector<RungValue> values,
                                                            double rung) const {
  std::stable_sort(values.begin(), values.end(), [&](const RungValue& a, const RungValue& b) {
    return better(a.value, b.value, goal_);
  });
  const std::size_t keep = survivors(values.size(), halving_.eta);
  std::vector<Cut> cuts;
  for (std::size_t i = keep; i < values.size(); ++i) {
    cuts.push_back({values[i].trial_id, values[i].value,
                    "pruned at epoch " + format_number(rung) + ": " + objective_ + " " +
                        fixed(values[i].value, 4) + " ranked " + std::to_string(i + 1) + " of " +
                        std::to_string(values.size()) + ", the best " + std::to_string(keep) +
                        " go on"});
  }
  return cuts;
}

std::optional<std::string> HalvingPolicy::async_stop(double epoch, double value,
                                                     const std::vector<double>& rung_values) const {
  if (survives_rung(value, rung_values, halving_.eta, goal_)) return std::nullopt;
  return "pruned at epoch " + fixed(epoch, 2) + ": " + objective_ + " " + fixed(value, 4) +
         " not in the top 1/" + format_number(halving_.eta) + " of " +
         std::to_string(rung_values.size()) + " at this rung";
}

}  // namespace lb::hparam
