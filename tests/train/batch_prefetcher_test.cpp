#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>

#include "runtime/core/errors.hpp"
#include "runtime/data/batch_loader.hpp"
#include "runtime/data/datasets.hpp"
#include "runtime/train/batch_prefetcher.hpp"

namespace lb {
namespace {

ImageSet small_set() {
  DataSpec spec;
  spec.dataset = "synthetic";
  spec.synthetic.train_images = 200;
  return load_dataset(spec, true, 5);
}

// Whatever the number of workers and the depth, step s gets exactly the batch
// a serial loop would give it.
TEST(BatchPrefetcher, DeliversTheSerialSequenceForAnyWorkersAndDepth) {
  const ImageSet set = small_set();
  const BatchLoader loader(set, {32, true, true, AugmentSpec{}, 9});
  const std::int64_t first = 3, end = 3 + 4 * loader.batches_per_epoch();
  for (int workers : {1, 3}) {
    for (int depth : {1, 2, 5}) {
      BatchPrefetcher prefetcher(loader, first, end, depth, workers);
      Batch expected;
      for (std::int64_t step = first; step < end; ++step) {
        double waited = -1;
        const Batch& got = prefetcher.next(step, waited);
        loader.fill(step / loader.batches_per_epoch(), step % loader.batches_per_epoch(), expected);
        ASSERT_EQ(got.labels, expected.labels) << "step " << step;
        ASSERT_EQ(std::vector<float>(got.images.span().begin(), got.images.span().end()),
                  std::vector<float>(expected.images.span().begin(), expected.images.span().end()));
        EXPECT_GE(waited, 0.0);
      }
    }
  }
}

TEST(BatchPrefetcher, StopsCleanlyBeforeTheEnd) {
  const ImageSet set = small_set();
  const BatchLoader loader(set, {32, true, true, AugmentSpec{}, 9});
  BatchPrefetcher prefetcher(loader, 0, 1000, 4, 2);
  double waited = 0;
  prefetcher.next(0, waited);  // the destructor must not hang with workers blocked
}

// A source whose sample 70 cannot be read, as a corrupt JPEG.
class FailingSource : public SampleSource {
 public:
  std::int64_t count() const override { return 100; }
  SampleShape shape() const override { return {1, 2, 2}; }
  int classes() const override { return 2; }
  std::int32_t write_sample(std::int64_t sample, std::optional<std::uint64_t>, float* dst) const override {
    if (sample == 70) throw DataError("bad.jpg", "corrupt");
    std::fill(dst, dst + 4, float(sample));
    return 0;
  }
};

// What a worker throws reaches the trainer's thread at that step, not before
// (no exception escapes a thread, no earlier batch is lost).
TEST(BatchPrefetcher, RethrowsAWorkersErrorAtItsStep) {
  LoaderOptions options;
  options.global_batch = 10;
  options.shuffle = false;
  const BatchLoader loader(std::make_shared<FailingSource>(), options);
  BatchPrefetcher prefetcher(loader, 0, 10, 3, 2);
  double waited = 0;
  for (std::int64_t step = 0; step < 7; ++step) {
    EXPECT_EQ(prefetcher.next(step, waited).images[0], float(step * 10));
  }
  EXPECT_THROW(prefetcher.next(7, waited), DataError);
}

}  // namespace
}  // namespace lb
