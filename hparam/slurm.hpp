#pragma once
// `--launcher slurm`: each trial attempt is a Slurm batch job. The sweep
// writes DIR/trials/ID/job.sh (the sweep file's "slurm" settings as
// #SBATCH lines, the trainer under `srun`), submits it with `sbatch`, follows
// it with `squeue` and, once it has left the queue, reads how it ended from
// `sacct` (where accounting is on), else `scontrol show job`, else the exit
// code the script itself wrote. Jobs are named after the sweep directory
// and trial, so a restarted sweep finds and re-attaches to its own.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hparam/launcher.hpp"
#include "hparam/sweep_file.hpp"

namespace lb::hparam {

// The batch script of one attempt. `time_limit_min` is the job's --time.
std::string batch_script(const SlurmSettings& slurm, int time_limit_min,
                         const std::string& job_name, const Attempt& attempt);
// --time in minutes: slurm.time_limit_min, else trial.timeout_s rounded up plus one minute
// (the sweep's own timeout then ends the attempt first, and says so).
int slurm_time_limit_min(const SlurmSettings& slurm, double timeout_s);

// A finished job's ending from Slurm's state ("COMPLETED", "FAILED",
// "CANCELLED by 0", "TIMEOUT", ...) and exit code ("3:0" = code:signal).
// COMPLETED and FAILED are the script's own exit; every other state is the
// scheduler's verdict (a failed attempt, retried under trial.retries).
JobEnd slurm_job_end(std::int64_t job_id, const std::string& state, const std::string& exit_code);

// "ID STATE" lines of `squeue -h -o "%i %T"` -> {ID: STATE}.
std::map<std::int64_t, std::string> parse_squeue(const std::string& text);
// `scontrol show job -o ID` -> its JobState and ExitCode, when present.
std::optional<std::pair<std::string, std::string>> parse_scontrol_job(const std::string& text);
// `sacct -n -P -X -o State,ExitCode -j ID` -> "STATE|EXIT", when present.
std::optional<std::pair<std::string, std::string>> parse_sacct(const std::string& text);

class SlurmLauncher : public Launcher {
 public:
  // `scratch` holds the Slurm commands' output files; `sweep_dir` names the jobs.
  SlurmLauncher(const SlurmSettings& slurm, double timeout_s,
                const std::filesystem::path& sweep_dir);

  std::unique_ptr<TrialJob> start(const Attempt& attempt) override;
  std::string describe(const Attempt& attempt) const override;
  void stop_all(std::vector<TrialJob*> jobs) override;

  // The running job of an earlier run of this sweep.
  std::unique_ptr<TrialJob> reattach(std::int64_t job_id, const std::filesystem::path& dir);
  // Jobs in the queue named for this sweep whose ids are not in `known`:
  // submitted by a sweep killed before it could record them. Cancelled.
  std::vector<std::int64_t> cancel_untracked(const std::vector<std::int64_t>& known);

  // For the jobs: the job's queue state ("" when it has left the queue,
  // nullopt when squeue failed), from one squeue call every poll_s for all
  // jobs, and never older than `not_before` (a job's submission).
  std::optional<std::string> queue_state(std::int64_t job_id, double not_before);
  JobEnd ending(std::int64_t job_id, const std::filesystem::path& dir);
  void cancel(const std::vector<std::int64_t>& job_ids);
  // Waits (bounded) until none of `job_ids` is in the queue any more.
  void wait_gone(const std::vector<std::int64_t>& job_ids);

 private:
  struct Output {
    ExitStatus status;
    std::string out, err;
    bool ok() const { return status.code == 0 && status.signal == 0; }
  };
  Output call(const std::vector<std::string>& argv);
  bool refresh_queue();
  std::string job_name(std::int64_t trial_id) const;

  SlurmSettings slurm_;
  int time_limit_min_;
  std::filesystem::path scratch_;
  std::string name_prefix_;  // "hp-HASH-": this sweep directory's jobs
  std::map<std::int64_t, std::string> queue_;
  double queue_time_ = -1;
  bool queue_ok_ = false;
};

}  // namespace lb::hparam
