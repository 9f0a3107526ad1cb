#pragma once
// Helpers shared by the oneDNN-backed layers: operands whose layout oneDNN
// chooses, with cached reorders to and from our plain tensors. Private to
// the CPU layers, like context.hpp.
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "runtime/nn/onednn/context.hpp"
#include "runtime/tensor/tensor.hpp"

namespace lb::cpu {

// A descriptor that lets the primitive pick the layout (blocked layouts such
// as nChw16c are what the fast JIT kernels run on).
inline dnnl::memory::desc any_desc(const Shape& shape) {
  return {dims_of(shape), dnnl::memory::data_type::f32, dnnl::memory::format_tag::any};
}

// Staging memory that lives only for one layer call (a reordered output or
// gradient), shared by all layers of this thread: each slot is one growing
// buffer, so transient staging costs the largest such tensor once instead of
// once per layer. Layers of a thread run one at a time, and within a call
// each slot holds one live tensor. The returned pointer is valid until the
// next call for the same slot asks for more bytes.
inline void* scratch(int slot, std::size_t bytes) {
  struct Buffer {
    std::unique_ptr<void, decltype(&std::free)> data{nullptr, &std::free};
    std::size_t bytes = 0;
  };
  thread_local Buffer buffers[2];
  Buffer& b = buffers[slot];
  if (bytes > b.bytes) {
    stream().wait();  // nothing queued may still use the old buffer
    const std::size_t rounded = (bytes + 4095) / 4096 * 4096;
    b.data.reset(std::aligned_alloc(4096, rounded));
    if (!b.data) throw std::bad_alloc();
    b.bytes = rounded;
  }
  return b.data.get();
}

// The Layout that describes `desc` exactly, if one does (blocked layouts only
// when `blocked_ok`: parameters stay plain for the optimizer and checkpoints).
inline std::optional<Layout> layout_of(const dnnl::memory::desc& desc, const Shape& shape,
                                       bool blocked_ok = true) {
  for (Layout l : {Layout::plain, Layout::nChw16c, Layout::nChw8c}) {
    if (l != Layout::plain && !blocked_ok) break;
    if (layout_fits(shape, l) && desc == desc_of(shape, l)) return l;
  }
  return std::nullopt;
}

// Where an Operand keeps its data when the chosen layout is not one a Tensor
// can carry.
enum class Staging {
  owned,     // its own buffer, kept across calls (forward src for backward, weights)
  scratch0,  // scratch slot 0: outputs and incoming gradients
  scratch1,  // scratch slot 1: gradients going out, inputs in evaluation
};

// One operand of a primitive, in the layout the primitive chose. When a
// Tensor layout expresses that choice the primitive reads or writes the
// caller's tensor directly (an output is then produced in that layout);
// otherwise the data passes through a staging buffer by way of a cached
// reorder. Inputs may arrive in any layout.
class Operand {
 public:
  Operand() = default;
  // `shape` is the logical shape; `activation` allows blocked tensors
  // (parameters are always plain).
  Operand(const dnnl::memory::desc& chosen, const Shape& shape, Staging staging, bool activation)
      : chosen_(chosen),
        shape_(shape),
        native_(layout_of(chosen, shape, activation)),
        staging_(staging),
        direct_(chosen, engine(), DNNL_MEMORY_NONE) {}

  const dnnl::memory::desc& desc() const { return chosen_; }
  // The memory the primitive uses; meaningful after load() or bind().
  const dnnl::memory& memory() { return staged_now_ ? staging_memory() : direct_; }

  // For an input: makes memory() hold `t` in the chosen layout. Reorders are
  // only enqueued; the caller waits after its primitive.
  const dnnl::memory& load(const Tensor& t) {
    staged_now_ = !(native_ && t.layout() == *native_);
    if (!staged_now_) {
      direct_.set_data_handle(const_cast<float*>(t.data()));  // never written through
      return direct_;
    }
    const auto from = static_cast<std::size_t>(t.layout());
    if (!to_chosen_[from]) {
      outer_[from] = dnnl::memory(desc_of(shape_, t.layout()), engine(), DNNL_MEMORY_NONE);
      to_chosen_[from] = make_reorder(outer_[from].get_desc(), chosen_);
    }
    outer_[from].set_data_handle(const_cast<float*>(t.data()));
    to_chosen_[from].execute(stream(), {{DNNL_ARG_FROM, outer_[from]}, {DNNL_ARG_TO, memory()}});
    return memory();
  }

  // For an output: reshapes `t` (to the chosen layout when a Tensor can carry
  // it, else plain) and returns the memory the primitive writes; store() then
  // brings a staged result into `t`.
  const dnnl::memory& bind(Tensor& t) {
    staged_now_ = !native_;
    t.reshape(shape_, native_.value_or(Layout::plain));
    if (!staged_now_) {
      direct_.set_data_handle(t.data());
      return direct_;
    }
    if (!to_plain_) {
      plain_out_ = dnnl::memory(desc_of(shape_, Layout::plain), engine(), DNNL_MEMORY_NONE);
      to_plain_ = make_reorder(chosen_, plain_out_.get_desc());
    }
    plain_out_.set_data_handle(t.data());
    return memory();
  }
  void store() {
    if (!staged_now_) return;
    to_plain_.execute(stream(), {{DNNL_ARG_FROM, memory()}, {DNNL_ARG_TO, plain_out_}});
  }

 private:
  static dnnl::reorder make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
    return dnnl::reorder(dnnl::reorder::primitive_desc(engine(), from, engine(), to));
  }
  // An owned staging buffer is allocated on first use, so an operand that
  // ends up unused (another one's data is reused) costs no memory.
  const dnnl::memory& staging_memory() {
    if (staging_ == Staging::owned) {
      if (!staged_) staged_ = dnnl::memory(chosen_, engine());
    } else {
      if (!staged_) staged_ = dnnl::memory(chosen_, engine(), DNNL_MEMORY_NONE);
      staged_.set_data_handle(scratch(staging_ == Staging::scratch0 ? 0 : 1, chosen_.get_size()));
    }
    return staged_;
  }

  dnnl::memory::desc chosen_;
  Shape shape_;
  std::optional<Layout> native_;  // the Tensor layout equal to chosen_, if any
  Staging staging_ = Staging::owned;
  bool staged_now_ = false;  // the last load()/bind() went through staging
  dnnl::memory direct_;      // chosen_ over the caller's tensor
  dnnl::memory staged_;      // chosen_ over the staging buffer
  dnnl::memory outer_[3];    // the caller's input in each Layout
  dnnl::reorder to_chosen_[3];
  dnnl::memory plain_out_;  // the caller's output, plain
  dnnl::reorder to_plain_;
};

// A memory object over a plain tensor whose buffer changes between calls
// (rebinding a handle is cheaper than creating the memory object each time).
class PlainView {
 public:
  PlainView() = default;
  explicit PlainView(const Shape& shape) : mem_(plain_desc(shape), engine(), DNNL_MEMORY_NONE) {}
  const dnnl::memory& at(const float* data) {
    mem_.set_data_handle(const_cast<float*>(data));
    return mem_;
  }

 private:
  dnnl::memory mem_;
};

}  // namespace lb::cpu
