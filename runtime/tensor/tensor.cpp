#include "runtime/tensor/tensor.hpp"

#include <algorithm>
#include <stdexcept>

namespace lb {

std::int64_t numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + to_string(shape));
    n *= d;
  }
  return n;
}

std::string to_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int channel_block(Layout layout) {
  switch (layout) {
    case Layout::nChw8c: return 8;
    case Layout::nChw16c: return 16;
    default: return 1;
  }
}

bool layout_fits(const Shape& shape, Layout layout) {
  if (layout == Layout::plain) return true;
  return shape.size() == 4 && shape[1] % channel_block(layout) == 0;
}

Tensor::Tensor(Shape shape, float fill)
    : shape_(std::move(shape)), data_(static_cast<std::size_t>(lb::numel(shape_)), fill) {}

void Tensor::reshape(const Shape& shape, Layout layout) {
  if (!layout_fits(shape, layout)) {
    throw std::invalid_argument("blocked layout does not fit shape " + to_string(shape));
  }
  shape_ = shape;
  layout_ = layout;
  data_.resize(static_cast<std::size_t>(lb::numel(shape_)));
}

void Tensor::fill(float value) { std::fill(data_.begin(), data_.end(), value); }

namespace {

// Moves every value between plain NCHW and the blocked layout with `block`
// channels per group; to_blocked picks the direction. One (n, channel group)
// slab at a time; used only at the edges of a network (flatten, callers).
void reblock(const float* from, float* to, const Shape& s, int block, bool to_blocked) {
  const std::int64_t n = s[0], c = s[1], hw = s[2] * s[3], groups = c / block;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t g = 0; g < groups; ++g) {
      const std::int64_t slab = (i * groups + g) * hw * block;  // same offset in both layouts
      for (std::int64_t p = 0; p < hw; ++p) {
        for (int b = 0; b < block; ++b) {
          const std::int64_t blocked = slab + p * block + b, plain = slab + b * hw + p;
          if (to_blocked) to[blocked] = from[plain];
          else to[plain] = from[blocked];
        }
      }
    }
  }
}

}  // namespace

void convert_layout(std::span<const float> src, const Shape& shape, Layout from, Layout to,
                    Tensor& dst) {
  if (static_cast<std::int64_t>(src.size()) != lb::numel(shape) || !layout_fits(shape, from)) {
    throw std::invalid_argument("convert_layout: values do not match shape " + to_string(shape));
  }
  dst.reshape(shape, to);
  if (from == to) {
    std::copy(src.begin(), src.end(), dst.data());
  } else if (from == Layout::plain) {
    reblock(src.data(), dst.data(), shape, channel_block(to), true);
  } else if (to == Layout::plain) {
    reblock(src.data(), dst.data(), shape, channel_block(from), false);
  } else {  // between two blocked layouts, by way of plain
    Tensor plain;
    convert_layout(src, shape, from, Layout::plain, plain);
    convert_layout(plain, to, dst);
  }
}

void convert_layout(const Tensor& src, Layout layout, Tensor& dst) {
  convert_layout(src.span(), src.shape(), src.layout(), layout, dst);
}

const Tensor& in_layout(const Tensor& t, Layout layout, Tensor& scratch) {
  if (t.layout() == layout) return t;
  convert_layout(t, layout, scratch);
  return scratch;
}

Tensor to_plain(const Tensor& t) {
  Tensor out;
  convert_layout(t, Layout::plain, out);
  return out;
}

}  // namespace lb
