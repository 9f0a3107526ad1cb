#include "runtime/backends/cuda/net/gpu_residual.hpp"

#include <stdexcept>

#include "runtime/backends/cuda/net/tensor_ops.hpp"

namespace lb::cuda {

GpuResidual::GpuResidual(const Residual& source, std::unique_ptr<GpuLayer> branch,
                         std::unique_ptr<GpuLayer> shortcut, const GpuRuntime& runtime)
    : GpuLayer(source, runtime),
      residual_(source),
      branch_(std::move(branch)),
      shortcut_(std::move(shortcut)) {}

std::vector<GpuParam*> GpuResidual::params() {
  auto all = branch_->params();
  if (shortcut_) {
    auto s = shortcut_->params();
    all.insert(all.end(), s.begin(), s.end());
  }
  return all;
}

std::vector<GpuBuffer*> GpuResidual::buffers() {
  auto all = branch_->buffers();
  if (shortcut_) {
    auto s = shortcut_->buffers();
    all.insert(all.end(), s.begin(), s.end());
  }
  return all;
}

void GpuResidual::for_each_leaf(const std::function<void(GpuLayer&)>& fn) {
  branch_->for_each_leaf(fn);
  if (shortcut_) shortcut_->for_each_leaf(fn);
}

const GpuTensor& GpuResidual::forward_impl(const GpuTensor& x, const GpuPass& pass) {
  const GpuTensor& b = branch_->forward(x, pass);
  const GpuTensor& s = shortcut_ ? shortcut_->forward(x, pass) : x;
  require_shape(source(), "shortcut output", s.shape, b.shape);
  started(pass, Direction::forward);
  y_ = y_storage_.view(runtime_.allocator, b.shape, runtime_.type);
  if (residual_.relu_after()) {
    add_relu(b, s, y_, runtime_.stream);
  } else {
    add(b, s, y_, runtime_.stream);
  }
  finished(pass, Direction::forward);
  return y_;
}

// dx = db + ds, the gradient of the block's input through both paths.
const GpuTensor& GpuResidual::sum_gradients(const GpuTensor& db, const GpuTensor& ds) {
  if (!needs_input_grad()) return no_input_grad();
  require_shape(source(), "shortcut input gradient", ds.shape, db.shape);
  const GpuTensor& dx = input_grad(db.shape, runtime_.type);
  add(db, ds, dx, runtime_.stream);
  return dx;
}

const GpuTensor& GpuResidual::backward_impl(const GpuTensor& dy, const GpuPass& pass) {
  require_shape(source(), "gradient", dy.shape, y_.shape);
  started(pass, Direction::backward);
  // dsum: the gradient of both paths' outputs, dy through the ReLU's mask.
  GpuTensor dsum = dy;
  if (residual_.relu_after()) {
    dsum = dsum_storage_.view(runtime_.allocator, dy.shape, runtime_.type);
    relu_backward(y_, dy, dsum, runtime_.stream);
  }
  finished(pass, Direction::backward);
  // The shortcut first: gradients then come out in exactly the reverse of
  // the parameters' forward order, the order the buckets are planned in.
  const GpuTensor& ds = shortcut_ ? shortcut_->backward(dsum, pass) : dsum;
  const GpuTensor& db = branch_->backward(dsum, pass);
  started(pass, Direction::backward);
  const GpuTensor& dx = sum_gradients(db, ds);
  finished(pass, Direction::backward);
  // Both paths' gradients and dsum are consumed by work already enqueued.
  branch_->release_input_grad();
  if (shortcut_) shortcut_->release_input_grad();
  dsum_storage_.release();
  return dx;
}

}  // namespace lb::cuda
