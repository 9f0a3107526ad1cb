// The optimizer kernels' slot tables, built on the host (runs on every machine).
#include "runtime/backends/cuda/slot_batches.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "runtime/core/elementwise_math.hpp"

namespace lb::cuda {
namespace {

// Host vectors stand in for device memory: only the pointers are recorded.
struct Slots {
  std::vector<std::vector<float>> storage;
  std::vector<OptimSlot> slots;
  void add(std::size_t size, bool decay, bool adapt) {
    for (int i = 0; i < 3; ++i) storage.emplace_back(size);
    auto& w = storage[storage.size() - 3];
    auto& g = storage[storage.size() - 2];
    auto& v = storage[storage.size() - 1];
    slots.push_back(OptimSlot{w, g, v, decay, adapt});
  }
};

TEST(SlotBatches, NumbersNormBlocksOfAdaptiveSlotsAndUpdateChunksOfAll) {
  Slots s;
  s.storage.reserve(9);
  s.add(10000, true, true);  // 3 norm blocks, 2 update chunks
  s.add(64, false, false);   // bias: no norm blocks, 1 chunk
  s.add(4096, true, true);   // 1 norm block, 1 chunk
  const SlotBatches b = make_slot_batches(s.slots, 5e-4, true);
  ASSERT_EQ(b.batches.size(), 1u);
  const SlotBatch& batch = b.batches[0];
  EXPECT_EQ(batch.count, 3);
  EXPECT_EQ(batch.norm_blocks, 4);
  EXPECT_EQ(batch.update_chunks, 4);
  EXPECT_EQ(batch.slots[0].norm_blocks, 3);
  EXPECT_EQ(batch.slots[1].norm_blocks, 0);
  EXPECT_EQ(batch.slots[1].first_norm_block, 3);
  EXPECT_EQ(batch.slots[2].first_norm_block, 3);
  EXPECT_EQ(batch.slots[2].first_update_chunk, 3);
  EXPECT_EQ(batch.slots[1].weight_decay, 0.0f);
  EXPECT_EQ(batch.slots[0].weight_decay, 5e-4f);
  EXPECT_EQ(batch.slots[0].trust_weight_decay, 5e-4);
  EXPECT_EQ(b.norm_blocks, 4u);
}

TEST(SlotBatches, SgdPlansNoNormBlocks) {
  Slots s;
  s.storage.reserve(3);
  s.add(10000, true, true);
  const SlotBatches b = make_slot_batches(s.slots, 0.1, false);
  EXPECT_EQ(b.batches[0].norm_blocks, 0);
  EXPECT_EQ(b.norm_blocks, 0u);
}

TEST(SlotBatches, ManySlotsSplitIntoLaunchesWithGlobalScratchOffsets) {
  Slots s;
  const int count = kMaxSlotsPerLaunch + 10;
  s.storage.reserve(3 * count);
  for (int i = 0; i < count; ++i) s.add(5000, true, true);  // 2 norm blocks each
  const SlotBatches b = make_slot_batches(s.slots, 0.0, true);
  ASSERT_EQ(b.batches.size(), 2u);
  EXPECT_EQ(b.batches[0].count, kMaxSlotsPerLaunch);
  EXPECT_EQ(b.batches[1].count, 10);
  EXPECT_EQ(b.first_slot[1], std::size_t(kMaxSlotsPerLaunch));
  EXPECT_EQ(b.first_norm_block[1], std::size_t(2 * kMaxSlotsPerLaunch));
  EXPECT_EQ(b.batches[1].slots[0].first_norm_block, 0);  // per batch
  EXPECT_EQ(b.norm_blocks, std::size_t(2 * count));
}

TEST(SlotBatches, MismatchedSpansAreRefused) {
  std::vector<float> w(10), g(9), v(10);
  const OptimSlot slots[] = {OptimSlot{w, g, v, true, true}};
  EXPECT_THROW(make_slot_batches(slots, 0.0, true), std::invalid_argument);
}

TEST(SlotBatches, KeysChangeWhenTheSlotsDo) {
  Slots s;
  s.storage.reserve(6);
  s.add(10, true, true);
  const auto before = slot_keys(s.slots);
  EXPECT_EQ(before, slot_keys(s.slots));
  s.slots[0].adapt = false;
  EXPECT_NE(before, slot_keys(s.slots));
}

}  // namespace
}  // namespace lb::cuda
