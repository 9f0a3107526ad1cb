#include "runtime/train/batch_prefetcher.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <stdexcept>

#include "runtime/core/errors.hpp"
#include "runtime/data/batch_loader.hpp"
#include "runtime/data/datasets.hpp"

namespace lb {
namespace {

ImageSet small_set() {
  DataSpec spec;
  spec.dataset = Dataset::synthetic;
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

// Issue 17, item 5: an exception in a worker (here: a step the source cannot
// fill) reaches the trainer's thread at that step, after every earlier step,
// instead of terminating the program.
TEST(BatchPrefetcher, WorkerExceptionIsRethrownInTheTrainersThreadAtItsStep) {
  for (int workers : {1, 4}) {
    BatchPrefetcher prefetcher(
        [](std::int64_t epoch, std::int64_t index, Batch& out) {
          if (epoch * 4 + index == 6) throw std::runtime_error("cannot read step 6");
          out.labels.assign(1, std::int32_t(epoch * 4 + index));
        },
        4, 0, 20, 3, workers);
    double waited = 0;
    for (std::int64_t step = 0; step < 6; ++step) {
      EXPECT_EQ(prefetcher.next(step, waited).labels.at(0), step);
    }
    try {
      prefetcher.next(6, waited);
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "cannot read step 6");
    }
  }  // and the destructor stops the other workers
}

TEST(BatchPrefetcher, NegativeFirstStepIsRejectedBeforeAnyThreadStarts) {
  const ImageSet set = small_set();
  const BatchLoader loader(set, {32, true, true, AugmentSpec{}, 9});
  EXPECT_THROW(BatchPrefetcher(loader, -5, 10, 4, 2), std::invalid_argument);
}

#if defined(__SANITIZE_ADDRESS__)
#define LB_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LB_UNDER_ASAN 1
#endif
#endif

// Issue 17, item 4: when threads cannot be created (here: an address-space
// limit that leaves no room for their stacks), the constructor throws an
// error naming data.workers with no thread left joinable, instead of
// std::terminate ("terminate called without an active exception").
TEST(BatchPrefetcherDeathTest, ThreadCreationFailureIsAnErrorNotATerminate) {
#ifdef LB_UNDER_ASAN
  GTEST_SKIP() << "SKIPPED: an address-space limit cannot coexist with AddressSanitizer's shadow";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        BatchPrefetcher::FillStep fill = [](std::int64_t, std::int64_t, Batch&) {};
        rlimit limit{};
        ::getrlimit(RLIMIT_AS, &limit);
        // Room for this process as it is plus a few stacks, not 100,000.
        std::FILE* statm = std::fopen("/proc/self/statm", "r");
        unsigned long pages = 0;
        if (statm == nullptr || std::fscanf(statm, "%lu", &pages) != 1) std::_Exit(3);
        std::fclose(statm);
        limit.rlim_cur = pages * ::sysconf(_SC_PAGESIZE) + (std::size_t(256) << 20);
        ::setrlimit(RLIMIT_AS, &limit);
        try {
          BatchPrefetcher prefetcher(fill, 4, 0, 100, 4, 100'000);
        } catch (const std::runtime_error& e) {
          const bool named = std::string(e.what()).find("data.workers") != std::string::npos;
          std::_Exit(named ? 42 : 4);
        }
        std::_Exit(5);
      },
      ::testing::ExitedWithCode(42), "");
#endif
}

// A source whose sample 70 cannot be read, as a corrupt JPEG.
class FailingSource : public SampleSource {
 public:
  std::int64_t count() const override { return 100; }
  SampleShape shape() const override { return {1, 2, 2}; }
  int classes() const override { return 2; }
  std::int32_t write_sample(std::int64_t sample, std::optional<std::uint64_t>,
                            float* dst) const override {
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
