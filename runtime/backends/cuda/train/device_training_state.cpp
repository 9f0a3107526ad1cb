#include "runtime/backends/cuda/train/device_training_state.hpp"

#include <algorithm>
#include <stdexcept>

#include "runtime/backends/cuda/cuda_error.hpp"
#include "runtime/backends/cuda/elementwise.hpp"

namespace lb::cuda {
namespace {

std::size_t count(const Tensor& t) { return static_cast<std::size_t>(t.numel()); }

std::size_t aligned(std::size_t offset) {
  constexpr std::size_t a = DeviceTrainingState::kAlignElements;
  return (offset + a - 1) / a * a;
}

template <class T>
void zero(const DeviceBuffer<T>& buffer, cudaStream_t stream) {
  LB_CUDA_CHECK(cudaMemsetAsync(buffer.data(), 0, buffer.span().size_bytes(), stream));
}

}  // namespace

DeviceTrainingState::DeviceTrainingState(Model& model, const Spec& spec, const GpuRuntime& runtime)
    : runtime_(runtime),
      params_(model.net->params()),
      buffers_(model.net->buffers()),
      mirror_(params_, buffers_, spec.optimizer, spec.train.precision),
      fp16_(spec.train.precision == Precision::fp16) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    offset_.push_back(aligned(total));
    param_index_[params_[i]] = i;
    total = offset_.back() + count(params_[i]->value);
  }
  grad_offset_.resize(params_.size());
  std::size_t in_backward_order = 0;
  for (std::size_t i = params_.size(); i-- > 0;) {
    grad_offset_[i] = aligned(in_backward_order);
    in_backward_order = grad_offset_[i] + count(params_[i]->value);
  }
  total = std::max(total, in_backward_order);
  std::size_t buffer_total = 0;
  for (std::size_t j = 0; j < buffers_.size(); ++j) {
    buffer_offset_.push_back(buffer_total);
    buffer_index_[buffers_[j]] = j;
    buffer_total += count(*buffers_[j]);
  }
  CachingAllocator& a = runtime_.allocator;
  masters_ = DeviceBuffer<float>(a, total);
  momentum_ = DeviceBuffer<float>(a, total);
  grads_ = DeviceBuffer<float>(a, total);
  buffer_values_ = DeviceBuffer<float>(a, buffer_total);
  if (fp16_) {
    half_values_ = DeviceBuffer<half_bits>(a, total);
    half_grads_ = DeviceBuffer<half_bits>(a, total);
    zero(half_grads_, runtime_.stream);
  }
  for (const DeviceBuffer<float>* b : {&masters_, &momentum_, &grads_}) zero(*b, runtime_.stream);
  make_slots();
  upload();
}

std::span<float> DeviceTrainingState::slice(const DeviceBuffer<float>& a, std::size_t i) const {
  return a.span().subspan(offset_[i], count(params_[i]->value));
}

std::span<float> DeviceTrainingState::grad_slice(std::size_t i) const {
  return grads_.span().subspan(grad_offset_[i], count(params_[i]->value));
}

// The slots' flags are the host mirror's (TrainingState decides decay and
// adaptation from the parameters and the optimizer spec), the spans ours.
void DeviceTrainingState::make_slots() {
  const std::span<const OptimSlot> host = mirror_.slots();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    slots_.push_back({slice(masters_, i), grad_slice(i), slice(momentum_, i), host[i].weight_decay,
                      host[i].adapt});
    device_tensors_.push_back(slice(masters_, i));  // checkpoint order: master, momentum
    device_tensors_.push_back(slice(momentum_, i));
  }
  for (std::size_t j = 0; j < buffers_.size(); ++j) {
    device_tensors_.push_back(
        buffer_values_.span().subspan(buffer_offset_[j], count(*buffers_[j])));
  }
}

std::vector<std::size_t> DeviceTrainingState::backward_sizes() const {
  std::vector<std::size_t> sizes;
  for (std::size_t i = params_.size(); i-- > 0;) sizes.push_back(count(params_[i]->value));
  return sizes;
}

std::vector<std::size_t> DeviceTrainingState::backward_offsets() const {
  std::vector<std::size_t> offsets;
  for (std::size_t i = params_.size(); i-- > 0;) offsets.push_back(grad_offset_[i]);
  return offsets;
}

std::size_t DeviceTrainingState::backward_index(const Param* param) const {
  return params_.size() - 1 - param_index_.at(param);
}

void DeviceTrainingState::bind_param(GpuParam& p) {
  const auto it = param_index_.find(p.source);
  if (it == param_index_.end()) throw std::logic_error("GPU parameter without a CPU parameter");
  const std::size_t i = it->second;
  const Shape& shape = params_[i]->value.shape();
  const std::size_t n = count(params_[i]->value);
  if (fp16_ && params_[i]->half_storage) {
    p.value = {half_values_.data() + offset_[i], shape, DataType::fp16};
    p.grad = {half_grads_.data() + grad_offset_[i], shape, DataType::fp16};
  } else {
    p.value = {slice(masters_, i).data(), shape, DataType::fp32};
    p.grad = {grad_slice(i).data(), shape, DataType::fp32};
  }
  if (static_cast<std::size_t>(p.value.numel()) != n) throw std::logic_error("GPU parameter size");
}

void DeviceTrainingState::bind(GpuLayer& net) {
  const std::vector<GpuParam*> params = net.params();
  if (params.size() != params_.size()) {
    throw std::logic_error("GPU network has " + std::to_string(params.size()) +
                           " parameters, the model " + std::to_string(params_.size()));
  }
  for (GpuParam* p : params) bind_param(*p);
  for (GpuBuffer* b : net.buffers()) {
    const std::size_t j = buffer_index_.at(b->source);
    b->device = device_tensors_[2 * params_.size() + j];
  }
}

void DeviceTrainingState::gradient_to_fp32(const GpuParam& p, cudaStream_t stream) {
  if (p.grad.type != DataType::fp16) return;
  const std::size_t i = param_index_.at(p.source);
  from_half(std::span<const half_bits>(p.grad.as<half_bits>()), grad_slice(i), stream);
}

// One launch over all masters: the fp16 copies of BatchNorm's γ and β are
// written too but never read (the layers read those masters directly).
void DeviceTrainingState::refresh_weights(cudaStream_t stream) {
  if (!fp16_) return;
  to_half(std::span<const float>(masters_.span()), half_values_.span(), stream);
}

void DeviceTrainingState::download() {
  const std::vector<NamedSpan> host = mirror_.checkpoint_tensors();
  for (std::size_t k = 0; k < host.size(); ++k) {
    copy(std::span<const float>(device_tensors_[k]), host[k].data, runtime_.stream);
  }
  LB_CUDA_CHECK(cudaStreamSynchronize(runtime_.stream));
}

void DeviceTrainingState::upload() {
  const std::vector<NamedSpan> host = mirror_.checkpoint_tensors();
  for (std::size_t k = 0; k < host.size(); ++k) {
    copy(std::span<const float>(host[k].data), device_tensors_[k], runtime_.stream);
  }
  refresh_weights(runtime_.stream);
  LB_CUDA_CHECK(cudaStreamSynchronize(runtime_.stream));
}

std::string DeviceTrainingState::weights_sha256() {
  download();
  return mirror_.weights_sha256();
}

}  // namespace lb::cuda
