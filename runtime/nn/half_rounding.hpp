#pragma once
// round_to_half over the compute threads, for activations and gradients: in
// fp16 mode every layer output and input gradient gets one rounding pass, and
// on one thread those passes cost as much again as the rest of the mode's
// overhead (bench/results/2026-12-01-train-step.md). lb_core's round_to_half stays serial
// because the communication thread calls it beside the compute threads.
#include <span>

namespace lb {

void round_to_half_parallel(std::span<float> values);

}  // namespace lb
