#pragma once
// The device side of training. The Trainer (trainer.cpp) owns what is the
// same on every device: data, the learning-rate schedule, the loss scaler,
// the training loop, logs, traces, profile.json, checkpoints and the
// summary. A StepEngine owns the model's weights on its device and runs
// forward, loss, backward, the gradient all-reduce across ranks and the
// optimizer: CpuStepEngine (cpu_step_engine.hpp) on oneDNN, and on CUDA
// builds CudaStepEngine (runtime/backends/cuda/train) on cuDNN, cuBLAS and
// NCCL. make_step_engine (device_engines.hpp) picks one by the spec's
// `device`.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/spec.hpp"
#include "runtime/data/batch_loader.hpp"
#include "runtime/models/model.hpp"
#include "runtime/optim/loss_scaler.hpp"
#include "runtime/trace/trace_writer.hpp"
#include "runtime/train/noise_scale.hpp"
#include "runtime/train/step_profile.hpp"
#include "runtime/train/training_state.hpp"

namespace lb {

class Communicator;

// What an engine is built from. `model` is the zoo model after init() with
// the spec's seed: every engine starts from its weights, so every device
// starts from the same bits. It must outlive the engine.
struct EngineSetup {
  const Spec& spec;
  Model& model;
  Communicator* world = nullptr;  // the ranks training together; nullptr = one process
  std::int64_t per_rank_batch = 0;
};

// Where an engine reports a step's timings: per-layer and per-phase trace
// events and the profile (profile.json). Owned by the Trainer.
struct StepSinks {
  TraceWriter& trace;
  StepProfile& profile;
};

struct StepArgs {
  std::int64_t step = 0;  // 0-based, over the whole run
  float lr = 0;
  bool trace_layers = false;  // write per-layer trace events for this step
  // Gives the scale the gradients carry, and is told whether they came out
  // finite; a step it refuses is dropped (identically on every rank).
  LossScaler& scaler;
  // The next step's batch when it is already prepared (else nullptr): a GPU
  // copies it to the device while this step computes. It must stay
  // unchanged until that next train_step.
  const Batch* next = nullptr;
  // Also measure the gradient's squared norm at two batch sizes (the
  // gradient noise scale's input; see noise_sample()).
  bool measure_noise = false;
};

struct EvalOutcome {
  float mean_loss = 0;       // over the batch's images
  std::int64_t correct = 0;  // images whose top-1 prediction is the label
};

// How the gradient all-reduce is laid out, for profile.json.
struct CommLayout {
  int group_size = 1;
  std::size_t buckets = 0;
  std::int64_t fusion_bytes = 0;  // comm.fusion_bytes as resolved ("auto" made a size)
};

class StepEngine {
 public:
  virtual ~StepEngine() = default;

  // "cpu", or the GPU's name: for the start-up line and profile.json.
  virtual std::string device_description() const = 0;
  // Called once before the first train_step.
  virtual void attach(const StepSinks& sinks) = 0;
  // One optimizer step on this rank's shard of a global batch; returns its
  // mean loss. Throws std::runtime_error when the loss is not finite.
  virtual double train_step(const Batch& batch, const StepArgs& args) = 0;
  // Eval-mode forward and loss of one test batch (`step` seeds stochastic layers).
  virtual EvalOutcome evaluate(const Batch& batch, std::int64_t step) = 0;
  // Sums host values over all ranks (evaluation totals); no-op with one rank.
  virtual void sum_over_ranks(std::span<float> values) = 0;

  // Precise BatchNorm (train.bn_recalibration_images): between begin and
  // end, each recalibration_forward makes the running statistics the plain
  // average of the batches seen since begin. begin returns false when the
  // model has no BatchNorm (then nothing else is called).
  virtual bool begin_bn_recalibration() = 0;
  virtual void recalibration_forward(const Batch& batch, std::int64_t step) = 0;
  virtual void end_bn_recalibration() = 0;

  // Host views of everything a checkpoint holds (fp32 masters, momentum,
  // BatchNorm running statistics), with TrainingState's names and order on
  // every device, so checkpoints move between devices. read_state() makes
  // them current (a GPU copies them from the device); write_state() takes
  // what was written into them (resume, the rank-0 broadcast).
  virtual std::vector<NamedSpan> state_tensors() = 0;
  virtual void read_state() = 0;
  virtual void write_state() = 0;
  // SHA-256 of the fp32 master weights in parameter order (summary.json).
  virtual std::string weights_sha256() = 0;
  virtual CommLayout comm_layout() const = 0;
  // The measurement of the last train_step that had measure_noise, or
  // nullopt when it could not be taken (a skipped step's non-finite
  // gradients, a batch of one image). With several ranks the small batch is
  // a rank's share and the big one the global batch; in one process, whole
  // ghost-BatchNorm groups making up about half the batch, with the step's
  // weights, against the whole batch.
  virtual std::optional<GradientNormSample> noise_sample() const = 0;
};

}  // namespace lb
