#pragma once
// The order statistic behind the straggler term, apart from the simulation
// (no SimGrid): the calibration reads measured waits through it too.

namespace lb::sim {

// E[max of n independent standard normal variables]: 0 for n = 1, 0.564 for
// 2, 1.029 for 4, 3.241 for 1,000. With a rank's compute varying by a
// relative std cv between ranks, the slowest of n ranks takes about
// (1 + cv * expected_max_normal(n)) times the typical compute time.
double expected_max_normal(int n);

}  // namespace lb::sim
