#include <memory>
#include <stdexcept>

#include "runtime/optim/lars.hpp"
#include "runtime/optim/optimizer.hpp"
#include "runtime/optim/sgd.hpp"

namespace lb {

std::unique_ptr<Optimizer> make_optimizer(const OptimizerSpec& spec) {
  switch (spec.name) {
    case OptimizerKind::sgd:
      return std::make_unique<SgdOptimizer>(spec);
    case OptimizerKind::lars:
      return std::make_unique<LarsOptimizer>(spec);
  }
  throw std::logic_error("make_optimizer: an OptimizerKind outside its table");
}

}  // namespace lb
