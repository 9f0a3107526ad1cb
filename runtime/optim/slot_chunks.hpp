#pragma once
// The optimizers' passes over memory, spread over the compute threads: every
// slot's elements are cut into fixed-size chunks, slot by slot, and the chunks
// of all slots are shared out at once, so small tensors (biases, BatchNorm)
// and large ones keep both threads busy alike. Chunk boundaries do not depend
// on the thread count, so results do not either.
#include <cstddef>
#include <span>
#include <vector>

#include "runtime/optim/optimizer.hpp"

namespace lb {

struct SlotChunk {
  std::size_t slot;   // index into the slots
  std::size_t begin;  // element range [begin, end) of that slot
  std::size_t end;
};

// The chunks of every slot for which keep(slot) holds, in slot order.
template <class Keep>
std::vector<SlotChunk> slot_chunks(std::span<const OptimSlot> slots, std::size_t chunk, Keep keep) {
  std::vector<SlotChunk> chunks;
  for (std::size_t s = 0; s < slots.size(); ++s) {
    if (!keep(slots[s])) continue;
    const std::size_t n = slots[s].weight.size();
    for (std::size_t begin = 0; begin < n; begin += chunk) {
      chunks.push_back({s, begin, begin + chunk < n ? begin + chunk : n});
    }
  }
  return chunks;
}

inline std::vector<SlotChunk> slot_chunks(std::span<const OptimSlot> slots, std::size_t chunk) {
  return slot_chunks(slots, chunk, [](const OptimSlot&) { return true; });
}

// fn(i, chunks[i]) for every chunk, on all threads when there is enough work
// (below ~64 Ki elements a parallel region costs more than it saves).
template <class Fn>
void for_each_chunk(const std::vector<SlotChunk>& chunks, Fn fn) {
  std::size_t elements = 0;
  for (const SlotChunk& c : chunks) elements += c.end - c.begin;
  const auto count = static_cast<std::ptrdiff_t>(chunks.size());
#pragma omp parallel for schedule(static) if (elements >= (std::size_t{1} << 16))
  for (std::ptrdiff_t i = 0; i < count; ++i) fn(static_cast<std::size_t>(i), chunks[i]);
}

}  // namespace lb
