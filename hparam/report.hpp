#pragma once
// Reading a sweep directory back: the status table, CSV export and the
// markdown report with plots (drawn by analysis/hparam_report.py).
#include <filesystem>
#include <iosfwd>

namespace lb::hparam {

// A table of stages, then one row per trial. Read-only on the store, so it
// works while the sweep runs.
void print_status(const std::filesystem::path& dir, std::ostream& out);

// One CSV row per trial: id, stage, status, objective, epochs, wall time,
// one column per parameter, reason, command.
void write_trials_csv(const std::filesystem::path& dir, std::ostream& out);
// One CSV row per evaluation: trial_id, stage, epoch, value.
void write_evals_csv(const std::filesystem::path& dir, std::ostream& out);

// Writes DIR/report/report.md, trials.csv, evals.csv and the PNG plots.
// Returns false (after writing the markdown) when the plots could not be drawn.
bool write_report(const std::filesystem::path& dir, const std::filesystem::path& analysis_dir,
                  std::ostream& log);

}  // namespace lb::hparam
