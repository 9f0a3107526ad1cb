#pragma once
// Strategies: which configurations a stage tries (grid or quasi-random
// Halton points in a box, narrowed around the previous stage's best) and how
// objectives compare. Successive halving is in halving.hpp.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "hparam/sweep_file.hpp"

namespace lb::hparam {

// A configuration: {"spec.key": value, ...} over the search space's keys.
using Params = nlohmann::json;

// Stage `stage`'s configurations. `previous_best` holds the previous stage's
// configurations best first (ignored by the first stage); a fine stage
// searches a box around each of its top_k, a final stage takes them as they are.
// Deterministic for a given sweep seed.
std::vector<Params> stage_configurations(const SweepConfig& sweep, std::size_t stage,
                                         const std::vector<Params>& previous_best);

// Box half-width (in unit coordinates) of search stage `stage`: 0.5 for the
// first (the whole space), then shrunk by each later search stage's `narrow`.
double box_half_width(const SweepConfig& sweep, std::size_t stage);

// The van der Corput radical inverse of `index` in `base` (Halton coordinate).
double radical_inverse(std::uint64_t index, unsigned base);

// True when objective a is better than b (NaN is never better).
bool better(double a, double b, Goal goal);

}  // namespace lb::hparam
