#include <memory>

#include "runtime/core/errors.hpp"
#include "runtime/optim/lars.hpp"
#include "runtime/optim/optimizer.hpp"
#include "runtime/optim/sgd.hpp"

namespace lb {

std::unique_ptr<Optimizer> make_optimizer(const OptimizerSpec& spec) {
  if (spec.name == "sgd") return std::make_unique<SgdOptimizer>(spec);
  if (spec.name == "lars") return std::make_unique<LarsOptimizer>(spec);
  // parse_spec validates the name; this guards specs built in code.
  throw SpecError("optimizer.name", "unknown optimizer '" + spec.name + "' (sgd | lars)");
}

}  // namespace lb
