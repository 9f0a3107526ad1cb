// hparam-sweep: coarse-to-fine hyper-parameter sweeps through lb-train.
//   hparam-sweep SWEEP.json --out DIR [--workers W] [--plan-only]   (run; the default)
//   hparam-sweep status DIR | export DIR --csv | report DIR
// Exit codes: 0 done, 2 bad input (nothing written), 1 runtime failure,
// 130 interrupted (rerun the same command to resume).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "hparam/report.hpp"
#include "hparam/runner.hpp"
#include "hparam/sweep_file.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"

namespace fs = std::filesystem;

namespace {

struct Args {
  std::string sweep, out, trainer, simulator, dir, csv_out, analysis_dir, launcher;
  int workers = 1;
  bool plan_only = false, retry_failed = false, csv = false, evals = false;
};

// The directory holding this executable (build/bin), where lb-train and
// simulate-scaling are built too.
fs::path exe_dir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path(".") : self.parent_path();
}

fs::path require_sweep_dir(const std::string& dir) {
  if (!fs::exists(fs::path(dir) / "sweep.db"))
    throw lb::InputError(dir + ": not a sweep directory (no sweep.db)");
  return dir;
}

int run(const Args& a) {
  lb::check_output_directory(a.out, "--out");
  const lb::hparam::SweepConfig sweep = lb::hparam::parse_sweep_file(a.sweep);
  lb::hparam::RunOptions options;
  options.out = fs::absolute(a.out).lexically_normal();
  options.workers = a.workers;
  options.trainer = fs::absolute(a.trainer.empty() ? exe_dir() / "lb-train" : fs::path(a.trainer));
  options.simulator =
      fs::absolute(a.simulator.empty() ? exe_dir() / "simulate-scaling" : fs::path(a.simulator));
  options.plan_only = a.plan_only;
  options.retry_failed = a.retry_failed;
  options.launcher = a.launcher;
  if (!fs::exists(options.trainer))
    throw lb::InputError("--trainer " + options.trainer.string() + ": not found");
  return lb::hparam::run_sweep(sweep, options, std::cout);
}

int export_csv(const Args& a) {
  const fs::path dir = require_sweep_dir(a.dir);
  if (!a.csv) throw lb::InputError("export: give --csv (the only format)");
  std::ofstream file;
  if (!a.csv_out.empty()) {
    file.open(a.csv_out);
    if (!file) throw lb::InputError("--output " + a.csv_out + ": cannot open for writing");
  }
  std::ostream& out = a.csv_out.empty() ? std::cout : file;
  if (a.evals)
    lb::hparam::write_evals_csv(dir, out);
  else
    lb::hparam::write_trials_csv(dir, out);
  return 0;
}

int report(const Args& a) {
  const fs::path dir = require_sweep_dir(a.dir);
  fs::path analysis = a.analysis_dir;
  if (analysis.empty())
    analysis = fs::exists(exe_dir() / "../../analysis") ? exe_dir() / "../../analysis"
                                                        : fs::path(LB_SOURCE_DIR) / "analysis";
  return lb::hparam::write_report(dir, analysis, std::cout) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "hparam-sweep: coarse-to-fine hyper-parameter sweeps through lb-train (see "
      "hparam/README.md)"};
  app.require_subcommand(0, 1);
  Args a;
  app.add_option("sweep", a.sweep, "sweep file (JSON), see experiments/SPEC.md#sweep-files")
      ->check(CLI::ExistingFile);
  app.add_option("--out", a.out,
                 "sweep directory (sweep.db, trials/, best-spec.json); rerun to resume");
  app.add_option("--workers,-w", a.workers,
                 "trials at a time (with --launcher slurm: the sweep's jobs in the queue at once)")
      ->check(CLI::Range(1, 256));
  app.add_option("--launcher", a.launcher,
                 "where trials run: local (child processes) or slurm (sbatch jobs; the sweep "
                 "file's \"slurm\" settings); default: the sweep file's \"launcher\", else local")
      ->check(CLI::IsMember({"local", "slurm"}));
  app.add_option("--trainer", a.trainer, "trial program (default: lb-train next to hparam-sweep)");
  app.add_option("--simulator", a.simulator,
                 "simulate-scaling for the cost estimate (default: next to hparam-sweep)");
  app.add_flag("--plan-only", a.plan_only,
               "run the search stages, estimate the final stage's cost, stop before it");
  app.add_flag("--retry-failed", a.retry_failed,
               "run the failed trials of the latest stage again (e.g. after fixing --trainer)");
  CLI::App* status = app.add_subcommand("status", "table of stages and trials");
  status->add_option("dir", a.dir, "sweep directory")->required();
  CLI::App* exp = app.add_subcommand("export", "trials (or evaluations) as CSV");
  exp->add_option("dir", a.dir, "sweep directory")->required();
  exp->add_flag("--csv", a.csv, "CSV format")->required();
  exp->add_flag("--evals", a.evals, "the per-epoch evaluations instead of the trials");
  exp->add_option("--output,-o", a.csv_out, "write here instead of stdout");
  CLI::App* rep = app.add_subcommand("report", "DIR/report/report.md with PNG plots");
  rep->add_option("dir", a.dir, "sweep directory")->required();
  rep->add_option("--analysis-dir", a.analysis_dir,
                  "where hparam_report.py is (default: the source tree's analysis/)");
  try {
    app.parse(argc, argv);
    if (app.got_subcommand(status) || app.got_subcommand(exp) || app.got_subcommand(rep)) {
      if (!a.sweep.empty()) throw CLI::ValidationError("give either a sweep file or a subcommand");
    } else if (a.sweep.empty() || a.out.empty()) {
      throw CLI::RequiredError(
          "a sweep file and --out DIR (or a subcommand: status, export, report)");
    }
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << "hparam-sweep: " << e.what() << " (see --help)\n";
    return 2;
  }
  try {
    if (app.got_subcommand(status)) {
      lb::hparam::print_status(require_sweep_dir(a.dir), std::cout);
      return 0;
    }
    if (app.got_subcommand(exp)) return export_csv(a);
    if (app.got_subcommand(rep)) return report(a);
    return run(a);
  } catch (const lb::InputError& e) {
    std::cerr << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "hparam-sweep: error: " << e.what() << '\n';
    return 1;
  }
}
