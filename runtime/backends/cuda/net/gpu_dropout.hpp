#pragma once
// lb::Dropout (inverted dropout). The mask is drawn on the host by the CPU
// layer's own generator (Dropout::draw_keep_mask, seeded per step and
// layer) and copied to the device, so a seed drops the same elements on
// both devices. The draw costs host time per step (one 64-bit draw per two
// elements); only models with model.dropout > 0 have the layer.
#include <cstdint>
#include <vector>

#include "runtime/backends/cuda/net/gpu_layer.hpp"
#include "runtime/nn/dropout.hpp"

namespace lb::cuda {

class GpuDropout final : public GpuLayer {
 public:
  GpuDropout(const Dropout& source, const GpuRuntime& runtime)
      : GpuLayer(source, runtime), dropout_(source) {}

 protected:
  const GpuTensor& forward_impl(const GpuTensor& x, const GpuPass& pass) override;
  const GpuTensor& backward_impl(const GpuTensor& dy, const GpuPass& pass) override;

 private:
  bool active() const { return last_mode_ == Mode::train && dropout_.p() > 0; }
  float scale() const { return static_cast<float>(1.0 / (1.0 - dropout_.p())); }

  const Dropout& dropout_;
  Mode last_mode_ = Mode::train;
  std::vector<std::uint8_t> host_keep_;
  DeviceBuffer<std::uint8_t> keep_;  // the last training forward's mask
  GpuStorage y_storage_;
  GpuTensor y_;
};

}  // namespace lb::cuda
