#include "runtime/train/training_state.hpp"

#include <algorithm>

#include "runtime/core/files.hpp"
#include "runtime/core/half.hpp"
#include "runtime/optim/loss_scaler.hpp"

namespace lb {

TrainingState::TrainingState(std::vector<Param*> params, std::vector<Tensor*> buffers,
                             const OptimizerSpec& optimizer, Precision precision)
    : params_(std::move(params)), buffers_(std::move(buffers)), precision_(precision) {
  for (Param* p : params_) {
    if (precision_ == Precision::fp16) masters_.push_back(p->value);  // a copy: fp32 master
    momentum_.emplace_back(p->value.shape(), 0.0f);
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const bool decay = !params_[i]->is_bias_or_norm || optimizer.decay_bias_and_norm;
    const bool adapt = !(params_[i]->is_bias_or_norm && optimizer.lars.skip_bias_and_norm);
    slots_.push_back({master(i), params_[i]->grad.span(), momentum_[i].span(), decay, adapt});
  }
  sync_values();
}

std::span<float> TrainingState::master(std::size_t i) {
  return precision_ == Precision::fp16 ? masters_[i].span() : params_[i]->value.span();
}

void TrainingState::sync_values() {
  if (precision_ != Precision::fp16) return;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    auto& value = params_[i]->value;
    std::copy(masters_[i].data(), masters_[i].data() + masters_[i].numel(), value.data());
    if (params_[i]->half_storage) round_to_half(value.span());
  }
}

bool TrainingState::gradients_finite() const {
  return std::all_of(params_.begin(), params_.end(),
                     [](const Param* p) { return all_finite(p->grad.span()); });
}

std::string TrainingState::weights_sha256() const {
  Sha256 digest;
  for (const OptimSlot& slot : slots_) digest.update(std::as_bytes(slot.weight));
  return digest.hex();
}

std::vector<NamedSpan> TrainingState::checkpoint_tensors() {
  std::vector<NamedSpan> out;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Shape& shape = params_[i]->value.shape();
    out.push_back({params_[i]->name + ".master", master(i), shape});
    out.push_back({params_[i]->name + ".momentum", momentum_[i].span(), shape, true});
  }
  for (std::size_t i = 0; i < buffers_.size(); ++i) {
    out.push_back(
        {"buffer" + std::to_string(i), buffers_[i]->span(), buffers_[i]->shape(), false, true});
  }
  return out;
}

}  // namespace lb
