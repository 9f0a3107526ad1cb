// simulate-scaling: predicts throughput, scaling efficiency and time to train
// of a spec on 1..thousands of GPUs with a SimGrid model of the runtime's step.
//   simulate-scaling SPEC.json [--out DIR] [--gpus 8,16,...] [--profile P ...]
//                    [--calibration cal.json] [--set key=value ...] [--trace N]
//                    [--devices DIR] [--price-per-gpu-hour P] [--require-fit] [--no-plot]
//   simulate-scaling calibrate --from RUN_DIR|profile.json|bench.jsonl ... --out cal.json
//   simulate-scaling fit-convergence RUN_DIR... [--noise-scale] [--out convergence.json]
//   simulate-scaling plan SPEC.json --convergence FILE [--batches ...] [--price-per-gpu-hour P]
//                    [and the options above]
// Writes DIR/scaling.json, DIR/scaling.csv, DIR/scaling.png (unless --no-plot)
// and (--trace N) DIR/trace.gpusN.json; DIR defaults to runs/simulate-<spec name>.
// plan writes DIR/plan.json, plan.csv, plan.png; DIR defaults to runs/plan-<spec name>.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "simulator/calibration.hpp"
#include "simulator/convergence_fit.hpp"
#include "simulator/device.hpp"
#include "simulator/memory_model.hpp"
#include "simulator/plan.hpp"
#include "simulator/report.hpp"
#include "simulator/scaling.hpp"
#include "simulator/scenario.hpp"

namespace lb::sim {
namespace {

struct Args {
  std::string spec, out, calibration;
  std::vector<std::string> devices;  // user directories, searched before the built-in one
  std::vector<int> gpus;
  std::vector<std::string> profiles, overrides;
  int trace = 0;
  bool plot = true, require_fit = false;
  double price_per_gpu_hour = -1;  // < 0: cluster.price_per_gpu_hour
};

struct CalibrateArgs {
  std::vector<std::string> from;
  std::string out;
};

struct FitConvergenceArgs {
  std::vector<std::string> runs;
  std::string out = "convergence.json";
  bool noise_scale = false;
};

struct PlanArgs {
  std::string convergence;
  std::vector<std::int64_t> batches;
  std::optional<double> price_per_gpu_hour;
};

std::vector<int> default_gpus(std::int64_t global_batch) {
  std::vector<int> gpus;
  for (int n = 8; n <= 2048 && n <= global_batch; n *= 2) {
    if (global_batch % n == 0) gpus.push_back(n);
  }
  if (gpus.empty()) gpus.push_back(1);
  return gpus;
}

ScenarioInputs inputs_of(const Args& a) {
  ScenarioInputs in{a.spec, a.overrides, {}, a.profiles, a.calibration};
  for (const auto& d : a.devices) in.device_dirs.emplace_back(d);
  in.device_dirs.push_back(default_devices_dir());
  return in;
}

// The PNG comes from analysis/SCRIPT (matplotlib); a missing Python only
// costs the plot, never the results.
void plot(const std::string& out, const std::string& script_name, const std::string& png) {
  const std::filesystem::path script =
      std::filesystem::path(LB_SOURCE_DIR) / "analysis" / script_name;
  std::error_code ec;
  if (!std::filesystem::exists("/usr/bin/python3", ec) || !std::filesystem::exists(script, ec)) {
    std::printf("plot skipped: needs /usr/bin/python3 and %s\n", script.c_str());
    return;
  }
  const std::string command =
      "/usr/bin/python3 '" + script.string() + "' '" + out + "' >/dev/null 2>&1";
  if (std::system(command.c_str()) == 0) {
    std::printf("wrote %s/%s\n", out.c_str(), png.c_str());
  } else {
    std::printf("plot skipped: %s failed (python3-matplotlib installed?)\n", script.c_str());
  }
}

// --require-fit: a row whose per-GPU batch does not fit the device is bad
// input, found before anything is simulated or written.
void require_fit(const Scenario& s, const std::vector<int>& gpus) {
  for (int n : gpus) {
    const MemoryFit fit = device_memory_fit(s, n);
    if (fit.fits == false)
      throw InputError("--require-fit: " + std::to_string(n) + " GPUs: " + fit.note);
  }
}

void write_outputs(const Args& a, const Scenario& s, const std::vector<ScalingRow>& rows,
                   const Report& report, double price, const std::vector<TraceEvent>& trace) {
  const std::filesystem::path out(a.out);
  std::filesystem::create_directories(out);
  write_file_atomically(out / "scaling.json",
                        scaling_document(s, rows, report, price).dump(2) + "\n");
  write_file_atomically(out / "scaling.csv", csv(rows));
  if (a.trace > 0) {
    write_file_atomically(out / ("trace.gpus" + std::to_string(a.trace) + ".json"),
                          chrome_trace(trace, a.trace).dump() + "\n");
  }
  std::printf("wrote %s/scaling.json, scaling.csv%s\n", a.out.c_str(),
              a.trace > 0 ? ", trace" : "");
}

int simulate(Args a) {
  const Scenario s = make_scenario(inputs_of(a));
  if (a.out.empty()) a.out = "runs/simulate-" + s.spec.name;
  const std::vector<int> gpus = a.gpus.empty() ? default_gpus(s.spec.train.global_batch) : a.gpus;
  check_gpus(s, gpus);
  if (a.trace > 0) check_gpus(s, {a.trace});
  if (a.require_fit) require_fit(s, gpus);
  const double price =
      a.price_per_gpu_hour >= 0 ? a.price_per_gpu_hour : s.spec.cluster.price_per_gpu_hour;
  const std::int64_t batch = s.spec.train.global_batch;
  std::vector<ScalingRow> rows;
  std::vector<TraceEvent> trace;
  for (int n : gpus) rows.push_back(predict(s, n, batch, price, n == a.trace ? &trace : nullptr));
  if (a.trace > 0 && trace.empty()) predict(s, a.trace, batch, price, &trace);
  const Report report = make_report(s, rows);
  std::fputs(table(s, rows, report, price).c_str(), stdout);
  write_outputs(a, s, rows, report, price, trace);
  if (a.plot) plot(a.out, "plot_scaling.py", "scaling.png");
  return 0;
}

int run_calibrate(const CalibrateArgs& a) {
  std::vector<std::filesystem::path> from(a.from.begin(), a.from.end());
  const Calibration cal = calibrate(read_calibration_inputs(from));
  if (!cal.intra && !cal.compute)
    throw InputError(
        "calibrate: nothing to fit in --from (no all-reduce rows of ring, hierarchical or torus2d "
        "with 2+ ranks, no profiles)");
  if (cal.intra) {
    std::printf(
        "intra link: latency %.2f us, bandwidth %.3f Gbps (%.3f GB/s) from %d rows; |error| median "
        "%.1f%%, max %.1f%%\n",
        cal.intra->link.latency_s * 1e6, cal.intra->link.bandwidth_Bps * 8 / 1e9,
        cal.intra->link.bandwidth_Bps / 1e9, cal.intra->rows, 100 * cal.intra->median_abs_error,
        100 * cal.intra->max_abs_error);
    std::printf("%-13s %6s %12s %9s %12s %12s %8s\n", "algorithm", "ranks", "bytes", "measured",
                "measured_s", "predicted_s", "error");
    for (const auto& r : cal.residuals) {
      std::printf("%-13s %6d %12lld %9s %12.6f %12.6f %7.1f%%%s\n",
                  r["algorithm"].get<std::string>().c_str(), r["ranks"].get<int>(),
                  (long long)r["bytes"].get<std::int64_t>(),
                  r["in_training"].get<bool>() ? "training" : "alone",
                  r["measured_s"].get<double>(), r["predicted_s"].get<double>(),
                  100 * r["error"].get<double>(), r["fitted"].get<bool>() ? "" : " (not fitted)");
    }
  }
  if (cal.comm_cpu) {
    std::printf(
        "communication CPU time in training: %.2f us per all-reduce + %.4f ns per byte from %d "
        "rows; "
        "|error| median %.1f%%, max %.1f%%\n",
        cal.comm_cpu->cost.per_call_s * 1e6, cal.comm_cpu->cost.per_byte_s * 1e9,
        cal.comm_cpu->rows, 100 * cal.comm_cpu->median_abs_error,
        100 * cal.comm_cpu->max_abs_error);
    if (cal.comm_cpu->disturbance_profiles > 0) {
      std::printf(
          "compute lost to each all-reduce beyond that CPU time: %.1f us (median of %d "
          "profile(s) with many all-reduces a step)\n",
          cal.comm_cpu->cost.disturbance_s * 1e6, cal.comm_cpu->disturbance_profiles);
    }
  }
  if (cal.compute)
    std::printf("compute: %s, %zu layers, optimizer %.6f s\n", cal.compute->source.c_str(),
                cal.compute->layers.size(), cal.compute->optimizer_s);
  write_file_atomically(a.out, to_json(cal).dump(2) + "\n");
  return 0;
}

int run_fit_convergence(const FitConvergenceArgs& a) {
  if (a.noise_scale && a.runs.size() != 1) {
    throw InputError("fit-convergence --noise-scale: expected one run directory, got " +
                     std::to_string(a.runs.size()));
  }
  const std::vector<std::filesystem::path> runs(a.runs.begin(), a.runs.end());
  const ConvergenceFit fit =
      a.noise_scale ? convergence_from_noise_scale(runs.front()) : fit_convergence(runs);
  std::fputs(describe(fit).c_str(), stdout);
  write_file_atomically(a.out, to_json(fit.model).dump(2) + "\n");
  std::printf("wrote %s\n", a.out.c_str());
  return 0;
}

// Powers of two from 8 (1 on a smaller cluster) up to 2,048 or the cluster's size.
std::vector<int> plan_default_gpus(const Scenario& s) {
  const int capacity =
      s.spec.cluster.nodes > 0 ? s.spec.cluster.nodes * s.cluster.gpus_per_node : 2048;
  std::vector<int> gpus;
  for (int n = capacity >= 8 ? 8 : 1; n <= std::min(capacity, 2048); n *= 2) gpus.push_back(n);
  return gpus;
}

int run_plan(Args a, const PlanArgs& p) {
  const Scenario s = make_scenario(inputs_of(a));
  const ConvergenceModel model = load_convergence(p.convergence);
  if (a.out.empty()) a.out = "runs/plan-" + s.spec.name;
  const PlanRequest request{
      a.gpus.empty() ? plan_default_gpus(s) : a.gpus,
      p.batches.empty() ? default_plan_batches(model, s.spec.train.global_batch) : p.batches,
      p.price_per_gpu_hour};
  PlanHooks hooks;
  hooks.check = [](const Scenario& sb, int gpus) { check_gpus(sb, {gpus}); };
  const Plan plan = make_plan(s, model, request, hooks);
  std::fputs(describe(plan).c_str(), stdout);
  std::filesystem::create_directories(a.out);
  write_file_atomically(std::filesystem::path(a.out) / "plan.json", to_json(plan).dump(2) + "\n");
  write_file_atomically(std::filesystem::path(a.out) / "plan.csv", plan_csv(plan));
  std::printf("wrote %s/plan.json, plan.csv\n", a.out.c_str());
  if (a.plot && !plan.rows.empty()) plot(a.out, "plot_plan.py", "plan.png");
  return 0;
}

}  // namespace
}  // namespace lb::sim

int main(int argc, char** argv) {
  lb::sim::Args args;
  lb::sim::CalibrateArgs cal;
  CLI::App app{
      "simulate-scaling: SimGrid model of the runtime's data-parallel step on 1..thousands of "
      "GPUs"};
  app.add_option("spec", args.spec, "experiment spec (experiments/*.json)");
  app.add_option("--out", args.out, "output directory (default runs/simulate-<spec name>)");
  app.add_option("--gpus", args.gpus,
                 "GPU counts, comma-separated (default 8,16,...,2048 up to the global batch)")
      ->delimiter(',');
  app.add_option("--profile", args.profiles,
                 "lb-train profile.json or run directory (repeatable): compute model");
  app.add_option("--calibration", args.calibration, "cal.json from 'simulate-scaling calibrate'");
  app.add_option("--set", args.overrides,
                 "override a spec key, e.g. --set cluster.gpu=A100 (repeatable)");
  app.add_option("--trace", args.trace,
                 "write DIR/trace.gpusN.json: Chrome trace of one step at N GPUs");
  app.add_option("--devices", args.devices,
                 "directory of extra GPU profiles, searched before the built-in " +
                     lb::sim::default_devices_dir().string() + " (repeatable)");
  app.add_option("--price-per-gpu-hour", args.price_per_gpu_hour,
                 "money per GPU-hour for the cost column (default cluster.price_per_gpu_hour)")
      ->check(CLI::Range(0.0, 1e6));
  app.add_flag("--require-fit", args.require_fit,
               "exit 2 when a GPU count's per-GPU batch does not fit the GPU's memory");
  app.add_flag("!--no-plot", args.plot, "do not draw DIR/scaling.png");
  auto* calibrate = app.add_subcommand(
      "calibrate", "fit link latency/bandwidth and per-layer compute to measurements");
  calibrate
      ->add_option("--from", cal.from,
                   "run directories, profile.json files, allreduce-bench --json output")
      ->required();
  calibrate->add_option("--out", cal.out, "calibration file to write")->required();
  lb::sim::FitConvergenceArgs fit;
  auto* fit_convergence = app.add_subcommand(
      "fit-convergence",
      "fit steps to a target S(B) = S_min (1 + B_crit / B) to lb-train runs that stopped at a "
      "target (train.stop_at), and write a convergence model");
  fit_convergence->add_option("runs", fit.runs, "run directories (summary.json, metrics.jsonl)")
      ->required();
  fit_convergence->add_option("--out", fit.out, "convergence model to write")
      ->capture_default_str();
  fit_convergence->add_flag("--noise-scale", fit.noise_scale,
                            "one run: B_crit = its gradient noise scale B_simple at the target, "
                            "S_min from its steps to target (cheaper, rougher)");
  lb::sim::PlanArgs plan;
  auto* plan_command = app.add_subcommand(
      "plan",
      "time and cost to a target accuracy for every (GPU count, global batch) pair; also takes "
      "--gpus, --out (default runs/plan-<spec name>), --set, --profile, --calibration, "
      "--devices, --no-plot");
  plan_command->fallthrough();
  plan_command->add_option("spec", args.spec, "experiment spec (experiments/*.json)")->required();
  plan_command
      ->add_option("--convergence", plan.convergence, "convergence model (convergence.json)")
      ->required();
  plan_command
      ->add_option("--batches", plan.batches,
                   "global batches, comma-separated (default powers of two over the model's "
                   "measured batches, widened by 2 each way, and the spec's)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  plan_command
      ->add_option("--price-per-gpu-hour", plan.price_per_gpu_hour,
                   "price of one GPU-hour: adds cost = GPU-hours x price")
      ->check(CLI::NonNegativeNumber);
  try {
    app.parse(argc, argv);
    if (!calibrate->parsed() && !fit_convergence->parsed() && args.spec.empty())
      throw CLI::RequiredError("SPEC");
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "simulate-scaling: %s (see --help)\n", e.what());
    return 2;
  }
  try {
    if (calibrate->parsed()) return lb::sim::run_calibrate(cal);
    if (fit_convergence->parsed()) return lb::sim::run_fit_convergence(fit);
    if (plan_command->parsed()) return lb::sim::run_plan(args, plan);
    return lb::sim::simulate(args);
  } catch (const lb::InputError& e) {
    std::fprintf(stderr, "simulate-scaling: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "simulate-scaling: error: out of memory (simulate fewer GPUs at once)\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "simulate-scaling: error: %s\n", e.what());
    return 1;
  }
}
