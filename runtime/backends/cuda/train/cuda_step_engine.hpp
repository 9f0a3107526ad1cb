#pragma once
// The training step on one GPU per rank (spec device: "cuda"). The network
// is the zoo model's layer tree rebuilt from cuDNN / cuBLAS layers
// (net/gpu_network.hpp), starting from the CPU model's initialised weights.
// Per step, all on one compute stream, with one host wait at the end:
//   images and labels: copied into pinned staging and sent asynchronously;
//     the next step's batch (StepArgs::next) while this step computes, on a
//     copy stream, into the other of two input slots
//   forward (fp16 activations in fp16 mode), fp32 softmax cross-entropy
//     with the loss-scaled gradient fused (softmax_cross_entropy.hpp)
//   backward; as each layer's gradients become final they are converted to
//     the fp32 gradient array and, with several ranks, each full fusion
//     bucket is all-reduced on NCCL's stream (DeviceGradientSync) while
//     backward goes on
//   fp16: one fused inf/NaN check of all gradients into a device flag that
//     gates the multi-tensor LARS or SGD kernels, so an overflowing step is
//     dropped on the device, without a host round trip before the update
//   fp16: the masters rounded to the fp16 weights of the next step
//   the loss, the flag and CUDA-event timings read back once the step is
//     done; the host LossScaler is told the outcome then, so its scale and
//     skipped-step count follow the CPU's exactly.
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "runtime/backends/cuda/cublas_gemm.hpp"
#include "runtime/backends/cuda/cuda_lars_optimizer.hpp"
#include "runtime/backends/cuda/cuda_sgd_optimizer.hpp"
#include "runtime/backends/cuda/device.hpp"
#include "runtime/backends/cuda/nccl_allreducer.hpp"
#include "runtime/backends/cuda/nccl_communicator.hpp"
#include "runtime/backends/cuda/net/gpu_layer.hpp"
#include "runtime/backends/cuda/pinned_buffer.hpp"
#include "runtime/backends/cuda/stream.hpp"
#include "runtime/backends/cuda/train/device_gradient_sync.hpp"
#include "runtime/backends/cuda/train/device_training_state.hpp"
#include "runtime/backends/cuda/train/step_timer.hpp"
#include "runtime/train/layer_hooks.hpp"
#include "runtime/train/step_engine.hpp"

namespace lb::cuda {

class CudaStepEngine final : public StepEngine, private GpuLayerObserver {
 public:
  // Takes the GPU of this rank's local index (one per rank); collective
  // with several ranks (NCCL's set-up).
  explicit CudaStepEngine(const EngineSetup& setup);
  ~CudaStepEngine() override;

  std::string device_description() const override { return device_.name(); }
  void attach(const StepSinks& sinks) override;
  double train_step(const Batch& batch, const StepArgs& args) override;
  EvalOutcome evaluate(const Batch& batch, std::int64_t step) override;
  void sum_over_ranks(std::span<float> values) override;
  bool begin_bn_recalibration() override;
  void recalibration_forward(const Batch& batch, std::int64_t step) override;
  void end_bn_recalibration() override;
  std::vector<NamedSpan> state_tensors() override { return state_.host_tensors(); }
  void read_state() override { state_.download(); }
  void write_state() override { state_.upload(); }
  std::string weights_sha256() override { return state_.weights_sha256(); }
  CommLayout comm_layout() const override;
  // Not measured on the GPU yet (the trainer says so when the run starts):
  // the norms need device reductions that no GPU here could test.
  std::optional<GradientNormSample> noise_sample() const override { return std::nullopt; }

 private:
  struct StepMarks {  // StepTimer marks of the phase boundaries
    int start = 0, forward_end = 0, backward_end = 0, comm_end = 0, end = 0;
  };
  struct LayerTiming {
    const Layer* layer;
    Direction direction;
    int begin, end;
  };
  // A batch on its way to the device, or there: pinned staging, the device
  // copy, and the events that say who may touch which when.
  struct InputSlot {
    PinnedBuffer<float> images;
    PinnedBuffer<std::int32_t> labels;
    GpuStorage device_images;
    DeviceBuffer<std::int32_t> device_labels;
    Event copied;                   // the copies to the device have read the staging buffers
    Event consumed;                 // the work that read the device copy is done with it
    const Batch* source = nullptr;  // the staged batch not yet taken, if any
    std::int64_t epoch = -1, index = -1;
  };

  void started(const GpuLayer& layer, Direction direction) override;
  void finished(const GpuLayer& layer, Direction direction) override;

  void stage(InputSlot& slot, const Batch& batch, cudaStream_t stream);
  const GpuTensor& input_for(const Batch& batch);
  void stage_next(const Batch& next);
  void release_input();
  GpuTensor loss_and_gradient(const GpuTensor& logits, float label_smoothing, float loss_scale);
  void read_back_loss(std::int64_t rows);
  float mean_loss_read_back(std::int64_t rows) const;
  void optimizer_step(float lr, float loss_scale);
  void wait_for(const Event& event);
  void report(const StepMarks& marks, std::int64_t step);
  void report_phase(const char* name, Phase phase, int from, int to, std::int64_t step);
  std::uint64_t step_seed(std::int64_t step) const;

  const Spec& spec_;
  Model& model_;
  Communicator* world_;
  Device device_;
  CachingAllocator allocator_;
  Stream stream_;
  CudnnHandle cudnn_;
  CublasHandle cublas_;
  GpuRuntime runtime_;
  std::unique_ptr<GpuLayer> net_;
  DeviceTrainingState state_;
  std::unique_ptr<CudaLarsOptimizer> lars_;  // one of the two
  std::unique_ptr<CudaSgdOptimizer> sgd_;
  std::unique_ptr<NcclCommunicator> nccl_;  // several ranks only
  std::int64_t fusion_bytes_ = 0;           // comm.fusion_bytes resolved (several ranks)
  std::unique_ptr<NcclAllreducer> reducer_;
  std::unique_ptr<DeviceGradientSync> sync_;
  std::unordered_map<const GpuLayer*, std::vector<GpuParam*>> leaf_params_;
  bool gate_on_found_inf_;  // the loss scaler drops non-finite steps (fp16, not mode none)

  std::unique_ptr<LayerHooks> hooks_;
  TraceWriter* trace_ = nullptr;
  StepProfile* profile_ = nullptr;
  StepTimer timer_;
  bool time_layers_ = false;
  std::vector<LayerTiming> layer_timings_;

  Stream copy_stream_;  // the next batch's copy to the device
  InputSlot inputs_[2];
  int current_input_ = 0;  // the slot the last input_for() took
  Event compute_now_;
  GpuStorage images_half_, logits_fp32_, dlogits_, dlogits_half_;
  GpuTensor input_;
  std::span<const std::int32_t> labels_;  // of the last input_for(), device memory
  DeviceBuffer<std::int32_t> correct_;
  DeviceBuffer<float> row_loss_;
  DeviceBuffer<int> found_inf_;
  PinnedBuffer<float> host_row_loss_;
  PinnedBuffer<std::int32_t> host_correct_;
  PinnedBuffer<int> host_found_inf_;
};

}  // namespace lb::cuda
