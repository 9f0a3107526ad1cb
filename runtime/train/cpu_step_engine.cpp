#include "runtime/train/cpu_step_engine.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include "runtime/core/errors.hpp"
#include "runtime/core/half.hpp"
#include "runtime/core/reductions.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/nn/batch_norm.hpp"
#include "runtime/train/bucket_timings.hpp"

namespace lb {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// With several ranks, every gradient moves into one arena in the order
// backward produces them (the reverse of the parameters' forward order;
// every rank derives the same list), so that fusion buckets are slices of it.
std::unique_ptr<GradientArena> gradient_arena(const EngineSetup& setup) {
  if (setup.world == nullptr || setup.world->size() == 1) return nullptr;
  const std::vector<Param*> params = setup.model.net->params();
  std::vector<Tensor*> grads;
  for (auto it = params.rbegin(); it != params.rend(); ++it) grads.push_back(&(*it)->grad);
  return std::make_unique<GradientArena>(grads);
}

std::int64_t total_bytes(const std::vector<std::span<float>>& grads) {
  std::int64_t bytes = 0;
  for (const auto& g : grads) bytes += std::int64_t(g.size_bytes());
  return bytes;
}

std::vector<BatchNorm*> batch_norms(Layer& net) {
  std::vector<BatchNorm*> norms;
  for_each_leaf(net, [&](Layer& l) {
    if (auto* bn = dynamic_cast<BatchNorm*>(&l)) norms.push_back(bn);
  });
  return norms;
}

// How many of a batch's `rows` images make the noise scale's small batch in
// one process: about half, in whole ghost-BatchNorm groups so that each
// image is normalised exactly as in the step; 0 when there is no smaller batch.
std::int64_t small_batch_images(std::int64_t rows, std::int64_t ghost) {
  if (ghost > 0 && rows / ghost >= 2) return rows / ghost / 2 * ghost;
  return rows / 2;
}

}  // namespace

CpuStepEngine::CpuStepEngine(const EngineSetup& setup)
    : spec_(setup.spec),
      model_(setup.model),
      arena_(gradient_arena(setup)),  // before state_, which keeps the gradients' spans
      state_(model_.net->params(), model_.net->buffers(), spec_.optimizer, spec_.train.precision),
      optimizer_(make_optimizer(spec_.optimizer)) {
  if (setup.world == nullptr || setup.world->size() == 1) return;
  ranks_ = setup.world->size();
  reducer_ = std::make_unique<Allreducer>(*setup.world, allreduce_config(spec_.comm));
  fusion_bytes_ =
      resolve_fusion_bytes(spec_.comm.fusion_bytes, total_bytes(arena_->grads()), *reducer_);
  sync_ = std::make_unique<GradientSync>(*reducer_, *arena_, fusion_bytes_, spec_.comm.overlap);
}

CpuStepEngine::~CpuStepEngine() = default;

void CpuStepEngine::attach(const StepSinks& sinks) {
  trace_ = &sinks.trace;
  profile_ = &sinks.profile;
  hooks_ = std::make_unique<LayerHooks>(model_.net->params(), sinks.profile, &sinks.trace,
                                        spec_.comm.overlap ? sync_.get() : nullptr);
}

Context CpuStepEngine::context(Mode mode, std::int64_t step) const {
  Context ctx{mode, spec_.train.precision, mix(spec_.train.seed, static_cast<std::uint64_t>(step))};
  ctx.bn_ghost_batch = spec_.train.bn_ghost_batch;
  return ctx;
}

void CpuStepEngine::trace_phase(double start_us, const char* name, double duration_s,
                                std::int64_t step) {
  trace_->complete(name, "train", start_us, duration_s * 1e6, 0, {{"step", step}});
}

// Waits for the gradient all-reduces (with overlap most were started during
// backward; without, they all start here) and traces each bucket on the
// communication track. The wait is the communication backward did not hide.
void CpuStepEngine::finish_gradient_sync(std::int64_t step) {
  if (!sync_) return;
  // Without overlap every all-reduce runs here, after backward: all of it is exposed.
  const auto wait_start = Clock::now();
  const double wait_us = trace_->now_us();
  if (!spec_.comm.overlap) {
    for (const Bucket& b : sync_->buckets()) {
      for (std::size_t t : b.tensors) sync_->ready(t);
    }
  }
  sync_->finish();
  const double exposed = seconds_since(wait_start);
  trace_phase(wait_us, "allreduce wait", exposed, step);
  profile_->add_phase(Phase::exposed_comm, exposed);
  record_bucket_timings(sync_->timings(), sync_start_us_, spec_.comm.fp16_gradients, step, *trace_,
                        *profile_);
}

// The squared norm of the gradient of the batch's first images, with the
// step's weights, taken before the step. The forward pass in training mode
// moves the BatchNorm running statistics, so they are put back: the step
// then runs exactly as it would without the measurement.
std::optional<CpuStepEngine::SmallBatchNorm> CpuStepEngine::small_batch_gradient(
    const Batch& batch, const StepArgs& args) {
  const Shape& shape = batch.images.shape();
  const std::int64_t images = small_batch_images(shape[0], spec_.train.bn_ghost_batch);
  if (images == 0) return std::nullopt;
  const double start_us = trace_->now_us();
  const auto start = Clock::now();
  Shape small_shape = shape;
  small_shape[0] = images;
  Tensor small(small_shape);
  std::copy_n(batch.images.data(), small.numel(), small.data());
  std::vector<std::vector<float>> running;
  for (Tensor* b : model_.net->buffers()) running.emplace_back(b->span().begin(), b->span().end());

  Context ctx = context(Mode::train, args.step);
  if (spec_.train.bn_ghost_batch > 0 && images % spec_.train.bn_ghost_batch != 0)
    ctx.bn_ghost_batch = 0;
  const Tensor& logits = model_.net->forward(small, ctx);
  loss_fn_.forward(logits, std::span(batch.labels).first(std::size_t(images)),
                   float(spec_.train.label_smoothing));
  Tensor dlogits = loss_fn_.backward(args.scaler.scale());
  if (spec_.train.precision == Precision::fp16) round_to_half(dlogits.span());
  model_.net->backward(dlogits, ctx);
  const double g2 = squared_gradient_norm();

  const std::vector<Tensor*> buffers = model_.net->buffers();
  for (std::size_t i = 0; i < buffers.size(); ++i)
    std::copy(running[i].begin(), running[i].end(), buffers[i]->data());
  trace_phase(start_us, "noise scale: small-batch gradient", seconds_since(start), args.step);
  return SmallBatchNorm{images, g2};
}

double CpuStepEngine::squared_gradient_norm() {
  double sum = 0;
  for (Param* p : model_.net->params()) sum += squared_norm(p->grad.span());
  return sum;
}

// |G_small|^2 and |G_big|^2 of this step, unscaled. With several ranks, each
// rank's own gradient (summed while GradientSync packed it) is a small batch
// and their mean the big one: the ranks' squared norms are averaged, a
// collective every rank makes on the same steps.
std::optional<GradientNormSample> CpuStepEngine::noise_measurement(std::int64_t rows, float scale) {
  const double unscale = 1.0 / (double(scale) * double(scale));
  GradientNormSample s;
  s.g2_big = squared_gradient_norm() * unscale;
  if (sync_) {
    std::vector<float> local{float(sync_->local_squared_norm() * unscale)};
    reducer_->sum(local, Algorithm::mpi);
    s.g2_small = double(local[0]) / ranks_;
    s.b_small = double(rows);
    s.b_big = double(rows) * ranks_;
  } else {
    if (!small_batch_) return std::nullopt;
    s.g2_small = small_batch_->squared_norm * unscale;
    s.b_small = double(small_batch_->images);
    s.b_big = double(rows);
  }
  if (!std::isfinite(s.g2_small) || !std::isfinite(s.g2_big)) return std::nullopt;
  return s;
}

double CpuStepEngine::train_step(const Batch& batch, const StepArgs& args) {
  noise_sample_.reset();
  small_batch_.reset();
  if (args.measure_noise && !sync_) small_batch_ = small_batch_gradient(batch, args);
  hooks_->begin_step(args.step, args.trace_layers);
  Context ctx = context(Mode::train, args.step);
  ctx.observer = hooks_.get();
  auto phase_start = Clock::now();
  double phase_us = trace_->now_us();
  auto phase_done = [&](const char* name, Phase phase) {
    const double elapsed = seconds_since(phase_start);
    trace_phase(phase_us, name, elapsed, args.step);
    profile_->add_phase(phase, elapsed);
    phase_start = Clock::now();
    phase_us = trace_->now_us();
  };
  const Tensor& logits = model_.net->forward(batch.images, ctx);
  const double loss = loss_fn_.forward(logits, batch.labels, float(spec_.train.label_smoothing));
  if (!std::isfinite(loss)) {
    throw DivergedError("training diverged: loss is " + std::to_string(loss) + " at step " +
                        std::to_string(args.step));
  }
  phase_done("forward", Phase::forward);
  if (sync_) {
    sync_->begin_step(args.measure_noise);
    sync_start_us_ = trace_->now_us();
  }
  Tensor dlogits = loss_fn_.backward(args.scaler.scale());
  if (spec_.train.precision == Precision::fp16) round_to_half(dlogits.span());
  model_.net->backward(dlogits, ctx);
  phase_done("backward", Phase::backward);
  finish_gradient_sync(args.step);
  phase_start = Clock::now();  // the optimizer phase starts after the wait
  phase_us = trace_->now_us();
  // The averaged gradients are identical on every rank, so every rank's
  // scaler takes the same decision.
  const bool finite = spec_.train.precision == Precision::fp32 || state_.gradients_finite();
  const float scale = args.scaler.scale();  // the scale this step's gradients carry
  if (args.measure_noise && finite) noise_sample_ = noise_measurement(batch.images.dim(0), scale);
  if (args.scaler.update(finite)) {
    optimizer_->step(state_.slots(), args.lr, 1.0f / scale);
    state_.sync_values();
  }
  phase_done("optimizer", Phase::optimizer);
  return loss;
}

EvalOutcome CpuStepEngine::evaluate(const Batch& batch, std::int64_t step) {
  const Tensor& logits = model_.net->forward(batch.images, context(Mode::eval, step));
  const float loss = loss_fn_.forward(logits, batch.labels, 0.0f);
  return {loss, loss_fn_.correct()};
}

void CpuStepEngine::sum_over_ranks(std::span<float> values) {
  if (reducer_) reducer_->sum(values, Algorithm::mpi);
}

bool CpuStepEngine::begin_bn_recalibration() {
  const std::vector<BatchNorm*> norms = batch_norms(*model_.net);
  for (BatchNorm* bn : norms) bn->begin_recalibration();
  return !norms.empty();
}

void CpuStepEngine::recalibration_forward(const Batch& batch, std::int64_t step) {
  model_.net->forward(batch.images, context(Mode::train, step));
}

void CpuStepEngine::end_bn_recalibration() {
  for (BatchNorm* bn : batch_norms(*model_.net)) bn->end_recalibration();
}

CommLayout CpuStepEngine::comm_layout() const {
  return {reducer_ ? reducer_->group_size() : 1, sync_ ? sync_->buckets().size() : 0,
          fusion_bytes_};
}

}  // namespace lb
