#include "runtime/train/trainer.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <cmath>
#include <deque>
#include <numeric>
#include <ostream>

#include "runtime/backends/cpu/dnnl_context.hpp"
#include "runtime/comm/communicator.hpp"
#include "runtime/core/batch_arithmetic.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/data/batch_loader.hpp"
#include "runtime/data/datasets.hpp"
#include "runtime/models/model.hpp"
#include "runtime/optim/loss_scaler.hpp"
#include "runtime/optim/schedule.hpp"
#include "runtime/trace/trace_writer.hpp"
#include "runtime/train/batch_prefetcher.hpp"
#include "runtime/train/checkpoint.hpp"
#include "runtime/train/device_engines.hpp"
#include "runtime/train/metrics_log.hpp"
#include "runtime/train/progress.hpp"
#include "runtime/train/step_engine.hpp"
#include "runtime/train/step_profile.hpp"

namespace lb {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kEvalBatch = 500;
constexpr const char* kCheckpointFile = "checkpoint.bin";
constexpr const char* kProfileFile = "profile.json";
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

}  // namespace

struct Trainer::Impl {
  Spec spec;
  TrainOptions options;
  std::ostream& out;
  Progress progress;
  int rank = 0, ranks = 1;
  ImageSet train_set, test_set;
  std::unique_ptr<Model> model;  // the zoo's description and initial weights
  std::unique_ptr<BatchLoader> train_loader, test_loader;
  std::unique_ptr<MetricsLog> metrics;   // rank 0 only
  std::unique_ptr<TraceWriter> trace;
  std::unique_ptr<StepProfile> profile;
  // After the trace and profile it reports to, so that it goes first.
  std::unique_ptr<StepEngine> engine;  // the model's weights and step on spec.device
  std::unique_ptr<LrSchedule> schedule;
  std::unique_ptr<LossScaler> scaler;
  std::int64_t steps_per_epoch = 0, total_steps = 0, step = 0;
  std::deque<double> recent_losses;  // the last log window, for final_loss
  double train_time_s = 0, data_wait_s = 0;
  std::int64_t images_trained = 0;  // over all ranks
  EvalResult last_eval;
  bool evaluated = false;  // last_eval holds this model's accuracy

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
  TrainResult run();
  void write_profile() const;
  EvalResult evaluate();
  void recalibrate_batch_norm();
  void log_step(double loss, double lr, double step_images_per_s);
  void end_of_interval(std::int64_t done);
  void save();
  TrainResult finish();
  std::int64_t per_rank_batch() const { return lb::per_rank_batch(spec.train.global_batch, ranks); }
};

void Trainer::Impl::setup() {
  cpu::set_threads(spec.train.threads);
  cpu::set_conv_algorithm(cpu::parse_conv_algorithm(spec.train.conv_algorithm));
  require_device(spec);  // before the data is read: fail fast
  const std::int64_t ghost = spec.train.bn_ghost_batch;
  if (ghost > 0 && per_rank_batch() % ghost != 0) {
    throw SpecError("train.bn_ghost_batch",
                    "expected a divisor of the per-rank batch " + std::to_string(per_rank_batch()) +
                        ", got " + std::to_string(ghost));
  }
  load_data();
  total_steps = epochs_to_steps(spec.train.epochs, steps_per_epoch);
  build_model();
  setup_communication();
  if (options.resume) resume_from_checkpoint();
}

void Trainer::Impl::load_data() {
  train_set = load_dataset(spec.data, true, spec.train.seed);
  test_set = load_dataset(spec.data, false, spec.train.seed);
  LoaderOptions train_opts{spec.train.global_batch, true, true, spec.data.augment, spec.train.seed,
                           rank, ranks};
  train_loader = std::make_unique<BatchLoader>(train_set, train_opts);
  LoaderOptions test_opts{kEvalBatch * ranks, false, false, spec.data.augment, spec.train.seed,
                          rank, ranks, false};
  test_loader = std::make_unique<BatchLoader>(test_set, test_opts);
  steps_per_epoch = train_loader->batches_per_epoch();
  if (steps_per_epoch == 0) {
    throw SpecError("train.global_batch", "expected at most the " + std::to_string(train_set.count) +
                                              " training images, got " +
                                              std::to_string(spec.train.global_batch));
  }
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
  engine = make_step_engine({spec, *model, options.world, per_rank_batch()});
  schedule = std::make_unique<LrSchedule>(spec.optimizer.lr, spec.train.global_batch,
                                          steps_per_epoch, total_steps);
  scaler = std::make_unique<LossScaler>(spec.train.loss_scale,
                                        spec.train.precision == Precision::fp16);
}

// Every rank starts from rank 0's weights (they are equal by seeding; the
// broadcast makes that a guarantee rather than an assumption).
void Trainer::Impl::setup_communication() {
  if (ranks == 1) return;
  for (const auto& t : engine->state_tensors()) options.world->broadcast(std::as_writable_bytes(t.data), 0);
  engine->write_state();
}

void Trainer::Impl::resume_from_checkpoint() {
  const auto file = options.out / kCheckpointFile;
  if (!std::filesystem::exists(file)) throw InputError(file.string() + ": no checkpoint to resume from");
  const LoadedCheckpoint loaded = load_checkpoint(file, engine->state_tensors());
  step = loaded.step;
  const auto& s = loaded.meta.at("loss_scaler");
  scaler->restore({s.at("scale").get<double>(), s.at("clean_steps").get<std::int64_t>(),
                   s.at("skipped").get<std::int64_t>()});
  // The run's totals so far, so that a resumed run's summary counts the whole
  // run (absent in checkpoints written before they were kept: start from 0).
  const auto totals = loaded.meta.value("totals", nlohmann::json::object());
  train_time_s = totals.value("train_time_s", 0.0);
  data_wait_s = totals.value("data_wait_s", 0.0);
  images_trained = totals.value("images_trained", std::int64_t{0});
  for (double loss : totals.value("recent_losses", std::vector<double>{})) recent_losses.push_back(loss);
  engine->write_state();
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
  const std::int64_t batches = std::min(steps_per_epoch, (images + spec.train.global_batch - 1) / spec.train.global_batch);
  Batch batch;
  for (std::int64_t i = 0; i < batches; ++i) {
    train_loader->fill(step / steps_per_epoch, i, batch);
    engine->recalibration_forward(batch, step);
  }
  engine->end_bn_recalibration();
  trace->complete("batch norm recalibration", "train", start_us, seconds_since(start) * 1e6, 0,
                  {{"step", step}, {"batches", batches}});
}

EvalResult Trainer::Impl::evaluate() {
  recalibrate_batch_norm();
  std::vector<float> totals{0.0f, 0.0f};  // loss sum, correct, over this rank's shard
  double loss_sum = 0;
  std::int64_t correct = 0;
  Batch batch;
  for (std::int64_t i = 0; i < test_loader->batches_per_epoch(); ++i) {
    test_loader->fill(0, i, batch);
    if (batch.labels.empty()) continue;
    const EvalOutcome outcome = engine->evaluate(batch, step);
    loss_sum += outcome.mean_loss * double(batch.labels.size());
    correct += outcome.correct;
  }
  totals = {float(loss_sum), float(correct)};
  engine->sum_over_ranks(totals);
  return {double(totals[1]) / double(test_set.count), double(totals[0]) / double(test_set.count)};
}

void Trainer::Impl::log_step(double loss, double lr, double images_per_s) {
  recent_losses.push_back(loss);
  if (recent_losses.size() > static_cast<std::size_t>(spec.train.log_every_steps)) recent_losses.pop_front();
  if (step % spec.train.log_every_steps != 0 && step != total_steps) return;
  if (trace) trace->flush();
  if (!metrics) return;
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
  if (rank != 0) return;
  engine->read_state();
  const auto s = scaler->state();
  const nlohmann::json meta{
      {"model", spec.model.name},
      {"ranks", ranks},
      {"loss_scaler", {{"scale", s.scale}, {"clean_steps", s.clean_steps}, {"skipped", s.skipped}}},
      {"totals", {{"train_time_s", train_time_s}, {"data_wait_s", data_wait_s},
                  {"images_trained", images_trained},
                  {"recent_losses", std::vector<double>(recent_losses.begin(), recent_losses.end())}}}};
  save_checkpoint(options.out / kCheckpointFile, step, meta, engine->state_tensors());
}

void Trainer::Impl::end_of_interval(std::int64_t done) {
  const auto every = [&](double epochs) {
    return epochs > 0 && done % epochs_to_steps(epochs, steps_per_epoch) == 0;
  };
  if (every(spec.train.eval_every_epochs) || done == total_steps) {
    last_eval = evaluate();
    evaluated = true;
    if (metrics) {
      metrics->write({{"type", "eval"}, {"step", done}, {"epoch", double(done) / steps_per_epoch},
                      {"test_accuracy", last_eval.accuracy}, {"test_loss", last_eval.loss}});
    }
    char line[128];
    std::snprintf(line, sizeof line, "epoch %.2f: test accuracy %.4f, test loss %.4f",
                  double(done) / steps_per_epoch, last_eval.accuracy, last_eval.loss);
    progress.message(line);
  }
  if (every(spec.train.checkpoint_every_epochs)) save();
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
  if (rank == 0) metrics = std::make_unique<MetricsLog>(options.out / "metrics.jsonl", options.resume);
  trace = std::make_unique<TraceWriter>(options.out / ("trace.rank" + std::to_string(rank) + ".json"), rank);
  profile = std::make_unique<StepProfile>(model->layer_table(per_rank_batch()));
  engine->attach({*trace, *profile});
  const std::int64_t first_step = step;
  std::int64_t end = options.max_steps > 0 ? std::min(options.max_steps, total_steps) : total_steps;
  if (options.max_epochs > 0) end = std::min(end, epochs_to_steps(options.max_epochs, steps_per_epoch));
  BatchPrefetcher prefetcher(*train_loader, step, end, spec.data.prefetch, spec.data.workers);
  while (step < end) {
    inject_fault(rank, step);
    profile->begin_step();
    const bool trace_layers = step - first_step < kDetailedTraceSteps ||
                              (step + 1) % spec.train.log_every_steps == 0;
    double waited = 0, prepared = 0;
    const double wait_us = trace->now_us();
    const Batch& batch = prefetcher.next(step, waited, &prepared);
    trace->complete("data wait", "data", wait_us, waited * 1e6, 2, {{"step", step}});
    profile->add_phase(Phase::data_wait, waited);
    profile->add_phase(Phase::data_prepare, prepared);
    const auto start = Clock::now();
    const Batch* next = step + 1 < end ? prefetcher.peek(step + 1) : nullptr;
    const double loss =
        engine->train_step(batch, {step, float(schedule->at(step)), trace_layers, *scaler, next});
    const double elapsed = seconds_since(start);
    profile->add_phase(Phase::step, elapsed + waited);
    profile->end_step();
    train_time_s += elapsed;
    data_wait_s += waited;
    images_trained += static_cast<std::int64_t>(batch.labels.size()) * ranks;
    const double lr = schedule->at(step);
    ++step;
    log_step(loss, lr, double(batch.labels.size() * ranks) / elapsed);
    end_of_interval(step);
  }
  if (step < total_steps) save();  // stopped early by max_steps or max_epochs: resumable
  if (!evaluated) last_eval = evaluate();  // e.g. resumed a run that had already finished
  return finish();
}

// profile.json (rank 0): this run's step, measured; see experiments/SPEC.md.
void Trainer::Impl::write_profile() const {
  if (rank != 0 || profile->steps_recorded() == 0) return;
  const CommLayout comm = engine->comm_layout();
  Profile run;
  run.model = spec.model.name;
  run.device = spec.device;
  run.precision = std::string(to_string(spec.train.precision));
  run.threads = cpu::threads();
  run.per_rank_batch = per_rank_batch();
  run.ranks = ranks;
  run.optimizer = spec.optimizer.name;
  run.comm = {spec.comm.algorithm, spec.comm.fusion_bytes, spec.comm.fp16_gradients,
              spec.comm.overlap, comm.group_size, int(comm.buckets)};
  if (spec.device != "cpu") run.device_name = engine->device_description();
  write_file_atomically(options.out / kProfileFile, to_json(profile->summary(run)).dump(2) + "\n");
}

TrainResult Trainer::Impl::finish() {
  trace->flush();
  write_profile();
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
  r.weights_sha256 = engine->weights_sha256();
  if (rank != 0) return r;
  nlohmann::json summary{{"test_accuracy", r.test_accuracy}, {"test_loss", r.test_loss},
                         {"final_loss", r.final_loss}, {"train_images_per_s", r.train_images_per_s},
                         {"train_time_s", r.train_time_s}, {"data_wait_s", data_wait_s},
                         {"steps", r.steps}, {"total_steps", r.total_steps},
                         {"finished", r.steps == r.total_steps}, {"skipped_steps", r.skipped_steps},
                         {"loss_scale", scaler->scale()}, {"weights_sha256", r.weights_sha256},
                         {"model", spec.model.name}, {"params", model->param_count()},
                         {"ranks", ranks}, {"threads", cpu::threads()}, {"spec", to_json(spec)}};
  write_file_atomically(options.out / "summary.json", summary.dump(2) + "\n");
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
