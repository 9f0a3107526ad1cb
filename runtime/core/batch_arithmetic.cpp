#include "runtime/core/batch_arithmetic.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "runtime/core/errors.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb {

std::int64_t per_rank_batch(std::int64_t global_batch, std::int64_t ranks) {
  if (ranks < 1 || global_batch % ranks != 0) {
    throw SpecError("train.global_batch", "expected a multiple of the " + std::to_string(ranks) +
                                              " ranks, got " + std::to_string(global_batch));
  }
  return global_batch / ranks;
}

std::int64_t steps_per_epoch(std::int64_t images, std::int64_t global_batch) {
  return global_batch > 0 ? images / global_batch : 0;
}

std::int64_t epochs_to_steps(double epochs, std::int64_t steps_per_epoch) {
  // Doubles hold integers exactly up to 2^53: beyond it a step count is a guess.
  constexpr double kMaxSteps = 9007199254740992.0;
  const double steps = std::round(epochs * double(steps_per_epoch));
  if (!(steps <= kMaxSteps)) {
    throw SpecError("train.epochs", "expected at most 2^53 steps in total, got " +
                                        format_number(epochs) + " epochs of " +
                                        std::to_string(steps_per_epoch) + " steps");
  }
  return std::max<std::int64_t>(1, std::int64_t(steps));
}

}  // namespace lb
