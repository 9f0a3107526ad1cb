#include "runtime/backends/cuda/train/cuda_step_engine.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "runtime/backends/cuda/cuda_error.hpp"
#include "runtime/backends/cuda/net/gpu_batch_norm.hpp"
#include "runtime/backends/cuda/net/gpu_network.hpp"
#include "runtime/backends/cuda/net/tensor_ops.hpp"
#include "runtime/backends/cuda/softmax_cross_entropy.hpp"
#include "runtime/backends/cuda/unscale.hpp"
#include "runtime/comm/allreduce.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/train/bucket_timings.hpp"

namespace lb::cuda {
namespace {

// This rank's GPU: its index among the ranks of its node (nccl_communicator.hpp).
int device_of_rank(Communicator* world) {
  const int devices = device_count();
  if (devices == 0) throw std::runtime_error("no CUDA GPU");
  return world == nullptr ? 0 : device_for_rank(*world, devices);
}

bool several_ranks(const Communicator* world) { return world != nullptr && world->size() > 1; }

// Grows `buffer` to at least `count` elements (its old contents are lost).
template <class T>
std::span<T> at_least(DeviceBuffer<T>& buffer, CachingAllocator& allocator, std::size_t count) {
  if (buffer.size() < count || buffer.data() == nullptr) buffer = DeviceBuffer<T>(allocator, count);
  return buffer.span().first(count);
}

void check_labels(std::span<const std::int32_t> labels, std::int64_t classes) {
  for (std::int32_t y : labels) {
    if (y < 0 || y >= classes) {
      throw std::invalid_argument("softmax cross-entropy: label " + std::to_string(y) +
                                  " outside [0, " + std::to_string(classes) + ")");
    }
  }
}

}  // namespace

CudaStepEngine::CudaStepEngine(const EngineSetup& setup)
    : spec_(setup.spec),
      model_(setup.model),
      world_(setup.world),
      device_(device_of_rank(setup.world)),
      cudnn_(stream_.get()),
      cublas_(stream_.get()),
      runtime_{stream_.get(), cudnn_, cublas_, allocator_,
               setup.spec.train.precision == Precision::fp16 ? DataType::fp16 : DataType::fp32},
      net_(build_gpu_layer(*setup.model.net, runtime_)),
      state_(setup.model, setup.spec, runtime_),
      gate_on_found_inf_(setup.spec.train.precision == Precision::fp16 &&
                         setup.spec.train.loss_scale.mode != LossScaleMode::none) {
  state_.bind(*net_);
  net_->for_each_leaf([&](GpuLayer& leaf) { leaf_params_[&leaf] = leaf.params(); });
  if (spec_.optimizer.name == OptimizerKind::lars) {
    lars_ = std::make_unique<CudaLarsOptimizer>(spec_.optimizer, allocator_, stream_.get());
  } else {
    sgd_ = std::make_unique<CudaSgdOptimizer>(spec_.optimizer, stream_.get());
  }
  found_inf_ = DeviceBuffer<int>(allocator_, 1);
  host_found_inf_ = PinnedBuffer<int>(1);
  if (!several_ranks(world_)) return;
  nccl_ = std::make_unique<NcclCommunicator>(*world_, spec_.comm.timeout_s);
  reducer_ = std::make_unique<NcclAllreducer>(*nccl_, allreduce_config(spec_.comm));
  const std::vector<std::size_t> sizes = state_.backward_sizes();
  const std::vector<std::size_t> offsets = state_.backward_offsets();
  std::int64_t gradient_bytes = 0;
  for (std::size_t n : sizes) gradient_bytes += std::int64_t(n * sizeof(float));
  // NCCL's ring spans every rank; its links are the node's GPU links when
  // all ranks share a node, else the network.
  const bool one_node = world_->ranks_per_node() >= world_->size();
  const LinkFigures link = one_node ? kGpuNodeLink : kNetworkLink;
  FusionJob job;
  job.gradient_bytes = gradient_bytes;
  job.measured = reducer_->config().measured_cost;
  job.ring = {world_->size(), link.latency_s, link.bandwidth_bytes_per_s};
  fusion_bytes_ = resolve_fusion_bytes(spec_.comm.fusion_bytes, job);
  sync_ =
      std::make_unique<DeviceGradientSync>(*reducer_, state_.gradients(), sizes, offsets,
                                           fusion_bytes_, spec_.comm.fp16_gradients, allocator_);
}

// Kernels may still read the buffers being freed: wait for the device
// first. Must not throw.
CudaStepEngine::~CudaStepEngine() { cudaDeviceSynchronize(); }

void CudaStepEngine::attach(const StepSinks& sinks) {
  trace_ = &sinks.trace;
  profile_ = &sinks.profile;
  // The all-reduces start from finished(), not from the hooks.
  hooks_ = std::make_unique<LayerHooks>(model_.net->params(), sinks.profile, &sinks.trace, nullptr);
}

std::uint64_t CudaStepEngine::step_seed(std::int64_t step) const {
  return mix(spec_.train.seed, static_cast<std::uint64_t>(step));
}

void CudaStepEngine::wait_for(const Event& event) {
  // With NCCL in flight a plain wait could hang on a dead peer; the
  // communicator's wait has the comm.timeout_s deadline.
  if (nccl_) {
    nccl_->wait(event, "training step (gradient all-reduce)");
  } else {
    event.synchronize();
  }
}

// Copies `batch` into `slot`'s pinned buffers and enqueues their copies to
// the device on `stream`. The staging buffers are reused only once the
// slot's previous copies have read them.
void CudaStepEngine::stage(InputSlot& slot, const Batch& batch, cudaStream_t stream) {
  const auto n = static_cast<std::size_t>(batch.images.numel());
  const std::size_t rows = batch.labels.size();
  slot.copied.synchronize();
  slot.images.ensure(n);
  slot.labels.ensure(rows);
  std::memcpy(slot.images.data(), batch.images.data(), n * sizeof(float));
  std::memcpy(slot.labels.data(), batch.labels.data(), rows * sizeof(std::int32_t));
  const GpuTensor images =
      slot.device_images.view(allocator_, batch.images.shape(), DataType::fp32);
  copy(std::span<const float>(slot.images.span().first(n)), images.as<float>(), stream);
  copy(std::span<const std::int32_t>(slot.labels.span().first(rows)),
       at_least(slot.device_labels, allocator_, rows), stream);
  slot.copied.record(stream);
  slot.source = &batch;
  slot.epoch = batch.epoch;
  slot.index = batch.index;
}

// The batch on the device as the network's input type: the slot it was
// staged in, or (not staged) a copy now on the compute stream into the slot
// last used, whose readers are all earlier on that stream.
const GpuTensor& CudaStepEngine::input_for(const Batch& batch) {
  const cudaStream_t s = stream_.get();
  auto holds = [&](const InputSlot& slot) {
    return slot.source == &batch && slot.epoch == batch.epoch && slot.index == batch.index;
  };
  const int staged = holds(inputs_[0]) ? 0 : holds(inputs_[1]) ? 1 : -1;
  if (staged < 0) {
    stage(inputs_[current_input_], batch, s);
  } else {
    current_input_ = staged;
    LB_CUDA_CHECK(cudaStreamWaitEvent(s, inputs_[staged].copied.get(), 0));
  }
  InputSlot& slot = inputs_[current_input_];
  slot.source = nullptr;  // taken
  labels_ = slot.device_labels.span().first(batch.labels.size());
  input_ = slot.device_images.view(allocator_, batch.images.shape(), DataType::fp32);
  if (runtime_.type == DataType::fp16) {
    const GpuTensor images = input_;
    input_ = images_half_.view(allocator_, batch.images.shape(), DataType::fp16);
    cast(images, input_, s);
  }
  return input_;
}

// While the step in flight computes: the host copies the next batch into
// the other slot's pinned buffers and the copy engine sends it.
void CudaStepEngine::stage_next(const Batch& next) {
  InputSlot& slot = inputs_[1 - current_input_];
  const bool allocates = !slot.device_images.fits(next.images.shape(), DataType::fp32) ||
                         slot.device_labels.size() < next.labels.size();
  if (allocates) {
    // The caching allocator's reuse is ordered within one stream only: a new
    // block may be one the compute stream has freed but still reads. So the
    // first copy into a slot (or a larger batch) waits for all compute work.
    compute_now_.record(stream_.get());
    LB_CUDA_CHECK(cudaStreamWaitEvent(copy_stream_.get(), compute_now_.get(), 0));
  } else {
    LB_CUDA_CHECK(cudaStreamWaitEvent(copy_stream_.get(), slot.consumed.get(), 0));
  }
  stage(slot, next, copy_stream_.get());
}

// Marks the end of the current input's readers (everything enqueued so far).
void CudaStepEngine::release_input() { inputs_[current_input_].consumed.record(stream_.get()); }

// Fills row_loss_ and correct_ and returns d loss / d logits (times the
// loss scale) in the network's type, from logits (N, K) of any type.
GpuTensor CudaStepEngine::loss_and_gradient(const GpuTensor& logits, float label_smoothing,
                                            float loss_scale) {
  const std::int64_t rows = logits.shape.at(0), classes = logits.shape.at(1);
  const auto n = static_cast<std::size_t>(rows);
  const cudaStream_t s = stream_.get();
  GpuTensor z = logits;
  if (z.type != DataType::fp32) {
    z = logits_fp32_.view(allocator_, logits.shape, DataType::fp32);
    cast(logits, z, s);
  }
  const GpuTensor d = dlogits_.view(allocator_, logits.shape, DataType::fp32);
  softmax_cross_entropy({rows, classes}, z.as<float>(), labels_.first(n), label_smoothing,
                        loss_scale, at_least(row_loss_, allocator_, n),
                        at_least(correct_, allocator_, n), d.as<float>(), s);
  if (runtime_.type == DataType::fp32) return d;
  const GpuTensor half = dlogits_half_.view(allocator_, logits.shape, DataType::fp16);
  cast(d, half, s);
  return half;
}

// Enqueues the copies of the loss and hit per row into pinned memory.
void CudaStepEngine::read_back_loss(std::int64_t rows) {
  const auto n = static_cast<std::size_t>(rows);
  host_row_loss_.ensure(n);
  host_correct_.ensure(n);
  copy(std::span<const float>(row_loss_.span().first(n)), host_row_loss_.span().first(n),
       stream_.get());
  copy(std::span<const std::int32_t>(correct_.span().first(n)), host_correct_.span().first(n),
       stream_.get());
}

float CudaStepEngine::mean_loss_read_back(std::int64_t rows) const {
  return mean_loss(host_row_loss_.span().first(static_cast<std::size_t>(rows)));
}

// The unscale kernel with scale 1 is the inf/NaN check alone (g * 1 = g):
// the optimizers take the loss-scaled gradients and unscale them in their
// own pass, as the CPU optimizers do, so the updates agree bit for bit.
void CudaStepEngine::optimizer_step(float lr, float loss_scale) {
  const cudaStream_t s = stream_.get();
  if (runtime_.type == DataType::fp16) {
    const std::array<std::span<const float>, 1> grads{state_.gradients()};
    const std::array<std::span<float>, 1> out{state_.gradients()};
    unscale_and_check(grads, out, 1.0f, found_inf_.span(), s);
    copy(std::span<const int>(found_inf_.span()), host_found_inf_.span(), s);
  }
  const int* skip = gate_on_found_inf_ ? found_inf_.data() : nullptr;
  if (lars_) {
    lars_->step(state_.slots(), lr, 1.0f / loss_scale, skip);
  } else {
    sgd_->step(state_.slots(), lr, 1.0f / loss_scale, skip);
  }
  state_.refresh_weights(s);
}

double CudaStepEngine::train_step(const Batch& batch, const StepArgs& args) {
  hooks_->begin_step(args.step, args.trace_layers);
  time_layers_ = args.trace_layers || profile_->recording();
  layer_timings_.clear();
  const cudaStream_t s = stream_.get();
  check_labels(batch.labels, model_.classes);
  StepMarks marks;
  timer_.begin_step(s);
  const GpuPass pass{Mode::train, step_seed(args.step), this};
  const GpuTensor& logits = net_->forward(input_for(batch), pass);
  const float scale = args.scaler.scale();  // the scale this step's gradients carry
  const GpuTensor dlogits = loss_and_gradient(logits, float(spec_.train.label_smoothing), scale);
  read_back_loss(logits.shape[0]);
  marks.forward_end = timer_.mark(s);
  if (sync_) sync_->begin_step();
  net_->backward(dlogits, pass);
  marks.backward_end = timer_.mark(s);
  if (sync_) {
    if (!spec_.comm.overlap) sync_->ready_all(s);
    sync_->finish(s);
  }
  marks.comm_end = timer_.mark(s);
  optimizer_step(args.lr, scale);
  release_input();
  marks.end = timer_.mark(s);
  if (args.next != nullptr) stage_next(*args.next);  // host work while the device computes
  timer_.finish_step(marks.end, [this](const Event& e) { wait_for(e); });
  const double loss = mean_loss_read_back(logits.shape[0]);
  report(marks, args.step);
  if (!std::isfinite(loss)) {
    throw DivergedError("training diverged: loss is " + std::to_string(loss) + " at step " +
                        std::to_string(args.step));
  }
  // Every rank's flag is the same (the averaged gradients are), so every
  // rank's scaler takes the same decision the device already took.
  const bool finite = runtime_.type == DataType::fp32 || host_found_inf_.data()[0] == 0;
  args.scaler.update(finite);
  return loss;
}

void CudaStepEngine::started(const GpuLayer& layer, Direction direction) {
  if (!time_layers_) return;
  layer_timings_.push_back({&layer.source(), direction, timer_.mark(stream_.get()), -1});
}

void CudaStepEngine::finished(const GpuLayer& layer, Direction direction) {
  if (time_layers_) layer_timings_.back().end = timer_.mark(stream_.get());
  if (direction != Direction::backward) return;
  const auto it = leaf_params_.find(&layer);
  if (it == leaf_params_.end()) return;  // a composite's own work
  for (const GpuParam* p : it->second) {
    state_.gradient_to_fp32(*p, stream_.get());
    if (sync_ && spec_.comm.overlap) sync_->ready(state_.backward_index(p->source), stream_.get());
  }
}

void CudaStepEngine::report_phase(const char* name, Phase phase, int from, int to,
                                  std::int64_t step) {
  const double seconds = timer_.seconds(from, to);
  trace_->complete(name, "train", trace_->us_at(timer_.at(from)), seconds * 1e6, 0,
                   {{"step", step}});
  profile_->add_phase(phase, seconds);
}

// The step's CUDA-event timings, as the CPU engine reports its host timings.
void CudaStepEngine::report(const StepMarks& m, std::int64_t step) {
  for (const LayerTiming& t : layer_timings_) {
    if (t.direction == Direction::forward) {
      hooks_->forward_done(*t.layer, timer_.at(t.begin), timer_.at(t.end));
    } else {
      hooks_->backward_done(*t.layer, timer_.at(t.begin), timer_.at(t.end));
    }
  }
  report_phase("forward", Phase::forward, m.start, m.forward_end, step);
  report_phase("backward", Phase::backward, m.forward_end, m.backward_end, step);
  if (sync_) {
    report_phase("allreduce wait", Phase::exposed_comm, m.backward_end, m.comm_end, step);
    record_bucket_timings(sync_->timings(timer_.start_event()), trace_->us_at(timer_.at(m.start)),
                          spec_.comm.fp16_gradients, step, *trace_, *profile_);
  }
  report_phase("optimizer", Phase::optimizer, m.comm_end, m.end, step);
}

EvalOutcome CudaStepEngine::evaluate(const Batch& batch, std::int64_t step) {
  check_labels(batch.labels, model_.classes);
  const GpuPass pass{Mode::eval, step_seed(step), nullptr};
  const GpuTensor& logits = net_->forward(input_for(batch), pass);
  loss_and_gradient(logits, 0.0f, 1.0f);
  release_input();
  const std::int64_t rows = logits.shape[0];
  read_back_loss(rows);
  stream_.synchronize();
  std::int64_t correct = 0;
  for (std::int32_t hit : host_correct_.span().first(static_cast<std::size_t>(rows)))
    correct += hit;
  return {mean_loss_read_back(rows), correct};
}

void CudaStepEngine::sum_over_ranks(std::span<float> values) {
  // Host values: the host communicator's all-reduce, as the CPU engine's `mpi`.
  if (several_ranks(world_)) world_->native_allreduce_sum(values);
}

bool CudaStepEngine::begin_bn_recalibration() {
  bool any = false;
  net_->for_each_leaf([&](GpuLayer& leaf) {
    if (auto* bn = dynamic_cast<GpuBatchNorm*>(&leaf)) {
      bn->begin_recalibration();
      any = true;
    }
  });
  return any;
}

void CudaStepEngine::recalibration_forward(const Batch& batch, std::int64_t step) {
  net_->forward(input_for(batch), {Mode::train, step_seed(step), nullptr});
  release_input();
}

void CudaStepEngine::end_bn_recalibration() {
  net_->for_each_leaf([](GpuLayer& leaf) {
    if (auto* bn = dynamic_cast<GpuBatchNorm*>(&leaf)) bn->end_recalibration();
  });
  stream_.synchronize();
}

CommLayout CudaStepEngine::comm_layout() const {
  return {reducer_ ? reducer_->group_size() : 1, sync_ ? sync_->buckets().size() : 0,
          fusion_bytes_};
}

}  // namespace lb::cuda
