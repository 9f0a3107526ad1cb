#include "runtime/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <numeric>
#include <optional>
#include <ostream>
#include <thread>

#include "runtime/comm/communicator.hpp"
#include "runtime/core/batch_arithmetic.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "runtime/core/host.hpp"
#include "runtime/core/json_reader.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/data/batch_loader.hpp"
#include "runtime/data/data_sources.hpp"
#include "runtime/models/model.hpp"
#include "runtime/nn/cpu_settings.hpp"
#include "runtime/optim/loss_scaler.hpp"
#include "runtime/optim/schedule.hpp"
#include "runtime/trace/trace_writer.hpp"
#include "runtime/train/batch_prefetcher.hpp"
#include "runtime/train/checkpoint.hpp"
#include "runtime/train/device_engines.hpp"
#include "runtime/train/metrics_log.hpp"
#include "runtime/train/noise_scale.hpp"
#include "runtime/train/progress.hpp"
#include "runtime/train/resume_check.hpp"
#include "runtime/train/run_checks.hpp"
#include "runtime/train/run_directory.hpp"
#include "runtime/train/step_engine.hpp"
#include "runtime/train/step_profile.hpp"
#include "runtime/train/warm_start.hpp"

namespace lb {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kEvalBatch = 500;
// Per-layer trace events are written for a process's first steps and then on
// every logged step: enough to see the step's structure without a trace that
// grows by hundreds of events per step.
constexpr std::int64_t kDetailedTraceSteps = 10;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Where ranks other than 0 send their progress: nowhere.
std::ostream& null_stream() {
  static std::ostream sink(nullptr);
  return sink;
}

struct EvalResult {
  double accuracy = 0, loss = 0;
};

// Mean loss and top-1 accuracy over a whole evaluation set, every rank
// taking its shard of each batch. The input workers prepare the batches too:
// JPEG sets decode while the previous batch is evaluated.
EvalResult evaluate_set(StepEngine& engine, const BatchLoader& loader, std::int64_t step,
                        const DataSpec& data) {
  double loss_sum = 0;
  std::int64_t correct = 0;
  const std::int64_t batches = loader.batches_per_epoch();
  BatchPrefetcher prefetcher(loader, 0, batches, data.prefetch, data.workers);
  for (std::int64_t i = 0; i < batches; ++i) {
    double waited = 0;
    const Batch& batch = prefetcher.next(i, waited);
    if (batch.labels.empty()) continue;
    const EvalOutcome outcome = engine.evaluate(batch, step);
    loss_sum += outcome.mean_loss * double(batch.labels.size());
    correct += outcome.correct;
  }
  std::vector<float> totals{float(loss_sum), float(correct)};
  engine.sum_over_ranks(totals);
  const double count = double(loader.source().count());
  return {double(totals[1]) / count, double(totals[0]) / count};
}

// The evaluations after one interval: test set, and validation set when held out.
struct Evaluation {
  EvalResult test;
  std::optional<EvalResult> validation;

  // The value of a train.stop_at metric; nullopt without a validation set.
  std::optional<double> metric(const std::string& name) const {
    if (name == "test_accuracy") return test.accuracy;
    if (name == "test_loss") return test.loss;
    if (!validation) return std::nullopt;
    return name == "validation_accuracy" ? validation->accuracy : validation->loss;
  }
};

bool reached(const StopAtSpec& stop, const Evaluation& e) {
  const std::optional<double> value = e.metric(stop.metric);
  if (!value) return false;
  return stop.metric.ends_with("_loss") ? *value <= stop.value : *value >= stop.value;
}

nlohmann::json noise_json(const NoiseScaleEstimate& e) {
  return {{"b_simple",
           std::isfinite(e.b_simple) ? nlohmann::json(e.b_simple) : nlohmann::json(nullptr)},
          {"g2", e.g2},
          {"trace_sigma", e.trace_sigma}};
}

}  // namespace

struct Trainer::Impl {
  Spec spec;
  TrainOptions options;
  std::ostream& out;
  Progress progress;
  int rank = 0, ranks = 1;
  DataSources data;
  std::unique_ptr<Model> model;  // the zoo's description and initial weights
  std::unique_ptr<BatchLoader> train_loader, test_loader, validation_loader;
  std::unique_ptr<MetricsLog> metrics;  // rank 0 only
  std::unique_ptr<TraceWriter> trace;
  std::unique_ptr<StepProfile> profile;
  // After the trace and profile it reports to, so that it goes first.
  std::unique_ptr<StepEngine> engine;  // the model's weights and step on spec.device
  std::unique_ptr<LrSchedule> schedule;
  std::unique_ptr<LossScaler> scaler;
  std::int64_t steps_per_epoch = 0, total_steps = 0, step = 0;
  std::deque<double> recent_losses;  // the last log window, for final_loss
  double train_time_s = 0, data_wait_s = 0;
  double data_prepare_s = 0;         // input workers' time on this rank's batches
  std::int64_t images_prepared = 0;  // by this rank's input workers
  std::int64_t images_trained = 0;   // over all ranks
  Evaluation last_eval;
  bool evaluated = false;  // last_eval holds this model's accuracy
  NoiseScaleEstimator noise{spec.train.noise_scale_ema};
  std::int64_t noise_step = -1;             // the step of noise's last measurement
  std::optional<std::int64_t> target_step;  // the step at which train.stop_at was reached
  nlohmann::json init_source;  // train.init_from's checkpoint and weights; null without
  // The step at which every rank last had the same BatchNorm running
  // statistics (see average_batch_norm_statistics); nullopt: they may differ.
  std::optional<std::int64_t> statistics_same_at;

  Impl(const Spec& s, TrainOptions o, std::ostream& os)
      : spec(s),
        options(std::move(o)),
        out(os),
        progress(options.world && options.world->rank() != 0 ? null_stream() : os, options.terminal,
                 options.quiet) {
    if (options.world) {
      rank = options.world->rank();
      ranks = options.world->size();
    }
  }

  void setup();
  void load_data();
  void build_model();
  void setup_communication();
  void resume_from_checkpoint();
  void start_from_source();
  void prepare_output();
  TrainResult run();
  struct ByRank {
    std::vector<double> compute_s, exposed_comm_s;
  };
  ByRank by_rank(const Profile& mine) const;
  void write_profile() const;
  Evaluation evaluate();
  void log_noise_scale();
  void recalibrate_batch_norm();
  void average_batch_norm_statistics();
  void log_step(double loss, double lr, double step_images_per_s);
  void end_of_interval(std::int64_t done);
  void save();
  TrainResult finish();
  void add_convergence(nlohmann::json& summary) const;
  std::int64_t per_rank_batch() const { return lb::per_rank_batch(spec.train.global_batch, ranks); }
  // Of the training loop's time, the part spent waiting for input.
  double data_wait_share() const {
    return train_time_s + data_wait_s > 0 ? data_wait_s / (train_time_s + data_wait_s) : 0;
  }
  // What this rank's input pipeline can deliver: data.workers threads, each
  // preparing images at its measured rate (cluster.input_images_per_s).
  double input_images_per_s() const {
    return data_prepare_s > 0 ? spec.data.workers * double(images_prepared) / data_prepare_s : 0;
  }
  void report_skipped_files();
};

void Trainer::Impl::setup() {
  check_host_limits(spec);
  cpu::set_threads(spec.train.threads);
  cpu::set_conv_algorithm(spec.train.conv_algorithm);
  require_device(spec);  // before the data is read: fail fast
  const std::int64_t ghost = spec.train.bn_ghost_batch;
  if (ghost > 0 && per_rank_batch() % ghost != 0) {
    throw SpecError("train.bn_ghost_batch", "expected a divisor of the per-rank batch " +
                                                std::to_string(per_rank_batch()) + ", got " +
                                                std::to_string(ghost));
  }
  if (spec.device == DeviceKind::cuda && spec.train.noise_scale_every > 0) {
    progress.message(
        "note: the gradient noise scale is measured on the CPU backend only; not on \"cuda\"");
  }
  check_data_memory(spec);
  load_data();
  total_steps = epochs_to_steps(spec.train.epochs, steps_per_epoch);
  build_model();
  check_training_memory(spec, *model, per_rank_batch());
  if (options.resume) {
    resume_from_checkpoint();
  } else if (!spec.train.init_from.empty()) {
    start_from_source();
  }
  prepare_output();
  setup_communication();
  statistics_same_at = step;  // rank 0's broadcast, or the checkpoint every rank read
}

// Rank 0 alone looks at --out (and with --overwrite clears it), then tells
// the others, so that every rank refuses alike and none writes before the
// directory is settled.
void Trainer::Impl::prepare_output() {
  std::string refusal;
  if (rank == 0) {
    try {
      check_run_directory(options.out, options.resume, options.overwrite);
      if (options.overwrite) remove_run_files(options.out);
    } catch (const InputError& e) {
      refusal = e.what();
    }
  }
  if (ranks > 1) {
    std::byte refused{refusal.empty() ? std::uint8_t(0) : std::uint8_t(1)};
    options.world->broadcast(std::span(&refused, 1), 0);
    if (refused != std::byte{0} && refusal.empty()) refusal = "rank 0 refused --out";
  }
  if (!refusal.empty()) throw InputError(refusal);
}

void Trainer::Impl::load_data() {
  data = load_sources(spec.data, spec.train.seed, spec.train.precision);
  check_same_shape(data.train->shape(), data.test->shape(), spec.data);
  LoaderOptions test_opts{kEvalBatch * ranks, false, false, spec.data.augment,
                          spec.train.seed,    rank,  ranks, false};
  test_loader = std::make_unique<BatchLoader>(data.test, test_opts);
  if (data.validation) {
    validation_loader = std::make_unique<BatchLoader>(data.validation, test_opts);
  } else if (spec.train.stop_at.metric.starts_with("validation_")) {
    throw SpecError("train.stop_at." + spec.train.stop_at.metric,
                    "needs a validation set: set data.validation_images");
  }
  LoaderOptions train_opts{spec.train.global_batch, true, true, spec.data.augment,
                           spec.train.seed,         rank, ranks};
  train_loader = std::make_unique<BatchLoader>(data.train, train_opts);
  steps_per_epoch = train_loader->batches_per_epoch();
  if (steps_per_epoch == 0) {
    throw SpecError("train.global_batch",
                    "expected at most the " + std::to_string(data.train->count()) +
                        " training images, got " + std::to_string(spec.train.global_batch));
  }
}

void Trainer::Impl::build_model() {
  const SampleShape input = data.train->shape();
  const Shape chw{input.channels, input.height, input.width};
  try {
    model = make_model(spec.model.name, chw, data.train->classes(), spec.model.dropout);
  } catch (const std::invalid_argument& e) {
    throw SpecError("model.name", e.what());
  }
  Rng rng(mix(spec.train.seed, 0x6d6f64656cull));  // "model"
  model->net->init(rng);
  engine = make_step_engine({spec, *model, options.world, per_rank_batch()});
  schedule = std::make_unique<LrSchedule>(spec.optimizer.lr, spec.train.global_batch,
                                          steps_per_epoch, total_steps);
  scaler =
      std::make_unique<LossScaler>(spec.train.loss_scale, spec.train.precision == Precision::fp16);
}

// Every rank starts from rank 0's weights (they are equal by seeding; the
// broadcast makes that a guarantee rather than an assumption).
void Trainer::Impl::setup_communication() {
  if (ranks == 1) return;
  for (const auto& t : engine->state_tensors())
    options.world->broadcast(std::as_writable_bytes(t.data), 0);
  engine->write_state();
}

void Trainer::Impl::resume_from_checkpoint() {
  const auto file = options.out / kCheckpointFile;
  if (!std::filesystem::exists(file))
    throw InputError(file.string() + ": no checkpoint to resume from");
  const LoadedCheckpoint loaded = load_checkpoint(file, engine->state_tensors());
  const ResumePoint point = check_resume(loaded, spec, total_steps, file.string());
  step = point.step;
  scaler->restore(point.scaler);
  train_time_s = point.train_time_s;
  data_wait_s = point.data_wait_s;
  data_prepare_s = point.data_prepare_s;
  images_prepared = point.images_prepared;
  images_trained = point.images_trained;
  recent_losses.assign(point.recent_losses.begin(), point.recent_losses.end());
  noise.restore(point.noise_scale);
  noise_step = point.noise_scale_step;
  target_step = point.target_step;
  init_source = point.init_from;  // the source is not read again
  engine->write_state();
}

// train.init_from: every rank reads the source (all fail alike on a bad one);
// the weights' digest is taken after loading, by the rule summary.json's
// weights_sha256 follows, so that it equals the source run's at that step.
void Trainer::Impl::start_from_source() {
  const WarmStartSource source =
      warm_start(spec.train.init_from, spec.model.name, engine->state_tensors());
  engine->write_state();
  init_source = {{"path", spec.train.init_from},
                 {"file", source.file.string()},
                 {"step", source.step},
                 {"weights_sha256", engine->weights_sha256()}};
  progress.message(
      "initialised from " + source.file.string() + " (its step " + std::to_string(source.step) +
      "): weights and BatchNorm statistics; optimizer, loss scale and data order fresh");
}

// Precise BatchNorm: the running statistics become the plain average over
// the first training batches of the current epoch, taken with the current
// weights (each rank over its shard, as its BatchNorm trains).
void Trainer::Impl::recalibrate_batch_norm() {
  const std::int64_t images = spec.train.bn_recalibration_images;
  if (images == 0) return;
  const double start_us = trace->now_us();
  const auto start = Clock::now();
  if (!engine->begin_bn_recalibration()) return;
  const std::int64_t batches =
      std::min(steps_per_epoch, (images + spec.train.global_batch - 1) / spec.train.global_batch);
  Batch batch;
  for (std::int64_t i = 0; i < batches; ++i) {
    train_loader->fill(step / steps_per_epoch, i, batch);
    engine->recalibration_forward(batch, step);
  }
  engine->end_bn_recalibration();
  statistics_same_at.reset();
  trace->complete("batch norm recalibration", "train", start_us, seconds_since(start) * 1e6, 0,
                  {{"step", step}, {"batches", batches}});
}

// BatchNorm's running statistics are the one piece of training state that
// differs between ranks: each rank's BatchNorm normalises its own shard of the
// batch (as each of the seed's GPUs does with its 64 images), and so averages
// its own statistics. Everything else is the same on every rank by
// construction: weights, momentum and the loss scaler follow the averaged
// gradients; the data, augmentation and dropout streams are functions of
// (seed, step, image). So before every evaluation and every checkpoint the
// ranks average their running statistics, as timm's distribute_bn does: all
// ranks then evaluate one model, the one the checkpoint holds, and a resumed
// run starts every rank from the state it had. The mean over ranks is the
// statistic of the whole global batch's images (for the variance, the mean of
// the shards' variances), what one GPU with the whole batch would track. The
// average is exact to rounding, so a run's later evaluations depend on where
// it saved only in the last bits, identically in an uninterrupted run and a
// resumed one with the same checkpoints.
void Trainer::Impl::average_batch_norm_statistics() {
  if (ranks == 1 || statistics_same_at == step) return;
  engine->read_state();
  std::vector<std::span<float>> local;
  std::vector<float> packed;
  for (const NamedSpan& t : engine->state_tensors()) {
    if (!t.rank_local) continue;
    local.push_back(t.data);
    packed.insert(packed.end(), t.data.begin(), t.data.end());
  }
  options.world->native_allreduce_sum(packed);
  // MPI does not promise every rank the same bits of a float sum: rank 0's are the ones.
  options.world->broadcast(std::as_writable_bytes(std::span(packed)), 0);
  const float n = float(ranks);
  auto sum = packed.begin();
  for (std::span<float> s : local) {
    for (float& v : s) v = *sum++ / n;
  }
  engine->write_state();
  statistics_same_at = step;
}

Evaluation Trainer::Impl::evaluate() {
  recalibrate_batch_norm();
  average_batch_norm_statistics();
  Evaluation e{evaluate_set(*engine, *test_loader, step, spec.data), std::nullopt};
  if (validation_loader) e.validation = evaluate_set(*engine, *validation_loader, step, spec.data);
  return e;
}

// One row per measurement: the smoothed estimate, and the raw norms it came from.
void Trainer::Impl::log_noise_scale() {
  const std::optional<GradientNormSample> sample = engine->noise_sample();
  if (!sample) return;
  const NoiseScaleEstimate e = noise.add(*sample);
  noise_step = step;
  if (!metrics) return;
  nlohmann::json row{
      {"type", "noise_scale"}, {"step", step}, {"epoch", double(step) / steps_per_epoch}};
  row.update(noise_json(e));
  row.update({{"b_small", sample->b_small},
              {"b_big", sample->b_big},
              {"g2_small", sample->g2_small},
              {"g2_big", sample->g2_big}});
  metrics->write(row);
}

void Trainer::Impl::log_step(double loss, double lr, double images_per_s) {
  recent_losses.push_back(loss);
  if (recent_losses.size() > static_cast<std::size_t>(spec.train.log_every_steps))
    recent_losses.pop_front();
  if (step % spec.train.log_every_steps != 0 && step != total_steps) return;
  if (trace) trace->flush();
  if (!metrics) return;
  const double mean_rate = train_time_s > 0 ? double(images_trained) / train_time_s : 0;
  metrics->write({{"type", "step"},
                  {"step", step},
                  {"epoch", double(step) / steps_per_epoch},
                  {"loss", loss},
                  {"lr", lr},
                  {"loss_scale", scaler->scale()},
                  {"skipped_steps", scaler->skipped_steps()},
                  {"images_per_s", images_per_s},
                  {"data_wait_s", data_wait_s}});
  progress.report(
      {step, total_steps, double(step) / steps_per_epoch, int(std::ceil(spec.train.epochs)), loss,
       lr, scaler->scale(), mean_rate,
       mean_rate > 0 ? double(total_steps - step) * spec.train.global_batch / mean_rate : 0});
}

void Trainer::Impl::save() {
  average_batch_norm_statistics();  // every rank's, so that rank 0's checkpoint holds them all
  if (rank != 0) return;
  engine->read_state();
  ResumePoint totals;
  totals.train_time_s = train_time_s;
  totals.data_wait_s = data_wait_s;
  totals.data_prepare_s = data_prepare_s;
  totals.images_prepared = images_prepared;
  totals.images_trained = images_trained;
  totals.recent_losses.assign(recent_losses.begin(), recent_losses.end());
  totals.noise_scale = noise.state();
  totals.noise_scale_step = noise_step;
  totals.target_step = target_step;
  totals.init_from = init_source;
  const nlohmann::json meta = resume_meta(spec, ranks, scaler->state(), totals);
  save_checkpoint(options.out / kCheckpointFile, step, meta, engine->state_tensors());
}

void Trainer::Impl::end_of_interval(std::int64_t done) {
  const auto every = [&](double epochs) {
    return epochs > 0 && done % epochs_to_steps(epochs, steps_per_epoch) == 0;
  };
  if (every(spec.train.eval_every_epochs) || done == total_steps) {
    last_eval = evaluate();
    evaluated = true;
    const double epoch = double(done) / steps_per_epoch;
    nlohmann::json row{{"type", "eval"},
                       {"step", done},
                       {"epoch", epoch},
                       {"test_accuracy", last_eval.test.accuracy},
                       {"test_loss", last_eval.test.loss}};
    char line[160];
    int n = std::snprintf(line, sizeof line, "epoch %.2f: test accuracy %.4f, test loss %.4f",
                          epoch, last_eval.test.accuracy, last_eval.test.loss);
    if (const auto& v = last_eval.validation) {
      row.update({{"validation_accuracy", v->accuracy}, {"validation_loss", v->loss}});
      std::snprintf(line + n, sizeof line - std::size_t(n), "; validation accuracy %.4f, loss %.4f",
                    v->accuracy, v->loss);
    }
    if (metrics) metrics->write(row);
    progress.message(line);
    if (spec.train.stop_at.enabled() && !target_step && reached(spec.train.stop_at, last_eval)) {
      target_step = done;
      progress.message("reached " + spec.train.stop_at.metric + " " +
                       format_number(spec.train.stop_at.value) + " at step " +
                       std::to_string(done) + ": stopping");
    }
  }
  if (every(spec.train.checkpoint_every_epochs) || target_step) save();
}

// Test-only fault injection, for the tests that prove a stalled or dead rank
// ends the job instead of hanging it: LB_FAULT=RANK:STEP:sleep|kill.
void inject_fault(int rank, std::int64_t step) {
  const char* fault = std::getenv("LB_FAULT");
  if (fault == nullptr) return;
  int fault_rank = -1;
  long long fault_step = -1;
  char action[16] = {};
  if (std::sscanf(fault, "%d:%lld:%15s", &fault_rank, &fault_step, action) != 3) return;
  if (fault_rank != rank || fault_step != step) return;
  if (std::string(action) == "kill") std::raise(SIGKILL);
  if (std::string(action) == "sleep") std::this_thread::sleep_for(std::chrono::hours(1));
}

TrainResult Trainer::Impl::run() {
  std::filesystem::create_directories(options.out);
  if (rank == 0 && options.resume) trim_metrics_log(options.out / kMetricsFile, step);
  if (rank == 0) metrics = std::make_unique<MetricsLog>(options.out / kMetricsFile, options.resume);
  trace = std::make_unique<TraceWriter>(
      options.out / (kTracePrefix + std::to_string(rank) + ".json"), rank);
  profile = std::make_unique<StepProfile>(model->layer_table(per_rank_batch()));
  engine->attach({*trace, *profile});
  const std::int64_t first_step = step;
  std::int64_t end = options.max_steps > 0 ? std::min(options.max_steps, total_steps) : total_steps;
  if (target_step) end = step;  // resumed a run that had already reached its target
  if (options.max_epochs > 0)
    end = std::min(end, epochs_to_steps(options.max_epochs, steps_per_epoch));
  report_skipped_files();  // those found while indexing
  BatchPrefetcher prefetcher(*train_loader, step, end, spec.data.prefetch, spec.data.workers);
  while (step < end) {
    inject_fault(rank, step);
    profile->begin_step();
    const bool trace_layers =
        step - first_step < kDetailedTraceSteps || (step + 1) % spec.train.log_every_steps == 0;
    double waited = 0, prepared = 0;
    const double wait_us = trace->now_us();
    const Batch& batch = prefetcher.next(step, waited, &prepared);
    trace->complete("data wait", "data", wait_us, waited * 1e6, 2, {{"step", step}});
    profile->add_phase(Phase::data_wait, waited);
    profile->add_phase(Phase::data_prepare, prepared);
    data_prepare_s += prepared;
    images_prepared += static_cast<std::int64_t>(batch.labels.size());
    const auto start = Clock::now();
    const Batch* next = step + 1 < end ? prefetcher.peek(step + 1) : nullptr;
    const int noise_every = spec.train.noise_scale_every;
    const bool measure_noise = noise_every > 0 && step % noise_every == 0;
    const double loss = engine->train_step(
        batch, {step, float(schedule->at(step)), trace_layers, *scaler, next, measure_noise});
    const double elapsed = seconds_since(start);
    profile->add_phase(Phase::step, elapsed + waited);
    profile->end_step();
    train_time_s += elapsed;
    data_wait_s += waited;
    images_trained += static_cast<std::int64_t>(batch.labels.size()) * ranks;
    const double lr = schedule->at(step);
    ++step;
    if (measure_noise) log_noise_scale();
    log_step(loss, lr, double(batch.labels.size() * ranks) / elapsed);
    end_of_interval(step);
    if (target_step) break;
  }
  check_some_step_applied(step, total_steps, scaler->skipped_steps(), scaler->scale());
  // Stopped early by max_steps or max_epochs: resumable (a stop at the
  // target was saved by end_of_interval).
  if (step < total_steps && !target_step) save();
  if (!evaluated) last_eval = evaluate();  // e.g. resumed a run that had already finished
  return finish();
}

// data.skip_corrupt: how many files were left out, with a few examples.
void Trainer::Impl::report_skipped_files() {
  const std::int64_t skipped = data.train->skipped_files() + data.test->skipped_files();
  if (skipped == 0) return;
  std::string line =
      "skipped " + std::to_string(skipped) + " unreadable file(s) (data.skip_corrupt)";
  for (const auto* source : {data.train.get(), data.test.get()}) {
    for (const std::string& example : source->skipped_examples(3)) line += "; " + example;
  }
  progress.message(line);
}

// Every rank's median forward + backward and exposed communication per
// step, by rank, on every rank (sums of vectors each rank fills one slot
// of); empty with one rank. A collective: every rank calls it, with the same
// number of recorded steps.
Trainer::Impl::ByRank Trainer::Impl::by_rank(const Profile& mine) const {
  if (!options.world || ranks < 2 || profile->steps_recorded() == 0) return {};
  const std::size_t n = std::size_t(ranks);
  std::vector<float> all(2 * n, 0.0f);
  all[std::size_t(rank)] = float(mine.forward_s + mine.backward_s);
  all[n + std::size_t(rank)] = float(mine.exposed_comm_s);
  options.world->native_allreduce_sum(all);
  return {{all.begin(), all.begin() + std::ptrdiff_t(n)},
          {all.begin() + std::ptrdiff_t(n), all.end()}};
}

// profile.json (rank 0): this run's step, measured; see experiments/SPEC.md.
void Trainer::Impl::write_profile() const {
  if (profile->steps_recorded() == 0) return;
  const CommLayout comm = engine->comm_layout();
  Profile run;
  run.model = spec.model.name;
  run.device = to_string(spec.device);
  run.precision = std::string(to_string(spec.train.precision));
  run.threads = cpu::threads();
  run.per_rank_batch = per_rank_batch();
  run.ranks = ranks;
  run.ranks_per_node = options.world ? options.world->ranks_per_node() : 1;
  run.node_cores = hardware_threads();
  run.cpus_allowed = cpus_allowed();
  run.optimizer = to_string(spec.optimizer.name);
  run.comm = {to_string(spec.comm.algorithm),
              comm.fusion_bytes,
              spec.comm.fp16_gradients,
              spec.comm.overlap,
              comm.group_size,
              int(comm.buckets)};
  if (spec.device != DeviceKind::cpu) run.device_name = engine->device_description();
  Profile measured = profile->summary(run);
  ByRank ranks_measured = by_rank(measured);  // a collective: before rank 0 alone goes on
  if (rank != 0) return;
  measured.rank_compute_s = std::move(ranks_measured.compute_s);
  measured.rank_exposed_comm_s = std::move(ranks_measured.exposed_comm_s);
  write_file_atomically(options.out / kProfileFile, to_json(measured).dump(2) + "\n");
}

// What summary.json says about convergence: the validation figures, the
// stop at a target, and the last smoothed gradient noise scale.
void Trainer::Impl::add_convergence(nlohmann::json& summary) const {
  if (const auto& v = last_eval.validation) {
    summary["validation_accuracy"] = v->accuracy;
    summary["validation_loss"] = v->loss;
  }
  const StopAtSpec& stop = spec.train.stop_at;
  summary["target"] = stop.enabled()
                          ? nlohmann::json{{"metric", stop.metric}, {"value", stop.value}}
                          : nlohmann::json(nullptr);
  summary["stopped_at_target"] = target_step.has_value();
  summary["steps_to_target"] = target_step ? nlohmann::json(*target_step) : nlohmann::json(nullptr);
  nlohmann::json noise_scale(nullptr);
  if (const auto e = noise.current()) {
    noise_scale = noise_json(*e);
    noise_scale["step"] = noise_step;
  }
  summary["noise_scale"] = noise_scale;
}

TrainResult Trainer::Impl::finish() {
  trace->flush();
  report_skipped_files();
  write_profile();
  TrainResult r;
  r.test_accuracy = last_eval.test.accuracy;
  r.test_loss = last_eval.test.loss;
  r.final_loss = recent_losses.empty()
                     ? 0
                     : std::accumulate(recent_losses.begin(), recent_losses.end(), 0.0) /
                           double(recent_losses.size());
  r.train_time_s = train_time_s;
  r.train_images_per_s = train_time_s > 0 ? double(images_trained) / train_time_s : 0;
  r.steps = step;
  r.total_steps = total_steps;
  r.skipped_steps = scaler->skipped_steps();
  r.weights_sha256 = engine->weights_sha256();
  if (rank != 0) return r;
  nlohmann::json summary{
      {"test_accuracy", r.test_accuracy},
      {"test_loss", r.test_loss},
      {"final_loss", r.final_loss},
      {"train_images_per_s", r.train_images_per_s},
      {"train_time_s", r.train_time_s},
      {"data_wait_s", data_wait_s},
      {"data_wait_share", data_wait_share()},
      {"input_images_per_s", input_images_per_s()},
      {"skipped_files", data.train->skipped_files() + data.test->skipped_files()},
      {"steps", r.steps},
      {"total_steps", r.total_steps},
      {"finished", r.steps == r.total_steps || target_step.has_value()},
      {"skipped_steps", r.skipped_steps},
      {"loss_scale", scaler->scale()},
      {"weights_sha256", r.weights_sha256},
      {"model", spec.model.name},
      {"params", model->param_count()},
      {"ranks", ranks},
      {"threads", cpu::threads()},
      {"spec", to_json(spec)}};
  add_convergence(summary);
  summary["init_from"] = init_source;
  write_file_atomically(options.out / kSummaryFile, summary.dump(2) + "\n");
  return r;
}

Trainer::Trainer(const Spec& spec, TrainOptions options, std::ostream& out)
    : impl_(std::make_unique<Impl>(spec, std::move(options), out)) {
  impl_->setup();
}

Trainer::~Trainer() = default;

TrainResult Trainer::run() { return impl_->run(); }

std::string Trainer::device_description() const { return impl_->engine->device_description(); }

}  // namespace lb
