// Issue 17, items 3, 13 and 15: runs this machine cannot carry out are
// refused with a spec or data error before anything is allocated, and a run
// that applied no step fails instead of reporting itself finished.
#include "runtime/train/run_checks.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>

#include "runtime/core/errors.hpp"
#include "runtime/core/host.hpp"

namespace lb {
namespace {

std::string spec_failure(const std::function<void()>& check) {
  try {
    check();
  } catch (const SpecError& e) {
    return e.path();
  }
  return "accepted";
}

TEST(RunChecks, ThreadsBeyondFourPerHardwareThreadAreASpecError) {
  Spec spec;
  spec.train.threads = kThreadsPerHardwareThread * hardware_threads();
  EXPECT_EQ(spec_failure([&] { check_host_limits(spec); }), "accepted");
  spec.train.threads += 1;
  EXPECT_EQ(spec_failure([&] { check_host_limits(spec); }), "train.threads");
  spec.train.threads = 0;  // all cores
  spec.data.workers = 100'000;
  EXPECT_EQ(spec_failure([&] { check_host_limits(spec); }), "data.workers");
}

TEST(RunChecks, SyntheticDataLargerThanMemoryIsASpecError) {
  Spec spec;
  spec.data.dataset = Dataset::synthetic;
  EXPECT_EQ(spec_failure([&] { check_data_memory(spec); }), "accepted");
  spec.data.synthetic.height = spec.data.synthetic.width = 65535;
  spec.data.synthetic.channels = 64;
  EXPECT_EQ(spec_failure([&] { check_data_memory(spec); }), "data.synthetic");
  spec.data.dataset =
      Dataset::fashion_mnist;  // files of bounded size; the synthetic keys are unused
  EXPECT_EQ(spec_failure([&] { check_data_memory(spec); }), "accepted");
}

TEST(RunChecks, ModelActivationsAndPrefetchBeyondMemoryAreSpecErrors) {
  Spec spec;
  const auto model = make_model("lenet_bn", {1, 28, 28}, 10);
  EXPECT_EQ(spec_failure([&] { check_training_memory(spec, *model, 256); }), "accepted");
  EXPECT_EQ(spec_failure([&] { check_training_memory(spec, *model, std::int64_t(1) << 36); }),
            "train.global_batch");
  // 1024 queued batches of 28x28 images outweigh lenet's activations ~9 to 1:
  // at a batch where the queue needs 1.5x the memory, the activations fit.
  spec.data.prefetch = 1024;
  const double queue_per_image = 1024.0 * 28 * 28 * sizeof(float);
  const auto batch = std::int64_t(1.5 * double(usable_memory_bytes()) / queue_per_image);
  EXPECT_EQ(spec_failure([&] { check_training_memory(spec, *model, batch); }), "data.prefetch");
  const auto wide = make_model("lenet_bn", {1, 16384, 16384}, 10);  // a huge fully connected layer
  EXPECT_EQ(spec_failure([&] { check_training_memory(Spec{}, *wide, 1); }), "model.name");
}

TEST(RunChecks, TestImagesOfAnotherShapeAreADataErrorNamingTheTestSet) {
  const SampleShape train{1, 28, 28}, test{1, 32, 32};
  DataSpec data;
  data.dir = "/data";
  try {
    check_same_shape(train, test, data);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_STREQ(e.what(),
                 "data error: /data/t10k-images-idx3-ubyte.gz: images are 1x32x32, the training "
                 "images 1x28x28");
  }
  check_same_shape(train, train, data);
}

TEST(RunChecks, AFinishedRunThatSkippedEveryStepIsARuntimeError) {
  EXPECT_NO_THROW(check_some_step_applied(24, 24, 23, 1024));  // one step applied
  EXPECT_NO_THROW(check_some_step_applied(10, 24, 10, 1024));  // not finished (--max-steps)
  try {
    check_some_step_applied(24, 24, 24, 1.8446744073709552e19);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("nothing was trained: every one of the 24 steps", 0), 0u)
        << e.what();
  }
}

}  // namespace
}  // namespace lb
