#include "runtime/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <deque>
#include <numeric>
#include <ostream>

#include "runtime/backends/cpu/dnnl_context.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "runtime/core/half.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/data/batch_loader.hpp"
#include "runtime/data/datasets.hpp"
#include "runtime/models/model.hpp"
#include "runtime/nn/softmax_cross_entropy.hpp"
#include "runtime/optim/loss_scaler.hpp"
#include "runtime/optim/optimizer.hpp"
#include "runtime/optim/schedule.hpp"
#include "runtime/train/batch_prefetcher.hpp"
#include "runtime/train/checkpoint.hpp"
#include "runtime/train/metrics_log.hpp"
#include "runtime/train/progress.hpp"
#include "runtime/train/training_state.hpp"

namespace lb {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kEvalBatch = 500;
constexpr const char* kCheckpointFile = "checkpoint.bin";

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::int64_t epochs_to_steps(double epochs, std::int64_t steps_per_epoch) {
  return std::max<std::int64_t>(1, std::llround(epochs * double(steps_per_epoch)));
}

struct EvalResult {
  double accuracy = 0, loss = 0;
};

}  // namespace

struct Trainer::Impl {
  Spec spec;
  TrainOptions options;
  std::ostream& out;
  Progress progress;
  ImageSet train_set, test_set;
  std::unique_ptr<Model> model;
  std::unique_ptr<BatchLoader> train_loader, test_loader;
  std::unique_ptr<TrainingState> state;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<LrSchedule> schedule;
  std::unique_ptr<LossScaler> scaler;
  std::unique_ptr<MetricsLog> metrics;
  SoftmaxCrossEntropy loss_fn;
  std::int64_t steps_per_epoch = 0, total_steps = 0, step = 0;
  std::deque<double> recent_losses;  // the last log window, for final_loss
  double train_time_s = 0, data_wait_s = 0;
  std::int64_t images_trained = 0;
  EvalResult last_eval;
  bool evaluated = false;  // last_eval holds this model's accuracy

  Impl(const Spec& s, TrainOptions o, std::ostream& os)
      : spec(s), options(std::move(o)), out(os), progress(os, options.terminal, options.quiet) {}

  void setup();
  void build_model();
  void resume_from_checkpoint();
  TrainResult run();
  double train_step(const Batch& batch);
  EvalResult evaluate();
  void log_step(double loss, double lr, double step_images_per_s);
  void end_of_interval(std::int64_t done);
  void save();
  TrainResult finish();
  Context context(Mode mode) const {
    return {mode, spec.train.precision, mix(spec.train.seed, static_cast<std::uint64_t>(step))};
  }
};

void Trainer::Impl::setup() {
  cpu::set_threads(spec.train.threads);
  if (spec.device != "cpu") {
    throw SpecError("device", "\"" + spec.device + "\" is not available in this build (cpu only)");
  }
  train_set = load_dataset(spec.data, true, spec.train.seed);
  test_set = load_dataset(spec.data, false, spec.train.seed);
  LoaderOptions train_opts{spec.train.global_batch, true, true, spec.data.augment, spec.train.seed};
  train_loader = std::make_unique<BatchLoader>(train_set, train_opts);
  LoaderOptions test_opts{kEvalBatch, false, false, spec.data.augment, spec.train.seed};
  test_opts.drop_last = false;
  test_loader = std::make_unique<BatchLoader>(test_set, test_opts);
  steps_per_epoch = train_loader->batches_per_epoch();
  if (steps_per_epoch == 0) {
    throw SpecError("train.global_batch", "expected at most the " + std::to_string(train_set.count) +
                                              " training images, got " +
                                              std::to_string(spec.train.global_batch));
  }
  total_steps = epochs_to_steps(spec.train.epochs, steps_per_epoch);
  build_model();
  if (options.resume) resume_from_checkpoint();
}

void Trainer::Impl::build_model() {
  const Shape chw{train_set.channels, train_set.height, train_set.width};
  try {
    model = make_model(spec.model.name, chw, train_set.classes, spec.model.dropout);
  } catch (const std::invalid_argument& e) {
    throw SpecError("model.name", e.what());
  }
  Rng rng(mix(spec.train.seed, 0x6d6f64656cull));  // "model"
  model->net->init(rng);
  state = std::make_unique<TrainingState>(model->net->params(), model->net->buffers(),
                                          spec.optimizer, spec.train.precision);
  optimizer = make_optimizer(spec.optimizer);
  schedule = std::make_unique<LrSchedule>(spec.optimizer.lr, spec.train.global_batch,
                                          steps_per_epoch, total_steps);
  scaler = std::make_unique<LossScaler>(spec.train.loss_scale,
                                        spec.train.precision == Precision::fp16);
}

void Trainer::Impl::resume_from_checkpoint() {
  const auto file = options.out / kCheckpointFile;
  if (!std::filesystem::exists(file)) throw InputError(file.string() + ": no checkpoint to resume from");
  const LoadedCheckpoint loaded = load_checkpoint(file, state->checkpoint_tensors());
  step = loaded.step;
  const auto& s = loaded.meta.at("loss_scaler");
  scaler->restore({s.at("scale").get<double>(), s.at("clean_steps").get<std::int64_t>(),
                   s.at("skipped").get<std::int64_t>()});
  state->sync_values();
}

double Trainer::Impl::train_step(const Batch& batch) {
  const Context ctx = context(Mode::train);
  const Tensor& logits = model->net->forward(batch.images, ctx);
  const double loss = loss_fn.forward(logits, batch.labels, float(spec.train.label_smoothing));
  if (!std::isfinite(loss)) {
    throw std::runtime_error("training diverged: loss is " + std::to_string(loss) + " at step " +
                             std::to_string(step));
  }
  Tensor dlogits = loss_fn.backward(scaler->scale());
  if (spec.train.precision == Precision::fp16) round_to_half(dlogits.span());
  model->net->backward(dlogits, ctx);
  state->round_gradients();
  const bool finite = spec.train.precision == Precision::fp32 || state->gradients_finite();
  const float scale = scaler->scale();  // the scale this step's gradients carry
  if (scaler->update(finite)) {
    optimizer->step(state->slots(), float(schedule->at(step)), 1.0f / scale);
    state->sync_values();
  }
  return loss;
}

EvalResult Trainer::Impl::evaluate() {
  const Context ctx = context(Mode::eval);
  double loss_sum = 0;
  std::int64_t correct = 0;
  Batch batch;
  for (std::int64_t i = 0; i < test_loader->batches_per_epoch(); ++i) {
    test_loader->fill(0, i, batch);
    const Tensor& logits = model->net->forward(batch.images, ctx);
    loss_sum += loss_fn.forward(logits, batch.labels, 0.0f) * double(batch.labels.size());
    correct += loss_fn.correct();
  }
  return {double(correct) / double(test_set.count), loss_sum / double(test_set.count)};
}

void Trainer::Impl::log_step(double loss, double lr, double images_per_s) {
  recent_losses.push_back(loss);
  if (recent_losses.size() > static_cast<std::size_t>(spec.train.log_every_steps)) recent_losses.pop_front();
  if (step % spec.train.log_every_steps != 0 && step != total_steps) return;
  const double mean_rate = train_time_s > 0 ? double(images_trained) / train_time_s : 0;
  metrics->write({{"type", "step"}, {"step", step}, {"epoch", double(step) / steps_per_epoch},
                  {"loss", loss}, {"lr", lr}, {"loss_scale", scaler->scale()},
                  {"skipped_steps", scaler->skipped_steps()}, {"images_per_s", images_per_s},
                  {"data_wait_s", data_wait_s}});
  progress.report({step, total_steps, double(step) / steps_per_epoch,
                   int(std::ceil(spec.train.epochs)), loss, lr, scaler->scale(), mean_rate,
                   mean_rate > 0 ? double(total_steps - step) * spec.train.global_batch / mean_rate : 0});
}

void Trainer::Impl::save() {
  const auto s = scaler->state();
  const nlohmann::json meta{
      {"model", spec.model.name},
      {"loss_scaler", {{"scale", s.scale}, {"clean_steps", s.clean_steps}, {"skipped", s.skipped}}}};
  save_checkpoint(options.out / kCheckpointFile, step, meta, state->checkpoint_tensors());
}

void Trainer::Impl::end_of_interval(std::int64_t done) {
  const auto every = [&](double epochs) {
    return epochs > 0 && done % epochs_to_steps(epochs, steps_per_epoch) == 0;
  };
  if (every(spec.train.eval_every_epochs) || done == total_steps) {
    last_eval = evaluate();
    evaluated = true;
    metrics->write({{"type", "eval"}, {"step", done}, {"epoch", double(done) / steps_per_epoch},
                    {"test_accuracy", last_eval.accuracy}, {"test_loss", last_eval.loss}});
    char line[128];
    std::snprintf(line, sizeof line, "epoch %.2f: test accuracy %.4f, test loss %.4f",
                  double(done) / steps_per_epoch, last_eval.accuracy, last_eval.loss);
    progress.message(line);
  }
  if (every(spec.train.checkpoint_every_epochs)) save();
}

TrainResult Trainer::Impl::run() {
  std::filesystem::create_directories(options.out);
  metrics = std::make_unique<MetricsLog>(options.out / "metrics.jsonl", options.resume);
  const std::int64_t end = options.max_steps > 0 ? std::min(options.max_steps, total_steps) : total_steps;
  BatchPrefetcher prefetcher(*train_loader, step, end, spec.data.prefetch, spec.data.workers);
  while (step < end) {
    double waited = 0;
    const Batch& batch = prefetcher.next(step, waited);
    const auto start = Clock::now();
    const double loss = train_step(batch);
    const double elapsed = seconds_since(start);
    train_time_s += elapsed;
    data_wait_s += waited;
    images_trained += static_cast<std::int64_t>(batch.labels.size());
    const double lr = schedule->at(step);
    ++step;
    log_step(loss, lr, double(batch.labels.size()) / elapsed);
    end_of_interval(step);
  }
  if (step < total_steps) save();  // stopped early by max_steps: resumable
  if (!evaluated) last_eval = evaluate();  // e.g. resumed a run that had already finished
  return finish();
}

TrainResult Trainer::Impl::finish() {
  TrainResult r;
  r.test_accuracy = last_eval.accuracy;
  r.test_loss = last_eval.loss;
  r.final_loss = recent_losses.empty() ? 0 : std::accumulate(recent_losses.begin(), recent_losses.end(), 0.0) /
                                                 double(recent_losses.size());
  r.train_time_s = train_time_s;
  r.train_images_per_s = train_time_s > 0 ? double(images_trained) / train_time_s : 0;
  r.steps = step;
  r.total_steps = total_steps;
  r.skipped_steps = scaler->skipped_steps();
  r.weights_sha256 = state->weights_sha256();
  nlohmann::json summary{{"test_accuracy", r.test_accuracy}, {"test_loss", r.test_loss},
                         {"final_loss", r.final_loss}, {"train_images_per_s", r.train_images_per_s},
                         {"train_time_s", r.train_time_s}, {"data_wait_s", data_wait_s},
                         {"steps", r.steps}, {"total_steps", r.total_steps},
                         {"finished", r.steps == r.total_steps}, {"skipped_steps", r.skipped_steps},
                         {"loss_scale", scaler->scale()}, {"weights_sha256", r.weights_sha256},
                         {"model", spec.model.name}, {"params", model->param_count()},
                         {"threads", cpu::threads()}, {"spec", to_json(spec)}};
  write_file_atomically(options.out / "summary.json", summary.dump(2) + "\n");
  return r;
}

Trainer::Trainer(const Spec& spec, TrainOptions options, std::ostream& out)
    : impl_(std::make_unique<Impl>(spec, std::move(options), out)) {
  impl_->setup();
}

Trainer::~Trainer() = default;

TrainResult Trainer::run() { return impl_->run(); }

}  // namespace lb
