#pragma once
// How one attempt of a trial ended, decided in one place from what the
// attempt left behind: its exit status (or the batch scheduler's verdict),
// its summary.json, and whether the sweep itself stopped it. Pure: the caller
// reads the files, so every rule is testable without running anything.
//
// Exit codes are lb-train's (README.md): 0 done, 2 bad input, 3 diverged
// (lb::kDivergedExitCode), 1 any other failure; 127 the program could not be
// started. A diverged or rejected trial fails at once (rerunning it would
// give the same), a crash, a timeout or another failure is retried.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "hparam/process.hpp"

namespace lb::hparam {

struct AttemptEnd {
  ExitStatus exit;
  // Set when the sweep ended the attempt itself (e.g. "timeout after 60 s").
  std::string stopped_by_sweep;
  // Set when the batch scheduler ended the job before the trial could finish
  // (Slurm's TIMEOUT, NODE_FAIL, PREEMPTED, OUT_OF_MEMORY, CANCELLED, ...).
  std::string scheduler_verdict;
  // The contents of summary.json, when the file exists.
  std::optional<std::string> summary;
  // The last line of stderr.log: quoted in the reason, never parsed.
  std::string stderr_line;
};

enum class Ending {
  finished,    // exit 0 with a finite objective in summary.json
  diverged,    // exit 3, or exit 0 with a non-finite objective
  bad_input,   // exit 2
  cannot_run,  // exit 127: the trainer (or launcher) could not be started
  no_summary,  // exit 0 but summary.json is missing or lacks the objective
  crashed,     // ended by a signal
  stopped,     // the sweep stopped it (timeout)
  scheduler,   // the batch scheduler ended it (time limit, node failure, ...)
  failed,      // any other exit code
};

struct Classified {
  Ending ending = Ending::failed;
  bool retry = false;  // worth another attempt (trial.retries permitting)
  std::string reason;  // empty when finished
  std::optional<double> objective;
  nlohmann::json summary = nlohmann::json::object();
};

Classified classify_ending(const AttemptEnd& end, const std::string& objective);

}  // namespace lb::hparam
