#pragma once
// --resume: what a checkpoint's header says about the run it came from,
// checked against the run that resumes it before anything is used. A
// checkpoint's checksum proves it was not torn, not that a person or a
// script did not write it, so every field is range-checked; and the resumed
// run must train the same experiment, so its spec may differ from the
// checkpoint's only in keys that do not change what is trained
// (experiments/SPEC.md lists them).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/spec.hpp"
#include "runtime/optim/loss_scaler.hpp"
#include "runtime/train/checkpoint.hpp"
#include "runtime/train/noise_scale.hpp"

namespace lb {

struct ResumePoint {
  std::int64_t step = 0;
  LossScaler::State scaler{1, 0, 0};
  // The run's totals so far, so that a resumed run's summary counts the
  // whole run (absent in checkpoints written before they were kept: 0).
  double train_time_s = 0, data_wait_s = 0;
  std::int64_t images_trained = 0;
  // Rank 0's input workers: their time preparing batches, and the images
  // they prepared (input_images_per_s in summary.json).
  double data_prepare_s = 0;
  std::int64_t images_prepared = 0;
  std::vector<double> recent_losses;  // at most train.log_every_steps, the latest last
  // The gradient noise scale's averages and the step of their last
  // measurement (-1: none yet), so that a resumed run continues them.
  NoiseScaleEstimator::State noise_scale;
  std::int64_t noise_scale_step = -1;
  // The step at which train.stop_at was reached: a resumed run trains no further.
  std::optional<std::int64_t> target_step;
  // train.init_from's record (path, file, step, weights_sha256) of the run
  // this one started from; null without. Kept so that a resumed run's
  // summary names its source without reading it again.
  nlohmann::json init_from;
};

// Throws CheckpointError naming `file` and the header field for a value out
// of range, and SpecError naming the first key of `spec` that differs from
// the spec recorded in the checkpoint where it may not (or train.epochs when
// the run would end before the checkpoint's step).
ResumePoint check_resume(const LoadedCheckpoint& loaded, const Spec& spec, std::int64_t total_steps,
                         const std::string& file);

// Keys (dotted, as in SPEC.md) whose value may change on --resume.
bool may_change_on_resume(std::string_view key);

// The meta object a checkpoint records for check_resume.
nlohmann::json resume_meta(const Spec& spec, int ranks, const LossScaler::State& scaler,
                           const ResumePoint& totals);

}  // namespace lb
