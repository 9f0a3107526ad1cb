#pragma once
// A dense fp32 tensor. Callers see row-major NCHW (or N×features) order; a
// 4-D tensor passed between layers may instead be in a blocked layout (see
// Layout). In fp16 mode its values are kept rounded to binary16 (see
// core/half.hpp).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace lb {

using Shape = std::vector<std::int64_t>;

std::int64_t numel(const Shape& shape);
std::string to_string(const Shape& shape);  // "[256, 1, 28, 28]"

// How a 4-D (N, C, H, W) tensor's values lie in memory. `plain` is row-major
// NCHW, what every caller outside the layers sees. The blocked layouts are
// oneDNN's nChw8c / nChw16c (channels in groups of 8 or 16, the group
// innermost): the layouts its fast CPU kernels run on, so layers hand them on
// to each other instead of reordering every activation twice per layer. A
// blocked tensor's C is a multiple of its block, so it holds exactly numel()
// values and element-wise code (ReLU, adds, half rounding) can ignore layout.
enum class Layout : std::uint8_t { plain, nChw8c, nChw16c };

int channel_block(Layout layout);  // 1, 8 or 16

// 64-byte aligned storage: the vector kernels and oneDNN read whole cache
// lines, and an unaligned activation costs split loads on every access.
template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) { std::free(p); }
  // Growing a tensor leaves the new values uninitialised instead of zeroing
  // them: every buffer that grows is overwritten by its producer anyway, and
  // zeroing would be one more pass over memory.
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... A>
  void construct(U* p, A&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(args)...);
  }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const {
    return true;
  }
};

// A tensor owns its values, or is a view of storage owned elsewhere (see
// view_of): the gradient arena makes every parameter's gradient a view into
// one buffer, so that fusion buckets are slices of it and need no packing.
// Copying a tensor copies its values (a copy of a view owns them); moving
// moves the storage or the view.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, float fill = 0.0f);
  // A tensor of `shape` whose values live in `storage` (exactly numel(shape)
  // values), which must outlive it. It can be reshaped only within that size.
  static Tensor view_of(std::span<float> storage, Shape shape);

  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(Tensor&& other) noexcept;
  ~Tensor() = default;

  const Shape& shape() const { return shape_; }
  std::int64_t dim(std::size_t i) const { return shape_.at(i); }
  std::int64_t numel() const { return static_cast<std::int64_t>(size_); }
  // Values the allocation can hold without reallocating (a view: its storage).
  std::int64_t capacity() const {
    return static_cast<std::int64_t>(is_view() ? view_capacity_ : owned_.capacity());
  }
  bool empty() const { return size_ == 0; }
  bool is_view() const { return view_capacity_ > 0; }
  Layout layout() const { return layout_; }

  float* data() { return data_; }
  const float* data() const { return data_; }
  std::span<float> span() { return {data_, size_}; }
  std::span<const float> span() const { return {data_, size_}; }
  // Index into memory order (the NCHW index only for a plain tensor).
  float& operator[](std::int64_t i) { return data_[static_cast<std::size_t>(i)]; }
  float operator[](std::int64_t i) const { return data_[static_cast<std::size_t>(i)]; }

  // Changes the shape (and layout); keeps the allocation when it is large
  // enough, so the per-step buffers of a layer are allocated once. Values
  // beyond the old size are left uninitialised. Throws if a blocked layout
  // does not fit the shape, or if a view's storage cannot hold it.
  void reshape(const Shape& shape, Layout layout = Layout::plain);
  void fill(float value);

 private:
  void forget_storage();  // what a moved-from tensor is left as: empty, owning

  Shape shape_;
  std::vector<float, AlignedAllocator<float>> owned_;  // empty for a view
  float* data_ = nullptr;                              // owned_.data() or the view's storage
  std::size_t size_ = 0;                               // numel
  std::size_t view_capacity_ = 0;                      // > 0 for a view of non-empty storage
  Layout layout_ = Layout::plain;
};

// Whether `layout` can hold a tensor of this shape (blocked: 4-D with C a
// multiple of the block).
bool layout_fits(const Shape& shape, Layout layout);

// Copies `src` into `dst` (reshaped to src's shape) in `layout`.
void convert_layout(const Tensor& src, Layout layout, Tensor& dst);
// The same for values of `shape` held in `from` layout elsewhere (e.g. a
// tensor of another shape with the same number of values).
void convert_layout(std::span<const float> src, const Shape& shape, Layout from, Layout to,
                    Tensor& dst);
// `t` itself when it already has `layout`, else a conversion held in `scratch`.
const Tensor& in_layout(const Tensor& t, Layout layout, Tensor& scratch);
// A plain (NCHW) copy, e.g. for comparing with a reference.
Tensor to_plain(const Tensor& t);

}  // namespace lb
