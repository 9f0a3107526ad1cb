#pragma once
// Process-wide settings of the CPU layers, free of oneDNN so that the
// trainer and the apps can set them without seeing the library: how many
// threads the layers (oneDNN and our own OpenMP loops) use, and how
// convolutions are computed.
#include "runtime/core/spec_choices.hpp"  // ConvAlgorithm

namespace lb::cpu {

// How convolutions are computed. `winograd` uses oneDNN's Winograd F(4x4, 3x3)
// kernels wherever oneDNN implements them (3x3, stride 1, for forward,
// backward-data and backward-weights alike) and direct convolution elsewhere;
// it does about 2.25x fewer multiplications on 3x3 layers and agrees with
// direct convolution to a relative RMS of ~1e-6 in fp32. `automatic` lets
// oneDNN's own heuristic choose per primitive; `direct` is what PyTorch's CPU
// convolutions use. Read when a layer builds its primitives: set it first.
using lb::ConvAlgorithm;
void set_conv_algorithm(ConvAlgorithm algorithm);
ConvAlgorithm conv_algorithm();

// Sets the number of CPU threads oneDNN and our own loops use (0 = all cores).
void set_threads(int threads);
int threads();

}  // namespace lb::cpu
