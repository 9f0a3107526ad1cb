#pragma once
// Batch normalisation over the channel dimension of an (N, C, H, W) or (N, C)
// input, on oneDNN. γ and β stay fp32 in fp16 mode (half_storage = false), as
// cuDNN keeps them, because their gradients are sums over the whole batch.
// It runs in its input's layout. In training it can normalise groups of the
// batch separately (Context::bn_ghost_batch); its running statistics then
// still follow the whole batch's mean and variance. Optionally it applies a
// ReLU to its output in the same pass (oneDNN's fuse_norm_relu), saving the
// separate ReLU layer's two passes over memory per direction.
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/nn/layer.hpp"

namespace lb {

class BatchNorm : public Layer {
 public:
  BatchNorm(std::string name, int channels, double momentum = 0.1, double epsilon = 1e-5,
            bool zero_init_gamma = false);
  ~BatchNorm() override;

  std::string kind() const override { return "batch_norm"; }
  Shape output_shape(const Shape& input) const override;
  std::int64_t param_count() const override { return 2 * std::int64_t{channels_}; }
  // Training cost: batch mean and variance (~3 FLOPs per element) plus the
  // normalise-and-affine pass folded into one multiply-add (2 FLOPs), plus
  // one for the centring: 6 FLOPs per element.
  double forward_flops(const Shape& input) const override;

  void init(Rng& rng) override;
  // Makes this layer compute relu(bn(x)). Its cost-table rows stay those of
  // the two layers it replaces: its own and `relu_name`'s. Returns *this.
  BatchNorm& fuse_relu(std::string relu_name);
  bool fused_relu() const { return !relu_name_.empty(); }
  void describe(const Shape& input, std::vector<LayerInfo>& rows) const override;
  std::vector<Param*> params() override { return {&gamma_, &beta_}; }
  std::vector<Tensor*> buffers() override { return {&running_mean_, &running_var_}; }

  int channels() const { return channels_; }
  double momentum() const { return momentum_; }
  double epsilon() const { return epsilon_; }
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }
  // Precise BatchNorm (Wu & Johnson 2021): between begin and end, each
  // training forward sets the running statistics to the plain average of the
  // batches seen since begin_recalibration(), with the current weights,
  // instead of the exponential average over weights that changed on the way.
  // With few, large steps (large-batch training) that average lags the
  // weights far enough to ruin eval-mode accuracy.
  void begin_recalibration() {
    recalibrating_ = true;
    recalibration_batches_ = 0;
  }
  void end_recalibration() { recalibrating_ = false; }
  // Statistics of the last training forward over the whole batch (biased
  // variance), for tests; with ghost groups, assembled from the groups'.
  const Tensor& batch_mean() const { return mean_; }
  const Tensor& batch_var() const { return var_; }

 protected:
  Tensor& forward_impl(const Tensor& x, const Context& ctx) override;
  Tensor& backward_impl(const Tensor& dy, const Context& ctx) override;

 private:
  struct Primitives;  // oneDNN descriptors cached per input shape and mode
  Primitives& primitives(const Shape& shape, Mode mode, Layout layout);
  void check_input(const Shape& shape) const;
  void update_running_stats(std::int64_t per_channel);
  void combine_group_stats(std::int64_t groups);
  // The shape of one ghost group of `batch` (the batch itself without groups).
  Shape group_shape(const Shape& batch) const;
  // The mean and variance group g normalises with: its own with ghost
  // groups, the whole batch's without.
  struct GroupStats {
    float* mean;
    float* var;
  };
  GroupStats group_stats(std::int64_t g);
  void restore_nans();

  int channels_;
  double momentum_;
  double epsilon_;
  bool zero_init_gamma_;
  std::string relu_name_;  // empty: no fused ReLU
  Param gamma_;
  Param beta_;
  Tensor running_mean_;
  Tensor running_var_;
  Tensor mean_;  // statistics of the last forward's whole batch
  Tensor var_;
  // With ghost groups: each group's statistics (group-major, C per group),
  // used by its forward and read by its backward, and a scratch for the
  // groups' γ and β gradients, which backward sums.
  std::int64_t groups_ = 1;
  Tensor group_mean_;
  Tensor group_var_;
  Tensor group_grad_;
  Tensor y_;
  Tensor dy_converted_;  // dy in x's layout when it came in another
  // The input of the last forward. It is the previous layer's output (or the
  // caller's batch), which stays alive and unchanged until this backward, so
  // keeping a pointer avoids copying every activation.
  const Tensor* x_ = nullptr;
  Mode last_mode_ = Mode::train;
  bool recalibrating_ = false;
  std::int64_t recalibration_batches_ = 0;
  std::unique_ptr<Primitives> prims_;
};

}  // namespace lb
