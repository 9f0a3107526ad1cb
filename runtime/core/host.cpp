#include "runtime/core/host.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

namespace lb {
namespace {

// cgroup v2's memory.max: a number, or "max" when unlimited.
std::uint64_t cgroup_limit_bytes() {
  std::ifstream in("/sys/fs/cgroup/memory.max");
  std::string text;
  if (!(in >> text) || text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    return UINT64_MAX;
  }
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    return UINT64_MAX;
  }
}

}  // namespace

int hardware_threads() { return int(std::max(1u, std::thread::hardware_concurrency())); }

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "host";
  return name;
}

int cpus_allowed() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return hardware_threads();
  return std::max(1, CPU_COUNT(&set));
}

std::uint64_t usable_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  const std::uint64_t physical =
      pages > 0 && page > 0 ? std::uint64_t(pages) * std::uint64_t(page) : UINT64_MAX;
  return std::min(physical, cgroup_limit_bytes());
}

std::string format_bytes(double bytes) {
  char text[32];
  if (bytes >= double(1ull << 30)) {
    std::snprintf(text, sizeof text, "%.1f GiB", bytes / double(1ull << 30));
  } else {
    std::snprintf(text, sizeof text, "%.1f MiB", bytes / double(1ull << 20));
  }
  return text;
}

std::int64_t last_level_cache_bytes() {
  for (const int name : {_SC_LEVEL3_CACHE_SIZE, _SC_LEVEL2_CACHE_SIZE}) {
    const long bytes = sysconf(name);
    if (bytes > 0) return bytes;
  }
  return 0;
}

}  // namespace lb
