#pragma once
// Successive halving inside a stage (its "halving" object, SPEC.md#stages):
// where the rungs are, and who goes on at a rung. The runner asks this
// object and only carries out its answers, so the whole policy is here and
// testable without running a trial.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hparam/store.hpp"
#include "hparam/sweep_file.hpp"

namespace lb::hparam {

// Successive-halving rungs of a stage: min_epochs * eta^k, below `epochs`.
std::vector<double> halving_rungs(const Halving& halving, double epochs);

// The halving decision at a rung, given every value recorded there so far
// (this trial's included): go on iff the value is among the best
// max(1, floor(n / eta)) of them. NaN counts as worst.
bool survives_rung(double value, const std::vector<double>& rung_values, double eta, Goal goal);

class HalvingPolicy {
 public:
  HalvingPolicy(const Halving& halving, Goal goal, std::string objective)
      : halving_(halving), goal_(goal), objective_(std::move(objective)) {}

  bool synchronous() const { return halving_.synchronous; }
  // Every trial of the stage evaluates at least this often, so each rung has a value.
  double eval_every_epochs() const { return halving_.min_epochs; }
  std::vector<double> rungs(double budget_epochs) const;

  // Synchronous: the epochs the stage's live trials run to, one segment at a
  // time (each rung below the budget, where they wait for each other, then the budget).
  std::vector<double> segment_targets(double budget_epochs) const;

  // Synchronous: at `rung`, given the value of every trial that reached it,
  // the ones that stop there: all but the best max(1, floor(n / eta)).
  struct Cut {
    std::int64_t trial_id = 0;
    double value = 0;
    std::string reason;  // "pruned at epoch 1: ... ranked 5 of 9, the best 3 go on"
  };
  std::vector<Cut> cuts_at_rung(std::vector<RungValue> values, double rung) const;

  // Asynchronous (ASHA): a trial evaluated `value` at `epoch`, the first
  // evaluation at or past `rung`; `rung_values` holds every value recorded
  // at that rung so far, its own included. The reason it stops there, or
  // nothing when it goes on.
  std::optional<std::string> async_stop(double epoch, double value,
                                        const std::vector<double>& rung_values) const;

 private:
  Halving halving_;
  Goal goal_;
  std::string objective_;
};

}  // namespace lb::hparam
