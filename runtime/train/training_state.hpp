#pragma once
// The optimizer's view of a model: fp32 master weights and momentum for every
// parameter. In fp16 mode the layers read half-rounded copies of the masters
// (Param::value) and write half-rounded gradients; in fp32 mode the masters
// are the values themselves. Gradients arrive already rounded: the layers
// that own half-stored parameters round their gradients in backward.
#include <string>
#include <vector>

#include "runtime/core/spec.hpp"
#include "runtime/nn/layer.hpp"
#include "runtime/optim/optimizer.hpp"

namespace lb {

// One tensor of the training state as checkpoints store it.
struct NamedSpan {
  std::string name;
  std::span<float> data;
  Shape shape = {};  // the parameter's or buffer's shape; empty = only the size is known
  // Momentum: a warm start (train.init_from) leaves it at zero instead of
  // taking the source's.
  bool optimizer_state = false;
  // BatchNorm running statistics: each rank's BatchNorm sees its own shard of
  // the batch, so these differ between ranks (the trainer averages them; see
  // Trainer). Everything else is the same on every rank.
  bool rank_local = false;
};

class TrainingState {
 public:
  TrainingState(std::vector<Param*> params, std::vector<Tensor*> buffers,
                const OptimizerSpec& optimizer, Precision precision);

  std::span<const OptimSlot> slots() const { return slots_; }
  // Copies the masters into Param::value, rounding to half where stored so.
  void sync_values();
  bool gradients_finite() const;

  // SHA-256 of the fp32 master weights, in parameter order.
  std::string weights_sha256() const;
  // Everything a checkpoint must hold: masters, momentum, BN running stats.
  std::vector<NamedSpan> checkpoint_tensors();

 private:
  std::span<float> master(std::size_t i);

  std::vector<Param*> params_;
  std::vector<Tensor*> buffers_;
  Precision precision_;
  std::vector<Tensor> masters_;  // fp16 only; fp32 uses Param::value
  std::vector<Tensor> momentum_;
  std::vector<OptimSlot> slots_;
};

}  // namespace lb
