// What the host offers: the cores this process may run on.
#include "runtime/core/host.hpp"

#include <gtest/gtest.h>
#include <sched.h>

namespace lb {
namespace {

// The affinity mask decides: one core when the process is bound to it, all
// of them otherwise (whatever the launcher did, it is within [1, all]).
TEST(Host, CpusAllowedFollowsTheAffinityMask) {
  const int all = hardware_threads();
  EXPECT_GE(cpus_allowed(), 1);
  EXPECT_LE(cpus_allowed(), all);
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  int first = 0;
  while (first < CPU_SETSIZE && !CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  EXPECT_EQ(cpus_allowed(), 1);
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
}

}  // namespace
}  // namespace lb
