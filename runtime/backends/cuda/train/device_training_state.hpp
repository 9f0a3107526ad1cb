#pragma once
// TrainingState on the device. Everything the optimizer and a checkpoint
// touch lives in a few contiguous device arrays:
//   masters   (P) fp32 master weights, parameters in forward order
//   momentum  (P) fp32
//   grads     (P) fp32 gradients in BACKWARD order, so that every fusion
//                 bucket (bucket_plan.hpp) is one contiguous slice that
//                 NCCL reduces in place
//   buffers       fp32 BatchNorm running statistics
// Every tensor starts at a multiple of kAlignElements elements (cuDNN's and
// cuBLAS's tensor-core kernels want aligned operands); the gaps are zero and
// stay zero, so reducing or checking a whole range is harmless.
// In fp16 mode two fp16 arrays have the masters' and the gradients'
// layouts: the weights the layers read (masters rounded to half after every
// step) and the gradients they write, converted into the fp32 gradients as
// each layer's backward finishes. BatchNorm's γ and β are read from the fp32
// masters and write fp32 gradients, as on the CPU.
//
// A CPU TrainingState over the zoo model is the host mirror: checkpoints,
// the rank-0 broadcast and weights_sha256 go through it, with its names and
// order, so a checkpoint written on either device resumes on the other.
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/backends/cuda/device_buffer.hpp"
#include "runtime/backends/cuda/net/gpu_layer.hpp"
#include "runtime/models/model.hpp"
#include "runtime/train/training_state.hpp"

namespace lb::cuda {

class DeviceTrainingState {
 public:
  static constexpr std::size_t kAlignElements = 64;  // 128 bytes of fp16, 256 of fp32

  // Copies `model`'s current parameters and buffers to the device.
  DeviceTrainingState(Model& model, const Spec& spec, const GpuRuntime& runtime);

  // Points every GpuParam and GpuBuffer under `net` at this state's memory.
  void bind(GpuLayer& net);
  // The optimizer's view: device spans, in forward order.
  std::span<const OptimSlot> slots() const { return slots_; }
  // All fp32 gradients, one span (backward order, with the alignment gaps).
  std::span<float> gradients() const { return grads_.span(); }
  // Element counts of the gradients in backward order (the bucket plan's
  // input) and where each starts in gradients().
  std::vector<std::size_t> backward_sizes() const;
  std::vector<std::size_t> backward_offsets() const;
  // Backward-order index of a parameter's gradient.
  std::size_t backward_index(const Param* param) const;
  // fp16 gradients of `param` into the fp32 array (nothing for fp32 ones).
  void gradient_to_fp32(const GpuParam& param, cudaStream_t stream);
  // fp16 mode: the weights the layers read, from the masters.
  void refresh_weights(cudaStream_t stream);

  std::vector<NamedSpan> host_tensors() { return mirror_.checkpoint_tensors(); }
  void download();               // device -> host mirror; waits
  void upload();                 // host mirror -> device, then refresh_weights; waits
  std::string weights_sha256();  // of the masters, as TrainingState computes it

 private:
  std::span<float> slice(const DeviceBuffer<float>& a, std::size_t param) const;
  std::span<float> grad_slice(std::size_t param) const;
  void make_slots();
  void bind_param(GpuParam& p);

  const GpuRuntime& runtime_;
  std::vector<Param*> params_;    // CPU, forward order
  std::vector<Tensor*> buffers_;  // CPU BatchNorm statistics
  TrainingState mirror_;
  bool fp16_;
  std::vector<std::size_t> offset_;       // per parameter, in masters/momentum
  std::vector<std::size_t> grad_offset_;  // per parameter, in grads (backward order)
  std::vector<std::size_t> buffer_offset_;
  std::unordered_map<const Param*, std::size_t> param_index_;
  std::unordered_map<const Tensor*, std::size_t> buffer_index_;
  DeviceBuffer<float> masters_, momentum_, grads_, buffer_values_;
  DeviceBuffer<half_bits> half_values_, half_grads_;  // fp16 mode only
  std::vector<OptimSlot> slots_;
  std::vector<std::span<float>> device_tensors_;  // host_tensors()' device twins, in order
};

}  // namespace lb::cuda
