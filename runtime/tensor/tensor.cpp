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
    case Layout::nChw8c:
      return 8;
    case Layout::nChw16c:
      return 16;
    default:
      return 1;
  }
}

bool layout_fits(const Shape& shape, Layout layout) {
  if (layout == Layout::plain) return true;
  return shape.size() == 4 && shape[1] % channel_block(layout) == 0;
}

Tensor::Tensor(Shape shape, float fill)
    : shape_(std::move(shape)),
      owned_(static_cast<std::size_t>(lb::numel(shape_)), fill),
      data_(owned_.data()),
      size_(owned_.size()) {}

Tensor Tensor::view_of(std::span<float> storage, Shape shape) {
  if (static_cast<std::int64_t>(storage.size()) != lb::numel(shape)) {
    throw std::invalid_argument("Tensor::view_of: " + std::to_string(storage.size()) +
                                " values cannot hold shape " + to_string(shape));
  }
  Tensor t;
  t.shape_ = std::move(shape);
  t.data_ = storage.data();
  t.size_ = storage.size();
  t.view_capacity_ = storage.size();
  return t;
}

Tensor::Tensor(const Tensor& other)
    : shape_(other.shape_),
      owned_(other.span().begin(), other.span().end()),
      data_(owned_.data()),
      size_(owned_.size()),
      layout_(other.layout_) {}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) *this = Tensor(other);
  return *this;
}

Tensor::Tensor(Tensor&& other) noexcept
    : shape_(std::move(other.shape_)),
      owned_(std::move(other.owned_)),
      data_(other.data_),
      size_(other.size_),
      view_capacity_(other.view_capacity_),
      layout_(other.layout_) {
  other.forget_storage();
}

Tensor& Tensor::operator=(Tensor&& other) noexcept {
  if (this == &other) return *this;
  shape_ = std::move(other.shape_);
  owned_ = std::move(other.owned_);  // moving a vector keeps its buffer where it is
  data_ = other.data_;
  size_ = other.size_;
  view_capacity_ = other.view_capacity_;
  layout_ = other.layout_;
  other.forget_storage();
  return *this;
}

void Tensor::forget_storage() {
  shape_.clear();
  owned_.clear();
  data_ = nullptr;
  size_ = view_capacity_ = 0;
  layout_ = Layout::plain;
}

void Tensor::reshape(const Shape& shape, Layout layout) {
  if (!layout_fits(shape, layout)) {
    throw std::invalid_argument("blocked layout does not fit shape " + to_string(shape));
  }
  const auto n = static_cast<std::size_t>(lb::numel(shape));
  if (is_view()) {
    if (n > view_capacity_) {
      throw std::invalid_argument("a view of " + std::to_string(view_capacity_) +
                                  " values cannot hold shape " + to_string(shape));
    }
  } else {
    owned_.resize(n);
    data_ = owned_.data();
  }
  shape_ = shape;
  layout_ = layout;
  size_ = n;
}

void Tensor::fill(float value) { std::fill(data_, data_ + size_, value); }

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
          if (to_blocked)
            to[blocked] = from[plain];
          else
            to[plain] = from[blocked];
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
