// hparam-fake-trial: a stand-in for lb-train in the hparam tests. Same CLI
// (SPEC --out DIR [--set K=V]... [--max-epochs E] [--resume] [-q]), same spec
// validation, same outputs (metrics.jsonl with "eval" lines per eval
// interval, summary.json; a stop at --max-epochs leaves checkpoint.json for
// --resume), but the accuracy is a deterministic synthetic function of the
// hyper-parameters and the epoch, so a trial takes milliseconds. With
// data.validation_images > 0 it also reports validation_accuracy and
// validation_loss (a slightly different function), as lb-train does. A train.stop_at on
// test_accuracy or test_loss stops it, with lb-train's summary fields (a
// "step" is an evaluation interval).
//
// Knobs (environment):
//   FAKE_TRIAL_EPOCH_S=0.02     sleep per evaluated epoch
//   FAKE_TRIAL_LOG=FILE         append "start DIR" / "finish DIR" per run
// train.init_from=DIR, as lb-train, must name a run directory that holds a
// checkpoint (the fake writes checkpoint.bin, a stand-in, whenever it
// stops); otherwise it exits 2. summary.json records {"path": DIR}.
//
//   FAKE_TRIAL_FAULT=MODE:KEY>X[,MODE:KEY=X]...  a fault when spec key KEY
//     exceeds (or equals) X; the first rule that matches applies. MODE:
//     crash (SIGABRT after the first eval), hang (sleep forever), nan
//     (diverges: exits 3 as lb-train does, with a message that never says
//     "diverged", since the sweep must go by the exit code), fail (exits 1
//     with a message that does say "diverged"), flaky (crashes on the
//     first attempt only, remembered in DIR.flaky), badinput (exits 2)
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "runtime/core/json_reader.hpp"
#include "runtime/core/spec.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

double sq(double x) { return x * x; }

// Peak accuracy: best at lr.base 0.3, eta 0.01, weight decay 1e-4, 1 warm-up epoch.
double peak_accuracy(const lb::Spec& s) {
  const double data =
      s.data.train_subset > 0 ? std::min(1.0, double(s.data.train_subset) / 60000.0) : 1.0;
  return 0.92 - 0.08 * sq(std::log10(s.optimizer.lr.base / 0.3)) -
         0.04 * sq(std::log10(s.optimizer.lars.eta / 0.01)) -
         0.02 * sq(std::log10(s.optimizer.weight_decay / 1e-4)) -
         0.01 * sq(s.optimizer.lr.warmup_epochs - 1) - 0.02 * (1 - data);
}

double accuracy_at(const lb::Spec& s, double epoch) {
  return peak_accuracy(s) * (1 - 0.5 * std::exp(-epoch));
}

// The held-out split's accuracy differs a little from the test set's, in a
// way that depends on the configuration (the optimum moves to lr.base 0.25),
// so a test can tell which one a sweep chose by.
double validation_accuracy_at(const lb::Spec& s, double epoch) {
  return accuracy_at(s, epoch) + 0.01 * std::log10(0.3 / s.optimizer.lr.base) -
         0.002 * sq(std::log10(0.3 / s.optimizer.lr.base));
}

// data.validation_images, looked up by name: 0 where the spec has no such key.
bool has_validation_split(const lb::Spec& spec) {
  const json j = lb::to_json(spec);
  return j.contains("data") && j["data"].value("validation_images", 0) > 0;
}

// The accuracies of an evaluation: test, and validation when there is a split.
json evaluation(const lb::Spec& spec, double epoch) {
  const double acc = accuracy_at(spec, epoch);
  json e{{"test_accuracy", acc}, {"test_loss", 1 - acc}};
  if (has_validation_split(spec)) {
    const double v = validation_accuracy_at(spec, epoch);
    e["validation_accuracy"] = v;
    e["validation_loss"] = 1 - v;
  }
  return e;
}

void log_event(const char* what, const std::string& out) {
  const char* file = std::getenv("FAKE_TRIAL_LOG");
  if (file == nullptr) return;
  const std::string line = std::string(what) + " " + out + "\n";
  const int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
  (void)!write(fd, line.data(), line.size());
  close(fd);
}

double spec_value(const lb::Spec& spec, const std::string& key) {
  json node = lb::to_json(spec);
  std::size_t start = 0;
  while (start <= key.size()) {
    const auto dot = std::min(key.find('.', start), key.size());
    node = node.at(key.substr(start, dot - start));
    start = dot + 1;
  }
  return node.get<double>();
}

// The fault mode that applies to this spec, or "".
std::string fault(const lb::Spec& spec) {
  const char* f = std::getenv("FAKE_TRIAL_FAULT");
  std::stringstream rules(f ? f : "");
  std::string rule;
  while (std::getline(rules, rule, ',')) {
    const auto colon = rule.find(':'), op = rule.find_first_of(">=", colon);
    if (colon == std::string::npos || op == std::string::npos) continue;
    const double value = spec_value(spec, rule.substr(colon + 1, op - colon - 1));
    const double x = std::stod(rule.substr(op + 1));
    if (rule[op] == '>' ? value > x : std::fabs(value - x) < 1e-12) return rule.substr(0, colon);
  }
  return "";
}

// train.stop_at on any metric an evaluation reports (accuracies reached when
// >=, losses when <=); a step is an evaluation interval here.
bool reached_target(const lb::Spec& spec, const json& eval) {
  const lb::StopAtSpec& stop = spec.train.stop_at;
  if (!stop.enabled() || !eval.contains(stop.metric)) return false;
  const double value = eval[stop.metric].get<double>();
  return stop.metric.ends_with("_loss") ? value <= stop.value : value >= stop.value;
}

json target_json(const lb::Spec& spec) {
  const lb::StopAtSpec& stop = spec.train.stop_at;
  return stop.enabled() ? json{{"metric", stop.metric}, {"value", stop.value}} : json(nullptr);
}

struct TrainArgs {
  std::string spec;
  fs::path out;
  std::vector<std::string> sets;
  double max_epochs = 0;
  bool resume = false;
};

// The evaluation interval to start from: 0, or the one after the checkpoint's.
int resume_interval(const TrainArgs& a) {
  if (!a.resume) return 0;
  return json::parse(lb::read_file(a.out / "checkpoint.json")).at("interval").get<int>();
}

// train.init_from: null, or {"path": DIR} after checking DIR's checkpoint
// (not on --resume: lb-train does not read the source again).
json init_source(const lb::Spec& spec, bool resume) {
  if (spec.train.init_from.empty()) return nullptr;
  if (!resume && !fs::exists(fs::path(spec.train.init_from) / "checkpoint.bin"))
    throw lb::SpecError("train.init_from",
                        spec.train.init_from + ": no checkpoint.bin in this directory");
  return json{{"path", spec.train.init_from}};
}

int train(const TrainArgs& a) {
  const lb::Spec spec = lb::load_spec(a.spec, a.sets);
  const std::string mode = fault(spec);
  if (mode == "badinput") throw lb::InputError("spec error: fake: bad input requested");
  const json init_from = init_source(spec, a.resume);
  fs::create_directories(a.out);
  const fs::path& out = a.out;
  log_event(a.resume ? "resume" : "start", out.string());
  const bool flaky_first = mode == "flaky" && !fs::exists(out.string() + ".flaky");
  if (flaky_first) std::ofstream(out.string() + ".flaky") << "1\n";
  const char* sleep_env = std::getenv("FAKE_TRIAL_EPOCH_S");
  const double sleep_s = sleep_env ? std::atof(sleep_env) : 0.02;
  std::ofstream metrics(out / "metrics.jsonl", a.resume ? std::ios::app : std::ios::trunc);
  const double every = spec.train.eval_every_epochs, epochs = spec.train.epochs;
  const double stop_at = a.max_epochs > 0 ? std::min(epochs, a.max_epochs) : epochs;
  double acc = 0, epoch = 0;
  int k = resume_interval(a);
  while (true) {
    ++k;
    epoch = std::min(stop_at, k * every);
    std::this_thread::sleep_for(
        std::chrono::duration<double>(sleep_s * (epoch - std::min(epochs, (k - 1) * every))));
    if (mode == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
    if (mode == "nan") throw lb::DivergedError("loss is nan at step " + std::to_string(k));
    if (mode == "fail")
      throw std::runtime_error("not a divergence, though this message says diverged");
    acc = accuracy_at(spec, epoch);
    json eval{{"type", "eval"}, {"step", k}, {"epoch", epoch}};
    eval.update(evaluation(spec, epoch));
    metrics << json{{"type", "step"}, {"step", k}, {"epoch", epoch}, {"loss", 1 - acc}}.dump()
            << "\n"
            << eval.dump() << "\n"
            << std::flush;
    if (mode == "crash" || flaky_first) std::abort();
    if (reached_target(spec, eval)) break;
    if (epoch >= stop_at - 1e-9) break;
  }
  const bool at_target = reached_target(spec, evaluation(spec, epoch));
  const bool finished = at_target || epoch >= epochs - 1e-9;
  lb::write_file_atomically(out / "checkpoint.bin",
                            "fake weights at epoch " + lb::format_number(epoch) + "\n");
  if (!finished) {
    lb::write_file_atomically(out / "checkpoint.json", json{{"interval", k}}.dump() + "\n");
  }
  json summary{
      {"final_loss", 1 - acc},           {"finished", finished},
      {"train_time_s", epoch * sleep_s}, {"steps", k},
      {"init_from", init_from},          {"target", target_json(spec)},
      {"stopped_at_target", at_target},  {"steps_to_target", at_target ? json(k) : json(nullptr)},
      {"spec", lb::to_json(spec)}};
  summary.update(evaluation(spec, epoch));
  lb::write_file_atomically(out / "summary.json", summary.dump(2) + "\n");
  log_event(finished ? "finish" : "pause", out.string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hparam-fake-trial: lb-train's CLI with a synthetic objective (hparam tests)"};
  TrainArgs args;
  std::string out;
  bool quiet = false;
  app.add_option("spec", args.spec)->required();
  app.add_option("--out", out)->required();
  app.add_option("--set", args.sets);
  app.add_option("--max-epochs", args.max_epochs);
  app.add_flag("--resume", args.resume);
  app.add_flag("-q,--quiet", quiet);
  CLI11_PARSE(app, argc, argv);
  args.out = out;
  try {
    return train(args);
  } catch (const lb::InputError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const lb::DivergedError& e) {
    std::cerr << "\nlb-train: error: " << e.what() << "\n";
    return lb::kDivergedExitCode;
  } catch (const std::exception& e) {
    std::cerr << "\nlb-train: error: " << e.what() << "\n";
    return 1;
  }
}
