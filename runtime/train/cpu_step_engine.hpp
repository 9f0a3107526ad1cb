#pragma once
// The CPU training step: the zoo's layers on oneDNN (in fp16 mode rounding
// every stored value to half), the host all-reduce algorithms of
// comm/allreduce.hpp in fusion buckets overlapped with backward
// (GradientSync), and the CPU optimizers over TrainingState's fp32 masters.
#include <memory>

#include "runtime/comm/allreduce.hpp"
#include "runtime/comm/gradient_sync.hpp"
#include "runtime/nn/softmax_cross_entropy.hpp"
#include "runtime/optim/optimizer.hpp"
#include "runtime/train/layer_hooks.hpp"
#include "runtime/train/step_engine.hpp"

namespace lb {

class CpuStepEngine final : public StepEngine {
 public:
  // Collective with several ranks (builds the all-reducer's groups).
  explicit CpuStepEngine(const EngineSetup& setup);
  ~CpuStepEngine() override;

  std::string device_description() const override { return "cpu"; }
  void attach(const StepSinks& sinks) override;
  double train_step(const Batch& batch, const StepArgs& args) override;
  EvalOutcome evaluate(const Batch& batch, std::int64_t step) override;
  void sum_over_ranks(std::span<float> values) override;
  bool begin_bn_recalibration() override;
  void recalibration_forward(const Batch& batch, std::int64_t step) override;
  void end_bn_recalibration() override;
  std::vector<NamedSpan> state_tensors() override { return state_.checkpoint_tensors(); }
  void read_state() override {}  // the tensors are the live ones
  void write_state() override { state_.sync_values(); }
  std::string weights_sha256() override { return state_.weights_sha256(); }
  CommLayout comm_layout() const override;
  std::optional<GradientNormSample> noise_sample() const override { return noise_sample_; }

 private:
  Context context(Mode mode, std::int64_t step) const;
  void finish_gradient_sync(std::int64_t step);
  struct SmallBatchNorm {
    std::int64_t images = 0;
    double squared_norm = 0;  // of the loss-scaled gradient
  };
  std::optional<SmallBatchNorm> small_batch_gradient(const Batch& batch, const StepArgs& args);
  std::optional<GradientNormSample> noise_measurement(std::int64_t rows, float scale);
  double squared_gradient_norm();
  void trace_phase(double start_us, const char* name, double duration_s, std::int64_t step);

  const Spec& spec_;
  Model& model_;
  std::unique_ptr<GradientArena> arena_;  // several ranks only; outlives the views into it
  TrainingState state_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<Allreducer> reducer_;  // several ranks only
  std::int64_t fusion_bytes_ = 0;        // comm.fusion_bytes resolved (several ranks)
  std::unique_ptr<GradientSync> sync_;   // several ranks only
  std::unique_ptr<LayerHooks> hooks_;
  TraceWriter* trace_ = nullptr;
  StepProfile* profile_ = nullptr;
  SoftmaxCrossEntropy loss_fn_;
  double sync_start_us_ = 0;  // trace time of this step's GradientSync::begin_step
  int ranks_ = 1;
  std::optional<SmallBatchNorm> small_batch_;  // this step's, in one process
  std::optional<GradientNormSample> noise_sample_;
};

}  // namespace lb
