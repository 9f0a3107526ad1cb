#pragma once
// What this machine offers, for checks that refuse a spec it cannot run
// (thread counts, memory) before anything is allocated or written.
#include <cstdint>
#include <string>

namespace lb {

// Hardware threads (at least 1).
int hardware_threads();

// This machine's name (gethostname), "host" when it has none.
std::string host_name();

// Hardware threads this process may run on (its CPU affinity mask; the
// launcher's binding): hardware_threads() when the mask cannot be read.
int cpus_allowed();

// Memory this process may use: physical memory, or the cgroup's limit when
// that is lower.
std::uint64_t usable_memory_bytes();

// The last-level cache one core sees (L3, else L2), in bytes; 0 when the
// system does not say.
std::int64_t last_level_cache_bytes();

// "1.5 GiB": a byte count for messages.
std::string format_bytes(double bytes);

}  // namespace lb
