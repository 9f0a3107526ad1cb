#include "runtime/core/allocator.hpp"

#include <malloc.h>

namespace lb {

bool keep_freed_memory() {
  constexpr int kOneGiB = 1 << 30;
  // Blocks below the mmap threshold come from the heap, and the heap is not
  // trimmed until this much is free at its top.
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, kOneGiB) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, kOneGiB) == 1;
  return mmap_ok && trim_ok;
}

}  // namespace lb
