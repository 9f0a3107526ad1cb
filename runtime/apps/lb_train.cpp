// lb-train: trains one experiment spec. Exit codes: 0 done, 2 bad input
// (command line, spec, data files; nothing is written), 3 the loss diverged,
// 1 any other runtime failure.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "runtime/comm/mpi_communicator.hpp"
#include "runtime/core/allocator.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/spec.hpp"
#include "runtime/nn/cpu_settings.hpp"
#include "runtime/train/progress.hpp"
#include "runtime/train/trainer.hpp"

namespace {

struct Args {
  std::string spec;
  std::string out;
  std::vector<std::string> overrides;
  bool resume = false;
  bool overwrite = false;
  bool quiet = false;
  std::int64_t max_steps = 0;
  double max_epochs = 0;
};

// CLI11's own range checks accept nan and print the type's whole range
// ("... 1.79769e+308"): these say what is expected in words.
CLI::Validator non_negative_integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::size_t used = 0;
        long long value = -1;
        try {
          value = std::stoll(text, &used);
        } catch (const std::exception&) {
        }
        return used == text.size() && value >= 0 ? "" : "expected an integer >= 0, got " + text;
      },
      "INT>=0");
}

CLI::Validator non_negative_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::size_t used = 0;
        double value = -1;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
        }
        const bool ok = used == text.size() && std::isfinite(value) && value >= 0;
        return ok ? "" : "expected a finite number >= 0, got " + text;
      },
      "NUMBER>=0");
}

void add_options(CLI::App& app, Args& args) {
  app.add_option("spec", args.spec, "experiment spec (JSON), see experiments/SPEC.md")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--out", args.out,
                 "output directory for metrics.jsonl, summary.json, checkpoint.bin")
      ->required();
  app.add_option("--set", args.overrides,
                 "override a spec key, e.g. --set train.epochs=1 (repeatable)")
      ->type_name("KEY=VALUE");
  auto* resume = app.add_flag(
      "--resume", args.resume,
      "continue from OUT/checkpoint.bin (the spec may differ only in the keys experiments/SPEC.md "
      "lists as safe to change on resume)");
  app.add_flag("--overwrite", args.overwrite,
               "replace the run in OUT (its metrics, summary, checkpoint, profile and traces are "
               "removed first); without it, lb-train refuses an OUT that holds a run")
      ->excludes(resume);
  app.add_option("--max-steps", args.max_steps,
                 "stop after this many steps in all, with a checkpoint (the schedule still spans "
                 "train.epochs); --resume continues")
      ->check(non_negative_integer());
  app.add_option("--max-epochs", args.max_epochs,
                 "stop at this epoch (rounded to a step), with a checkpoint, as --max-steps")
      ->check(non_negative_number());
  app.add_flag("-q,--quiet", args.quiet, "no progress lines");
}

void print_result(const lb::Spec& spec, const lb::TrainResult& r) {
  std::printf(
      "%s %s %s: test accuracy %.4f, final loss %.4f, %lld/%lld steps, %.1f s training, %.0f "
      "img/s\n",
      spec.name.c_str(), spec.model.name.c_str(),
      std::string(lb::to_string(spec.train.precision)).c_str(), r.test_accuracy, r.final_loss,
      static_cast<long long>(r.steps), static_cast<long long>(r.total_steps), r.train_time_s,
      r.train_images_per_s);
  std::printf("weights_sha256 %s\n", r.weights_sha256.c_str());
}

int train(const Args& args) {
  const lb::Spec spec = lb::load_spec(args.spec, args.overrides);
  std::unique_ptr<lb::MpiCommunicator> world;
  if (lb::launched_by_mpirun())
    world = std::make_unique<lb::MpiCommunicator>(MPI_COMM_WORLD, spec.comm.timeout_s);
  const bool leader = !world || world->rank() == 0;
  lb::TrainOptions options;
  options.out = args.out;
  options.resume = args.resume;
  options.overwrite = args.overwrite;
  options.max_steps = args.max_steps;
  options.max_epochs = args.max_epochs;
  options.quiet = args.quiet;
  options.terminal = isatty(STDOUT_FILENO) != 0;
  options.world = world.get();
  lb::Trainer trainer(spec, options, std::cout);
  if (leader) {
    // A GPU run names rank 0's GPU, for the record of where it ran.
    const std::string device =
        spec.device == lb::DeviceKind::cpu
            ? ""
            : ", " + lb::to_string(spec.device) + ": " + trainer.device_description();
    std::printf(
        "%s: %s on %s, %s, %s, global batch %lld, %d rank(s), seed %llu, %d threads%s\n",
        spec.name.c_str(), spec.model.name.c_str(), lb::to_string(spec.data.dataset).c_str(),
        std::string(lb::to_string(spec.train.precision)).c_str(),
        lb::to_string(spec.optimizer.name).c_str(), static_cast<long long>(spec.train.global_batch),
        world ? world->size() : 1, static_cast<unsigned long long>(spec.train.seed),
        lb::cpu::threads(), device.c_str());
    std::fflush(stdout);
  }
  const lb::TrainResult result = trainer.run();
  if (leader) print_result(spec, result);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  lb::keep_freed_memory();
  lb::MpiSession mpi(&argc, &argv);
  CLI::App app{"lb-train: data-parallel fp16/LARS training of an experiment spec"};
  app.footer(
      "Exit codes: 0 done, 2 bad input (command line, spec, data files), 3 the loss diverged "
      "(inf/NaN), 1 any other runtime failure.");
  Args args;
  add_options(app, args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    return lb::end_job_with_error("lb-train: " + std::string(e.what()) + " (see --help)", 2);
  }
  // Under mpirun an error on any rank ends the whole job (end_job_with_error).
  try {
    return train(args);
  } catch (const lb::InputError& e) {
    return lb::end_job_with_error(e.what(), 2);
  } catch (const lb::DivergedError& e) {
    return lb::end_job_with_error("\nlb-train: error: " + std::string(e.what()),
                                  lb::kDivergedExitCode);
  } catch (const std::exception& e) {
    return lb::end_job_with_error("\nlb-train: error: " + std::string(e.what()), 1);
  }
}
