#pragma once
// The trial store: DIR/sweep.db, SQLite in WAL mode. Every state change is
// one transaction, so killing the sweep at any moment keeps every finished
// trial; a trial left "running" by a killed sweep goes back to "pending".
//
// Tables: meta(key, value); trials(id, stage, stage_name, idx, params JSON,
// fidelity JSON, budget_epochs, status, objective, epochs_done, reason,
// attempts, command, pid, started_at, finished_at, wall_s, summary JSON,
// job_id: the Slurm job of the attempt in flight, 0 for a local process);
// evals(trial_id, epoch, value, record JSON); estimates(trial_id, gpus,
// time_to_train_s, images_per_s, efficiency).
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace lb::hparam {

// pending -> running -> done | pruned | failed (or back to pending to retry)
enum class Status { pending, running, done, pruned, failed };
std::string to_string(Status s);
Status status_from(const std::string& text);
bool finished(Status s);  // done, pruned or failed: never run again

// A final-stage trial whose run an earlier stage already made to the end
// (same parameters, same resolved spec, same epochs) takes that trial's
// result instead of training again: training is deterministic, so the rerun
// would repeat it bit for bit. Its reason starts with this and names the
// source trial; it counts no trial-epochs.
inline constexpr const char* kCarriedPrefix = "carried from trial ";

struct TrialRecord {
  std::int64_t id = 0;
  int stage = 0;
  std::string stage_name;
  int index = 0;  // position within the stage
  nlohmann::json params = nlohmann::json::object();
  nlohmann::json fidelity = nlohmann::json::object();
  double budget_epochs = 0;
  Status status = Status::pending;
  std::optional<double> objective;
  double epochs_done = 0;
  std::string reason;
  int attempts = 0;
  std::string command;
  std::int64_t pid = 0;
  std::int64_t job_id = 0;  // Slurm job of the attempt in flight (--launcher slurm), else 0
  std::optional<double> test_accuracy;  // from summary.json: reported, never chosen by
  double started_at = 0, finished_at = 0, wall_s = 0;  // unix seconds; wall_s summed over attempts

  bool carried() const { return reason.starts_with(kCarriedPrefix); }
  // The epochs this trial trained itself: what it cost.
  double epochs_run() const { return carried() ? 0 : epochs_done; }
};

struct Estimate {
  std::int64_t trial_id = 0;
  int gpus = 0;
  double time_to_train_s = 0, images_per_s = 0, efficiency = 0;
};

struct RungValue {
  std::int64_t trial_id = 0;
  double value = 0;  // NaN when the evaluation had none
};

struct EvalRecord {
  std::int64_t trial_id = 0;
  double epoch = 0, value = 0;
};

class TrialStore {
 public:
  // Creates DIR/sweep.db (through a temporary file, so a half-made store
  // never exists) holding `sweep` (the sweep file, base inlined) in meta.
  static void create(const std::filesystem::path& file, const nlohmann::json& sweep);
  explicit TrialStore(const std::filesystem::path& file, bool read_only = false);
  ~TrialStore();
  TrialStore(const TrialStore&) = delete;
  TrialStore& operator=(const TrialStore&) = delete;

  nlohmann::json sweep() const;

  bool stage_generated(int stage) const;
  void add_stage(int stage, const std::string& name, const std::vector<nlohmann::json>& params,
                 const nlohmann::json& fidelity, double budget_epochs);
  std::vector<TrialRecord> trials(std::optional<int> stage = std::nullopt) const;
  TrialRecord trial(std::int64_t id) const;

  std::vector<TrialRecord> running_trials() const;
  // Trials left running (by a killed or interrupted sweep) go back to pending
  // and lose their evals after epochs_done; the interrupted attempt does not
  // count against trial.retries. With keep_jobs, trials whose Slurm job may
  // still run stay as they are, to be re-attached. Returns those reset.
  std::vector<TrialRecord> reset_running(bool keep_jobs = false);
  // --retry-failed: the failed trials of `stage` go back to pending, to run
  // from scratch with their attempts counted afresh (their time still
  // counts in wall_s). Returns their ids.
  std::vector<std::int64_t> retry_failed(int stage);
  void mark_running(std::int64_t id, const std::string& command, std::int64_t pid,
                    std::int64_t job_id, double now);
  // Back to pending for another attempt (the attempt's time still counts).
  // The attempt resumes from epochs_done (0: from scratch, else a rung's
  // checkpoint); starting it drops the evaluations recorded after that.
  void retry(std::int64_t id, const std::string& reason, double wall_s);
  // Synchronous halving: the trial stopped at a rung with a checkpoint and
  // waits, pending, for the rest of its stage: objective = its value there.
  // The next segment's attempts are counted afresh (trial.retries per segment).
  void pause(std::int64_t id, double value, double epochs_done, double wall_s);
  void finish(std::int64_t id, Status status, std::optional<double> objective, double epochs_done,
              const std::string& reason, double wall_s, double now, const nlohmann::json& summary);

  void add_eval(std::int64_t id, double epoch, double value, const nlohmann::json& record);
  std::vector<EvalRecord> evals() const;
  // Values every trial of `stage` recorded at its first evaluation at or past `rung`.
  std::vector<double> rung_values(int stage, double rung) const;
  // The same per trial, by trial id (a trial that failed after the rung
  // counts: it reached it, so decisions stay the same when a sweep resumes).
  std::vector<RungValue> rung_values_by_trial(int stage, double rung) const;

  void set_estimate(const Estimate& e);
  std::vector<Estimate> estimates() const;

 private:
  void exec(const std::string& sql) const;
  void add_job_column();
  sqlite3* db_ = nullptr;
  std::string columns_;  // of a TrialRecord, for SELECT
};

}  // namespace lb::hparam
