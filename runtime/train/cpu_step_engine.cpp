#include "runtime/train/cpu_step_engine.hpp"

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include "runtime/core/errors.hpp"
#include "runtime/core/half.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/nn/batch_norm.hpp"
#include "runtime/train/bucket_timings.hpp"

namespace lb {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Gradients in the order backward produces them: the reverse of the
// parameters' forward order. Every rank derives the same list.
std::vector<std::span<float>> backward_ordered_grads(const std::vector<Param*>& params) {
  std::vector<std::span<float>> grads;
  for (auto it = params.rbegin(); it != params.rend(); ++it) grads.push_back((*it)->grad.span());
  return grads;
}

std::vector<BatchNorm*> batch_norms(Layer& net) {
  std::vector<BatchNorm*> norms;
  for_each_leaf(net, [&](Layer& l) {
    if (auto* bn = dynamic_cast<BatchNorm*>(&l)) norms.push_back(bn);
  });
  return norms;
}

}  // namespace

CpuStepEngine::CpuStepEngine(const EngineSetup& setup)
    : spec_(setup.spec),
      model_(setup.model),
      state_(model_.net->params(), model_.net->buffers(), spec_.optimizer, spec_.train.precision),
      optimizer_(make_optimizer(spec_.optimizer)) {
  if (setup.world == nullptr || setup.world->size() == 1) return;
  reducer_ = std::make_unique<Allreducer>(*setup.world, allreduce_config(spec_.comm));
  sync_ = std::make_unique<GradientSync>(*reducer_, backward_ordered_grads(model_.net->params()),
                                         spec_.comm.fusion_bytes, spec_.comm.overlap);
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

double CpuStepEngine::train_step(const Batch& batch, const StepArgs& args) {
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
    sync_->begin_step();
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
  return {reducer_ ? reducer_->group_size() : 1, sync_ ? sync_->buckets().size() : 0};
}

}  // namespace lb
