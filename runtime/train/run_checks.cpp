#include "runtime/train/run_checks.hpp"

#include <stdexcept>
#include <string>

#include "runtime/core/errors.hpp"
#include "runtime/core/host.hpp"
#include "runtime/core/json_reader.hpp"
#include "runtime/data/datasets.hpp"

namespace lb {
namespace {

// fp32 master, gradient, momentum, the stored (fp16 or fp32) value, and slack.
constexpr double kBytesPerParam = 20;
// An activation is kept for backward, and backward makes its gradient.
constexpr double kBytesPerActivation = 3 * sizeof(float);

void check_threads(const char* key, int value) {
  const int limit = kThreadsPerHardwareThread * hardware_threads();
  if (value <= limit) return;
  throw SpecError(key, "expected at most " + std::to_string(limit) + " (" +
                           std::to_string(kThreadsPerHardwareThread) +
                           " per hardware thread; this machine has " +
                           std::to_string(hardware_threads()) + "), got " + std::to_string(value));
}

void check_fits(const char* key, const std::string& what, double bytes) {
  const double usable = double(usable_memory_bytes());
  if (bytes <= usable) return;
  throw SpecError(key, what + " need about " + format_bytes(bytes) + ", more than this machine's " +
                           format_bytes(usable));
}

std::string shape_text(const SampleShape& set) {
  return std::to_string(set.channels) + "x" + std::to_string(set.height) + "x" +
         std::to_string(set.width);
}

}  // namespace

void check_host_limits(const Spec& spec) {
  check_threads("train.threads", spec.train.threads);
  check_threads("data.workers", spec.data.workers);
}

void check_data_memory(const Spec& spec) {
  if (spec.data.dataset != Dataset::synthetic) return;  // read from files of bounded size
  const SyntheticSpec& s = spec.data.synthetic;
  const double image = double(s.channels) * s.height * s.width * sizeof(float);
  const double images = double(s.train_images) + double(s.test_images) + double(s.classes);
  check_fits("data.synthetic",
             format_number(images) + " synthetic images of " + std::to_string(s.channels) + "x" +
                 std::to_string(s.height) + "x" + std::to_string(s.width),
             images * image);
}

void check_training_memory(const Spec& spec, const Model& model, std::int64_t per_rank_batch) {
  double activations = 0;
  for (const LayerInfo& row : model.layer_table(1)) {
    double elements = 1;
    for (std::int64_t d : row.output_shape) elements *= double(d);
    activations += elements;
  }
  const double params = double(model.param_count());
  check_fits("model.name",
             "model " + model.name + "'s " + format_number(params) +
                 " parameters with their optimizer state",
             params * kBytesPerParam);
  check_fits("train.global_batch",
             "the activations of " + std::to_string(per_rank_batch) + " images per rank",
             params * kBytesPerParam + activations * kBytesPerActivation * double(per_rank_batch));
  const double image = double(numel(model.input_chw)) * sizeof(float);
  check_fits("data.prefetch",
             std::to_string(spec.data.prefetch) + " prefetched batches of " +
                 std::to_string(per_rank_batch) + " images",
             double(spec.data.prefetch) * double(per_rank_batch) * image);
}

void check_same_shape(const SampleShape& train, const SampleShape& test, const DataSpec& data) {
  if (train.channels == test.channels && train.height == test.height && train.width == test.width) {
    return;
  }
  throw DataError(dataset_source(data, false),
                  "images are " + shape_text(test) + ", the training images " + shape_text(train));
}

void check_some_step_applied(std::int64_t step, std::int64_t total_steps, std::int64_t skipped,
                             double loss_scale) {
  if (step < total_steps || step == 0 || skipped < step) return;
  throw std::runtime_error("nothing was trained: every one of the " + std::to_string(step) +
                           " steps had inf/NaN gradients and was skipped (loss scale " +
                           format_number(loss_scale) +
                           "); lower train.loss_scale.init, or check the data and learning rate");
}

}  // namespace lb
