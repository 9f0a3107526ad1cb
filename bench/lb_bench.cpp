// lb-bench: times largebatch's training step and its optimizer step and
// prints one JSON line per run, in the format bench/torch_bench.py prints for
// PyTorch, so bench/compare.py can put the two side by side.
//
//   lb-bench train --model resnet20 --batch 256 --precision fp16 --optimizer lars
//   lb-bench train --device cuda --model resnet50 --batch 256 --precision fp16 --optimizer lars
//   lb-bench optimizer --model resnet50 --optimizer lars --steps 20
//
// Exit codes: 0 success, 2 bad command line, 1 runtime failure.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <vector>

#include "runtime/core/errors.hpp"
#include "runtime/core/profile_format.hpp"
#include "runtime/core/rng.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/models/model.hpp"
#include "runtime/nn/cpu_settings.hpp"
#include "runtime/optim/loss_scaler.hpp"
#include "runtime/optim/optimizer.hpp"
#include "runtime/train/device_engines.hpp"
#include "runtime/train/training_state.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr int kClasses = 10;            // the train mode's Fashion-MNIST-shaped task
constexpr float kLearningRate = 0.01f;  // fixed: a schedule costs nothing measurable

struct Args {
  std::string device = "cpu";
  std::string model;
  std::int64_t batch = 256;
  std::string precision = "fp32";
  std::string optimizer = "sgd";
  int threads = 2;
  int warmup = 3;
  int steps = 20;
  std::uint64_t seed = 1;
  bool breakdown = false;
  std::string conv_algorithm = "winograd";
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::int64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return std::int64_t{usage.ru_maxrss} * 1024;  // Linux reports KiB
}

// The spec the trainer would run, so optimizer and loss-scale settings are the
// spec defaults (momentum 0.9, weight decay 5e-4 off for bias/BN, LARS eta).
lb::Spec bench_spec(const Args& a) {
  return lb::parse_spec(json{{"name", "lb-bench"},
                             {"device", a.device},
                             {"model", {{"name", a.model}}},
                             {"data", {{"dataset", "synthetic"}}},
                             {"train",
                              {{"global_batch", a.batch},
                               {"precision", a.precision},
                               {"threads", a.threads},
                               {"conv_algorithm", a.conv_algorithm},
                               {"seed", a.seed}}},
                             {"optimizer", {{"name", a.optimizer}}}});
}

// The train mode's task: Fashion-MNIST-shaped for the small models,
// ImageNet-shaped (3x224x224, 1000 classes) for resnet50.
struct Task {
  lb::Shape chw;
  int classes;
};

Task task_of(const std::string& model) {
  if (model == "resnet50") return {{3, 224, 224}, 1000};
  return {{1, 28, 28}, kClasses};
}

// A fixed batch of uniform [0, 1) images (like scaled pixels) and random labels.
struct SyntheticBatch {
  lb::Tensor images;  // (B, C, H, W)
  std::vector<std::int32_t> labels;
};

SyntheticBatch make_batch(std::int64_t batch, const Task& task, std::uint64_t seed) {
  lb::Rng rng(lb::mix(seed, 0x6261746368ull));  // "batch"
  SyntheticBatch b{lb::Tensor({batch, task.chw[0], task.chw[1], task.chw[2]}),
                   std::vector<std::int32_t>(batch)};
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  for (float& x : b.images.span()) x = pixel(rng);
  std::uniform_int_distribution<std::int32_t> label(0, task.classes - 1);
  for (auto& y : b.labels) y = label(rng);
  return b;
}

// --breakdown on the CPU: each layer kind's share of the median step, from
// the profile's per-layer medians (forward + backward; "add" is a residual
// block's own work); the rest is the loss, the optimizer and conversions.
json time_share(const json& profile, double step_s) {
  json share = json::object();
  double layers = 0;
  for (const json& row : profile.at("layers")) {
    const double s = row.at("forward_s").get<double>() + row.at("backward_s").get<double>();
    const std::string kind = row.at("kind");
    share[kind] = share.value(kind, 0.0) + s / step_s;
    layers += s;
  }
  share["other (loss, optimizer, conversions)"] = 1.0 - layers / step_s;
  return share;
}

json train_row(const Args& a, const lb::Spec& spec, const lb::StepEngine& engine,
               const std::vector<double>& times, std::int64_t skipped,
               const lb::StepProfile& profile) {
  double total = 0;
  for (double t : times) total += t;
  json row{{"impl", "largebatch"},
           {"mode", "train"},
           {"device", a.device},
           {"model", a.model},
           {"batch", a.batch},
           {"precision", a.precision},
           {"optimizer", a.optimizer},
           {"steps", a.steps},
           {"images_per_s", double(a.batch) * a.steps / total},
           {"step_s_median", median(times)},
           {"skipped_steps", skipped}};
  const json p = lb::to_json(profile.summary({}));
  if (spec.device == lb::DeviceKind::cpu) {
    row["threads"] = lb::cpu::threads();
    row["conv_algorithm"] = a.conv_algorithm;
    row["peak_rss_bytes"] = peak_rss_bytes();
    row["time_share"] = a.breakdown ? time_share(p, median(times)) : json::object();
  } else {
    row["device_name"] = engine.device_description();
  }
  if (a.breakdown) {
    row["phase_s_median"] = {{"forward", p.at("forward_s")},
                             {"backward", p.at("backward_s")},
                             {"optimizer", p.at("optimizer_s")}};
  }
  return row;
}

// The trainer's own step (StepEngine::train_step, as lb-train runs it, on
// either device) on a fixed batch, so that what is timed is what trains.
// Each step includes handing the batch over (a GPU copies it to the device);
// the next step's batch is handed over early so that its copy overlaps the
// step, as lb-train's prefetched batches are. With --breakdown the profile
// records every layer (as it does in lb-train's profiled steps).
json train_mode(const Args& a) {
  const lb::Spec spec = bench_spec(a);
  lb::cpu::set_threads(spec.train.threads);  // as Trainer::Impl::setup
  lb::cpu::set_conv_algorithm(spec.train.conv_algorithm);
  const Task task = task_of(a.model);
  auto model = lb::make_model(a.model, task.chw, task.classes);
  lb::Rng rng(lb::mix(a.seed, 0x6d6f64656cull));  // "model", as the trainer seeds it
  model->net->init(rng);
  const auto trace_file = std::filesystem::temp_directory_path() /
                          ("lb-bench-trace-" + std::to_string(::getpid()) + ".json");
  std::unique_ptr<lb::TraceWriter> trace = std::make_unique<lb::TraceWriter>(trace_file, 0);
  lb::StepProfile profile(model->layer_table(a.batch));
  auto engine = lb::make_step_engine({spec, *model, nullptr, a.batch});
  engine->attach({*trace, profile});
  lb::LossScaler scaler(spec.train.loss_scale, spec.train.precision == lb::Precision::fp16);
  SyntheticBatch synthetic = make_batch(a.batch, task, a.seed);
  const lb::Batch batch{std::move(synthetic.images), std::move(synthetic.labels)};
  auto step = [&](std::int64_t i) {
    if (a.breakdown) profile.begin_step();
    engine->train_step(batch, {i, kLearningRate, false, scaler, &batch});
    if (a.breakdown) profile.end_step();
  };
  for (int i = 0; i < a.warmup; ++i) step(i);
  const std::int64_t skipped_before = scaler.skipped_steps();  // count only the timed steps' skips
  std::vector<double> times;
  for (int i = 0; i < a.steps; ++i) {
    const auto start = Clock::now();
    step(a.warmup + i);
    times.push_back(seconds_since(start));
  }
  json row = train_row(a, spec, *engine, times, scaler.skipped_steps() - skipped_before, profile);
  engine.reset();
  trace.reset();
  std::filesystem::remove(trace_file);
  return row;
}

// Bytes one optimizer step moves: the update pass reads w, g, v and writes w,
// v (5 floats per parameter); LARS adds a norm pass reading w and g (2 floats)
// on the tensors it adapts (all but bias and BatchNorm).
std::int64_t bytes_per_step(std::span<const lb::OptimSlot> slots, bool lars) {
  std::int64_t bytes = 0;
  for (const lb::OptimSlot& s : slots) {
    const auto n = static_cast<std::int64_t>(s.weight.size());
    bytes += 5 * 4 * n + (lars && s.adapt ? 2 * 4 * n : 0);
  }
  return bytes;
}

void fill_random_grads(lb::Model& model, std::uint64_t seed) {
  lb::Rng rng(lb::mix(seed, 0x67726164ull));  // "grad"
  std::normal_distribution<float> normal(0.0f, 1e-3f);
  for (lb::Param* p : model.net->params()) {
    for (float& g : p->grad.span()) g = normal(rng);
  }
}

json optimizer_mode(const Args& a) {
  lb::cpu::set_threads(a.threads);
  const lb::Spec spec = bench_spec(a);
  auto model = lb::make_model(a.model, {3, 224, 224}, 1000);
  lb::Rng rng(lb::mix(a.seed, 0x6d6f64656cull));  // "model"
  model->net->init(rng);
  fill_random_grads(*model, a.seed);
  // fp32: the optimizer updates the parameters' own values, no master copy.
  lb::TrainingState state(model->net->params(), model->net->buffers(), spec.optimizer,
                          lb::Precision::fp32);
  auto optimizer = lb::make_optimizer(spec.optimizer);
  for (int i = 0; i < a.warmup; ++i) optimizer->step(state.slots(), kLearningRate, 1.0f);
  std::vector<double> times;
  for (int i = 0; i < a.steps; ++i) {
    const auto start = Clock::now();
    optimizer->step(state.slots(), kLearningRate, 1.0f);
    times.push_back(seconds_since(start));
  }
  const double step_s = median(times);
  const std::int64_t bytes =
      bytes_per_step(state.slots(), spec.optimizer.name == lb::OptimizerKind::lars);
  return {{"impl", "largebatch"},
          {"mode", "optimizer"},
          {"model", a.model},
          {"optimizer", a.optimizer},
          {"threads", lb::cpu::threads()},
          {"steps", a.steps},
          {"params", model->param_count()},
          {"bytes_per_step", bytes},
          {"step_s_median", step_s},
          {"gbps", double(bytes) / step_s / 1e9},
          {"peak_rss_bytes", peak_rss_bytes()}};
}

void add_common(CLI::App& cmd, Args& a) {
  cmd.add_option("--optimizer", a.optimizer, "sgd | lars")
      ->capture_default_str()
      ->check(CLI::IsMember({"sgd", "lars"}));
  cmd.add_option("--threads", a.threads, "CPU threads")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--warmup", a.warmup, "untimed steps first")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--steps", a.steps, "timed steps")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--seed", a.seed, "seed of the weights, batch and gradients")
      ->capture_default_str();
}

CLI::App* add_train(CLI::App& app, Args& a) {
  CLI::App* cmd =
      app.add_subcommand("train", "time full training steps (forward, backward, optimizer)");
  cmd->add_option("--model", a.model,
                  "lenet_bn | resnet20 (1x28x28, 10 classes) | resnet50 (3x224x224, 1000 classes)")
      ->required()
      ->check(CLI::IsMember({"lenet_bn", "resnet20", "resnet50"}));
  cmd->add_option("--device", a.device,
                  "cpu | cuda (the trainer's CUDA step engine; needs a CUDA build and a GPU)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--batch", a.batch, "images per step")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--precision", a.precision, "fp32 | fp16")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "fp16"}));
  cmd->add_option("--conv-algorithm", a.conv_algorithm,
                  "direct | winograd (where oneDNN has it, else direct) | auto (oneDNN's choice)")
      ->capture_default_str()
      ->check(CLI::IsMember({"direct", "winograd", "auto"}));
  cmd->add_flag("--breakdown", a.breakdown,
                "time every layer and report the share of the step per layer kind (time_share)");
  add_common(*cmd, a);
  return cmd;
}

CLI::App* add_optimizer(CLI::App& app, Args& a) {
  CLI::App* cmd =
      app.add_subcommand("optimizer", "time the optimizer step alone, random gradients");
  a.model = "resnet50";
  cmd->add_option("--model", a.model, "parameter set: a zoo model at 3x224x224, 1000 classes")
      ->capture_default_str()
      ->check(CLI::IsMember({"resnet50"}));
  add_common(*cmd, a);
  return cmd;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lb-bench: largebatch training and optimizer step times, one JSON line per run"};
  app.require_subcommand(1);
  Args args;
  CLI::App* train = add_train(app, args);
  add_optimizer(app, args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << "lb-bench: " << e.what() << " (see --help)\n";
    return 2;
  }
  try {
    const json row = train->parsed() ? train_mode(args) : optimizer_mode(args);
    std::cout << row.dump() << std::endl;
    return 0;
  } catch (const lb::InputError& e) {
    std::cerr << "lb-bench: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "lb-bench: " << e.what() << '\n';
    return 1;
  }
}
