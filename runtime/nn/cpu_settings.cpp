#include "runtime/nn/cpu_settings.hpp"

#include <omp.h>

namespace lb::cpu {
namespace {
ConvAlgorithm g_conv_algorithm = ConvAlgorithm::winograd;
}  // namespace

void set_conv_algorithm(ConvAlgorithm algorithm) { g_conv_algorithm = algorithm; }
ConvAlgorithm conv_algorithm() { return g_conv_algorithm; }

void set_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

int threads() { return omp_get_max_threads(); }

}  // namespace lb::cpu
