#include "hparam/runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>
#include <thread>

#include "hparam/cost.hpp"
#include "hparam/halving.hpp"
#include "hparam/launcher.hpp"
#include "hparam/metrics_tail.hpp"
#include "hparam/process.hpp"
#include "hparam/slurm.hpp"
#include "hparam/strategy.hpp"
#include "hparam/text.hpp"
#include "hparam/trial_ending.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb::hparam {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};

class Interrupted : public std::exception {};

// An exclusive lock on DIR/.lock for the life of the run: two sweeps writing
// one store would rerun each other's trials.
class DirLock {
 public:
  explicit DirLock(const fs::path& dir) {
    // O_CLOEXEC: a trial that inherited the lock would hold it after a kill -9
    // of the sweep until the trial itself died, and refuse the rerun.
    fd_ = open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0 || flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      throw std::runtime_error(dir.string() + " is in use by another hparam-sweep run");
    }
  }
  ~DirLock() { close(fd_); }

 private:
  int fd_ = -1;
};

// A trial in flight.
struct Running {
  TrialRecord trial;
  std::unique_ptr<TrialJob> job;
  fs::path dir;
  double started = 0;        // submitted (local: started)
  double running_since = 0;  // first seen running, out of any queue: the timeout counts from here
  std::optional<MetricsTail> metrics;
  std::size_t next_rung = 0;  // asynchronous halving: the next rung to judge at
  double epoch = 0;           // latest epoch seen in metrics.jsonl
  std::optional<double> last_value;
  std::string stop;   // why we killed it: "pruned ..." or "timeout ..."
  double target = 0;  // stop (checkpointed) at this epoch; 0 = the trial's budget
};

class Runner {
 public:
  Runner(const SweepConfig& sweep, const RunOptions& options, std::ostream& log)
      : sweep_(sweep), options_(options), log_(log) {}
  int run();

 private:
  void open_store();
  void make_launcher();
  void recover_running();
  void adopt(std::size_t stage, double target, std::map<std::int64_t, Running>& running);
  void retry_failed();
  std::vector<TrialRecord> generate(std::size_t stage);
  void carry_identical_runs(std::size_t stage);
  bool run_stage(std::size_t stage);
  bool run_synchronous_halving(std::size_t stage);
  void prune_rung(std::size_t stage, const HalvingPolicy& policy, double rung);
  // Runs `pending` up to `workers` at a time until each has ended or reached
  // `target` epochs (0 = its budget).
  void run_trials(std::size_t stage, std::deque<TrialRecord> pending, double target);
  bool pauses(const Running& r) const;  // stops at a rung short of its budget
  void start(Running& r);
  std::vector<std::string> command(const TrialRecord& t, const fs::path& dir, double target) const;
  void read_metrics(Running& r);
  void on_eval(Running& r, const json& record);
  bool check(Running& r);  // true when the trial has ended and is recorded
  void record_exit(Running& r, const JobEnd& end);
  void record_pause(Running& r, double objective, double wall);
  std::optional<HalvingPolicy> halving(const Stage& st) const;
  void progress(std::size_t stage, const std::string& line);
  void heartbeat(std::size_t stage, const std::map<std::int64_t, Running>& running);
  void stop_all(std::map<std::int64_t, Running>& running);
  int finish();
  int no_usable_trial(const Stage& st);

  const SweepConfig& sweep_;
  const RunOptions& options_;
  std::ostream& log_;
  std::unique_ptr<TrialStore> store_;
  std::unique_ptr<DirLock> lock_;
  std::unique_ptr<Launcher> launcher_;
  SlurmLauncher* slurm_ = nullptr;  // launcher_, when it is Slurm
  // Trials whose Slurm jobs an earlier run of the sweep left running: taken
  // back into the run loop of their stage instead of being submitted again.
  std::map<std::int64_t, TrialRecord> adopted_;
  double last_heartbeat_ = 0;
};

// Empty, absent, or holding only what a sweep killed while creating its
// store leaves behind.
bool fresh_directory(const fs::path& dir) {
  if (!fs::exists(dir)) return true;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name != ".lock" && name != "base-spec.json" && name != "sweep.db.tmp") return false;
  }
  return true;
}

void Runner::open_store() {
  const fs::path db = options_.out / "sweep.db";
  if (fs::exists(db)) {
    lock_ = std::make_unique<DirLock>(options_.out);
    store_ = std::make_unique<TrialStore>(db);
    if (store_->sweep() != sweep_.source) {
      throw InputError(db.string() +
                       ": holds a different sweep (the sweep file or its base spec changed); "
                       "use a new --out");
    }
    return;
  }
  if (!fresh_directory(options_.out)) {
    throw InputError("--out " + options_.out.string() +
                     ": exists and holds no sweep.db; use a new or empty directory");
  }
  fs::create_directories(options_.out);
  lock_ = std::make_unique<DirLock>(options_.out);
  write_file_atomically(options_.out / "base-spec.json", sweep_.base.dump(2) + "\n");
  TrialStore::create(db, sweep_.source);
  store_ = std::make_unique<TrialStore>(db);
}

void Runner::make_launcher() {
  const std::string kind = options_.launcher.empty() ? sweep_.launcher : options_.launcher;
  if (kind != "slurm") {
    launcher_ = std::make_unique<LocalLauncher>(sweep_.trial.launcher);
    return;
  }
  if (!sweep_.trial.launcher.empty())
    throw InputError(
        "trial.launcher: not used under the Slurm launcher, where trials run under "
        "srun (ranks: slurm.ranks, srun options: slurm.srun)");
  auto slurm = std::make_unique<SlurmLauncher>(sweep_.slurm, sweep_.trial.timeout_s, options_.out);
  slurm_ = slurm.get();
  launcher_ = std::move(slurm);
}

// Trials a killed sweep left running. A local one may still run only if the
// kernel has not delivered its parent-death signal yet: it is ended and
// rerun. A Slurm job goes on without the sweep: it is re-attached to.
void Runner::recover_running() {
  std::vector<std::int64_t> jobs;
  for (const TrialRecord& t : store_->running_trials()) {
    if (t.job_id <= 0) continue;
    if (!slurm_)
      throw InputError(options_.out.string() + ": trial " + std::to_string(t.id) +
                       " runs as Slurm job " + std::to_string(t.job_id) +
                       " of an earlier run; rerun with --launcher slurm to re-attach to it");
    adopted_[t.id] = t;
    jobs.push_back(t.job_id);
  }
  const auto reset = store_->reset_running(/*keep_jobs=*/slurm_ != nullptr);
  for (const TrialRecord& t : reset) {
    std::ifstream cmdline("/proc/" + std::to_string(t.pid) + "/cmdline");
    std::string text((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    const std::string dir = (options_.out / "trials" / std::to_string(t.id)).string();
    if (t.pid > 0 && text.find(dir) != std::string::npos) kill(-pid_t(t.pid), SIGKILL);
  }
  if (slurm_) {
    for (std::int64_t job : slurm_->cancel_untracked(jobs))
      log_ << "cancelled Slurm job " << job << ": submitted by a sweep killed before it "
           << "recorded the job; its trial runs again\n";
  }
  std::size_t kept = 0;
  for (const TrialRecord& t : store_->trials()) kept += finished(t.status) ? 1 : 0;
  if (kept > 0 || !reset.empty() || !adopted_.empty()) {
    log_ << "resuming " << options_.out.string() << ": " << kept << " finished trial(s) kept, "
         << reset.size() << " interrupted trial(s) to rerun";
    if (!adopted_.empty()) log_ << ", " << adopted_.size() << " Slurm job(s) to re-attach to";
    log_ << "\n";
  }
}

// Re-attaches the adopted jobs of `stage` that run towards `target`.
void Runner::adopt(std::size_t stage, double target, std::map<std::int64_t, Running>& running) {
  for (auto it = adopted_.begin(); it != adopted_.end();) {
    const TrialRecord& t = it->second;
    if (t.stage != int(stage) || (target > 0 && t.epochs_done >= target - 1e-9)) {
      ++it;
      continue;
    }
    Running& r = running[t.id];
    r.trial = t;
    r.target = target;
    r.dir = options_.out / "trials" / std::to_string(t.id);
    r.metrics.emplace(r.dir /
                      "metrics.jsonl");  // from the start: storing an eval twice is harmless
    r.epoch = t.epochs_done;
    r.started = t.started_at;
    r.job = slurm_->reattach(t.job_id, r.dir);
    progress(stage, "trial " + std::to_string(t.id) + " re-attached to Slurm job " +
                        std::to_string(t.job_id));
    it = adopted_.erase(it);
  }
}

// --retry-failed: only the latest generated stage's failed trials run again.
// Later stages are chosen from an earlier stage's results once, and stored,
// so a rerun there could not change anything.
void Runner::retry_failed() {
  std::size_t latest = 0;
  while (latest + 1 < sweep_.stages.size() && store_->stage_generated(int(latest + 1))) ++latest;
  const auto ids = store_->retry_failed(int(latest));
  std::size_t earlier = 0;
  for (const TrialRecord& t : store_->trials())
    earlier += t.stage < int(latest) && t.status == Status::failed ? 1 : 0;
  log_ << "--retry-failed: " << ids.size() << " failed trial(s) of stage "
       << sweep_.stages[latest].name << " to run again";
  if (earlier > 0)
    log_ << "; " << earlier << " failed trial(s) of earlier stages stay failed (the stages after "
         << "them were already chosen)";
  log_ << "\n";
}

std::vector<TrialRecord> Runner::generate(std::size_t stage) {
  const Stage& st = sweep_.stages[stage];
  if (!store_->stage_generated(int(stage))) {
    std::vector<TrialRecord> ranked;
    if (stage > 0) ranked = rank_trials(store_->trials(int(stage - 1)), sweep_.goal());
    std::vector<Params> previous;
    for (const TrialRecord& t : ranked) previous.push_back(t.params);
    std::vector<std::size_t> parents;
    const auto configs = stage_configurations(sweep_, stage, previous, &parents);
    store_->add_stage(int(stage), st.name, configs, st.fidelity, stage_epochs(sweep_, st),
                      source_trials(st.init_from, ranked, parents));
  }
  return store_->trials(int(stage));
}

std::vector<std::string> Runner::command(const TrialRecord& t, const fs::path& dir,
                                         double target) const {
  const Stage& st = sweep_.stages[std::size_t(t.stage)];
  std::vector<std::string> argv{options_.trainer.string(),
                                (options_.out / "base-spec.json").string(), "--out", dir.string(),
                                "-q"};  // the launcher adds its prefix (local) or srun (Slurm)
  if (t.epochs_done > 0) argv.push_back("--resume");  // from the checkpoint of a rung
  auto set = [&](const std::string& key, const json& value) {
    argv.push_back("--set");
    argv.push_back(set_argument(key, value));
  };
  if (t.source_trial > 0)  // a stage's init_from: its checkpoint, whatever stage wrote it
    set("train.init_from", (options_.out / "trials" / std::to_string(t.source_trial)).string());
  const auto policy = halving(st);
  if (policy && !st.fidelity.contains("train.eval_every_epochs"))
    set("train.eval_every_epochs", policy->eval_every_epochs());
  if (!st.final && !st.fidelity.contains("train.checkpoint_every_epochs"))
    set("train.checkpoint_every_epochs", 0);
  for (const auto& [key, value] : t.fidelity.items()) set(key, value);
  for (const auto& [key, value] : t.params.items()) set(key, value);
  if (target > 0 && target < t.budget_epochs - 1e-9) {
    argv.insert(argv.end(), {"--max-epochs", format_number(target)});
  }
  return argv;
}

std::optional<HalvingPolicy> Runner::halving(const Stage& st) const {
  if (!st.halving) return std::nullopt;
  return HalvingPolicy(*st.halving, sweep_.goal(), sweep_.objective);
}

void Runner::start(Running& r) {
  r.dir = options_.out / "trials" / std::to_string(r.trial.id);
  r.metrics.emplace(r.dir / "metrics.jsonl");
  if (r.trial.epochs_done > 0) {
    // Resuming from a rung: its evaluations up to there are already stored.
    r.metrics->restart_at(r.trial.epochs_done);
    r.epoch = r.trial.epochs_done;
  } else {
    fs::remove_all(r.dir);  // an earlier attempt's files would mix with this one's
    fs::create_directories(r.dir);
  }
  const Attempt attempt{r.trial.id, command(r.trial, r.dir, r.target), r.dir};
  r.job = launcher_->start(attempt);
  r.started = unix_now();
  store_->mark_running(r.trial.id, launcher_->describe(attempt), r.job->pid(), r.job->job_id(),
                       r.started);
  const std::string job =
      r.job->job_id() > 0 ? " as Slurm job " + std::to_string(r.job->job_id()) : "";
  progress(
      std::size_t(r.trial.stage),
      "trial " + std::to_string(r.trial.id) + (job.empty() ? " started" : " submitted" + job) +
          (r.trial.attempts > 0 ? " (attempt " + std::to_string(r.trial.attempts + 1) + ")" : "") +
          (r.trial.source_trial > 0
               ? " from trial " + std::to_string(r.trial.source_trial) + "'s weights"
               : "") +
          ": " + short_params(r.trial.params));
}

void Runner::read_metrics(Running& r) {
  for (const json& record : r.metrics->poll()) {
    if (!r.stop.empty()) return;  // pruned: what it wrote after that does not count
    if (record.contains("epoch") && record["epoch"].is_number())
      r.epoch = std::max(r.epoch, record["epoch"].get<double>());
    if (record.value("type", "") == "eval") on_eval(r, record);
  }
}

void Runner::on_eval(Running& r, const json& record) {
  const double epoch = record.value("epoch", 0.0);
  const json& v = record.contains(sweep_.objective) ? record[sweep_.objective] : json();
  const double value = v.is_number() ? v.get<double>() : std::nan("");
  r.last_value = value;
  store_->add_eval(r.trial.id, epoch, value, record);
  const auto policy = halving(sweep_.stages[std::size_t(r.trial.stage)]);
  if (!policy || policy->synchronous()) return;
  const auto rungs = policy->rungs(r.trial.budget_epochs);
  while (r.next_rung < rungs.size() && epoch >= rungs[r.next_rung] - 1e-9) {
    const double rung = rungs[r.next_rung++];
    const auto stop = policy->async_stop(epoch, value, store_->rung_values(r.trial.stage, rung));
    if (!stop) continue;
    r.stop = *stop;
    r.epoch = epoch;
    r.job->stop();
    return;
  }
}

void Runner::record_exit(Running& r, const JobEnd& job_end) {
  const double wall = unix_now() - r.started;
  const std::int64_t id = r.trial.id;
  const std::string name = "trial " + std::to_string(id);
  const std::size_t stage = std::size_t(r.trial.stage);
  if (r.stop.starts_with("pruned")) {
    store_->finish(id, Status::pruned, r.last_value, r.epoch, r.stop, wall, unix_now(),
                   json::object());
    progress(stage, name + " " + r.stop);
    return;
  }
  AttemptEnd end{job_end.exit, r.stop, job_end.scheduler_verdict, std::nullopt,
                 last_line(r.dir / "stderr.log")};
  if (fs::exists(r.dir / "summary.json")) end.summary = read_file(r.dir / "summary.json");
  const Classified c = classify_ending(end, sweep_.objective);
  if (c.ending == Ending::finished && pauses(r)) return record_pause(r, *c.objective, wall);
  if (c.ending == Ending::finished) {
    store_->finish(id, Status::done, c.objective, r.trial.budget_epochs, "", wall, unix_now(),
                   c.summary);
    progress(stage, name + " done: " + sweep_.objective + " " + fixed(*c.objective, 4) + " after " +
                        format_number(r.trial.budget_epochs) + " epochs, " + fixed(wall, 1) + " s");
    return;
  }
  if (c.retry && r.trial.attempts + 1 <= sweep_.trial.retries) {
    store_->retry(id, c.reason, wall);
    progress(stage, name + " failed (" + c.reason + "), will retry");
    return;
  }
  store_->finish(id, Status::failed, std::nullopt, r.epoch, c.reason, wall, unix_now(), c.summary);
  progress(stage, name + " failed: " + c.reason);
}

// Synchronous halving: the trial stopped at its rung with a checkpoint. The
// summary holds the evaluation at the rung; it is stored as that rung's
// eval too, in case the trial was stopped before its metrics line was read.
void Runner::record_pause(Running& r, double objective, double wall) {
  const std::int64_t id = r.trial.id;
  store_->add_eval(id, r.target, objective,
                   json{{"epoch", r.target}, {sweep_.objective, objective}});
  store_->pause(id, objective, r.target, wall);
  progress(std::size_t(r.trial.stage), "trial " + std::to_string(id) + " reached epoch " +
                                           format_number(r.target) + ": " + sweep_.objective + " " +
                                           fixed(objective, 4) + ", " + fixed(wall, 1) + " s");
}

bool Runner::check(Running& r) {
  read_metrics(r);
  std::optional<JobEnd> end;
  if (!r.stop.empty()) end = JobEnd{{0, SIGKILL}, ""};  // pruned: already stopped
  if (!end) end = r.job->poll();
  if (!end && r.job->running()) {
    if (r.running_since == 0) r.running_since = unix_now();
    if (unix_now() - r.running_since > sweep_.trial.timeout_s) {
      r.stop = "timeout after " + format_number(sweep_.trial.timeout_s) + " s";
      end = r.job->stop();
    }
  }
  if (!end) return false;
  if (r.stop.empty()) read_metrics(r);  // the lines written just before it exited
  record_exit(r, *end);
  return true;
}

void Runner::progress(std::size_t stage, const std::string& line) {
  const auto trials = store_->trials(int(stage));
  std::size_t ended = 0;
  std::optional<double> best;
  for (const TrialRecord& t : trials) {
    ended += finished(t.status) ? 1 : 0;
    if (t.status == Status::done && t.objective &&
        (!best || better(*t.objective, *best, sweep_.goal())))
      best = t.objective;
  }
  log_ << "[" << sweep_.stages[stage].name << " " << ended << "/" << trials.size() << "] " << line;
  if (best) log_ << "  (best " << fixed(*best, 4) << ")";
  log_ << "\n" << std::flush;
  last_heartbeat_ = unix_now();
}

void Runner::heartbeat(std::size_t stage, const std::map<std::int64_t, Running>& running) {
  if (unix_now() - last_heartbeat_ < options_.heartbeat_s) return;
  std::string line = std::to_string(running.size()) + " running:";
  for (const auto& [id, r] : running) {
    if (r.running_since == 0) {
      line +=
          " trial " + std::to_string(id) + " queued (" + fixed(unix_now() - r.started, 0) + " s)";
      continue;
    }
    line += " trial " + std::to_string(id) + " at epoch " + fixed(r.epoch, 2) + "/" +
            format_number(r.trial.budget_epochs) + " (" + fixed(unix_now() - r.running_since, 0) +
            " s)";
  }
  progress(stage, line);
}

// SIGINT/SIGTERM: every attempt in flight ends (Slurm jobs are cancelled,
// re-attached ones not yet taken back included) and goes back to pending.
void Runner::stop_all(std::map<std::int64_t, Running>& running) {
  std::vector<TrialJob*> jobs;
  for (auto& [id, r] : running) {
    if (r.job && r.stop.empty()) jobs.push_back(r.job.get());
  }
  std::vector<std::unique_ptr<TrialJob>> waiting;
  for (const auto& [id, t] : adopted_) {
    waiting.push_back(slurm_->reattach(t.job_id, options_.out / "trials" / std::to_string(id)));
    jobs.push_back(waiting.back().get());
  }
  launcher_->stop_all(jobs);
  running.clear();
  adopted_.clear();
  store_->reset_running();
}

bool Runner::pauses(const Running& r) const {
  return r.target > 0 && r.target < r.trial.budget_epochs - 1e-9;
}

void Runner::run_trials(std::size_t stage, std::deque<TrialRecord> pending, double target) {
  std::map<std::int64_t, Running> running;
  while (!pending.empty() || !running.empty()) {
    if (g_stop) {
      stop_all(running);
      throw Interrupted();
    }
    adopt(stage, target, running);
    while (int(running.size()) < options_.workers && !pending.empty()) {
      Running& r = running[pending.front().id];
      r.trial = pending.front();
      r.target = target;
      pending.pop_front();
      start(r);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(options_.poll_s));
    for (auto it = running.begin(); it != running.end();) {
      if (!check(it->second)) {
        ++it;
        continue;
      }
      const TrialRecord after = store_->trial(it->first);
      const bool at_target = target > 0 && after.epochs_done >= target - 1e-9;
      if (after.status == Status::pending && !at_target) pending.push_back(after);  // a retry
      it = running.erase(it);
    }
    heartbeat(stage, running);
  }
}

// A final-stage configuration that an earlier stage already trained to the
// end with the same resolved spec (that stage's halving only paused it at
// rungs and evaluated more often, which leaves the weights bit-identical)
// takes the earlier result; its summary.json must still be there.
void Runner::carry_identical_runs(std::size_t stage) {
  const Stage& st = sweep_.stages[stage];
  if (!st.final || st.rerun_identical) return;
  const json final_spec = apply_overrides(sweep_.base, st.fidelity);
  const auto earlier = store_->trials();
  for (const TrialRecord& t : store_->trials(int(stage))) {
    if (t.status != Status::pending || t.epochs_done > 0) continue;
    for (const TrialRecord& e : earlier) {
      // A warm-started run (either side) starts from other weights: not the same run.
      if (e.stage >= int(stage) || e.status != Status::done || !e.objective || e.carried() ||
          t.source_trial != 0 || e.source_trial != 0 || e.params != t.params ||
          std::abs(e.budget_epochs - t.budget_epochs) > 1e-9 ||
          apply_overrides(sweep_.base, e.fidelity) != final_spec)
        continue;
      const fs::path summary_file = options_.out / "trials" / std::to_string(e.id) / "summary.json";
      const json summary =
          fs::exists(summary_file) ? json::parse(read_file(summary_file), nullptr, false) : json();
      if (!summary.is_object()) continue;
      const std::string reason = kCarriedPrefix + std::to_string(e.id) + " (stage " + e.stage_name +
                                 "), which ran this configuration to the end; "
                                 "not trained again";
      store_->finish(t.id, Status::done, e.objective, t.budget_epochs, reason, 0, unix_now(),
                     summary);
      progress(stage, "trial " + std::to_string(t.id) + " " + reason + ": " + sweep_.objective +
                          " " + fixed(*e.objective, 4));
      break;
    }
  }
}

bool Runner::run_stage(std::size_t stage) {
  const Stage& st = sweep_.stages[stage];
  carry_identical_runs(stage);
  if (st.halving && st.halving->synchronous) return run_synchronous_halving(stage);
  std::deque<TrialRecord> pending;
  for (const TrialRecord& t : store_->trials(int(stage))) {
    if (t.status == Status::pending) pending.push_back(t);
  }
  run_trials(stage, std::move(pending), 0);
  for (const TrialRecord& t : store_->trials(int(stage))) {
    if (t.status == Status::done || t.status == Status::pruned) return true;
  }
  return false;
}

// Rung by rung: every live trial runs to the rung and waits there
// (checkpointed); then the best max(1, floor(n / eta)) of the n that reached
// it go on from their checkpoints and the others are pruned. Each decision
// depends only on the values at the rung, so a resumed sweep repeats it.
bool Runner::run_synchronous_halving(std::size_t stage) {
  const Stage& st = sweep_.stages[stage];
  const HalvingPolicy policy = *halving(st);
  const std::vector<double> targets = policy.segment_targets(stage_epochs(sweep_, st));
  for (std::size_t k = 0; k < targets.size(); ++k) {
    std::deque<TrialRecord> pending;
    for (const TrialRecord& t : store_->trials(int(stage))) {
      if (t.status == Status::pending && t.epochs_done < targets[k] - 1e-9) pending.push_back(t);
    }
    run_trials(stage, std::move(pending), targets[k]);
    if (k + 1 < targets.size()) prune_rung(stage, policy, targets[k]);
  }
  for (const TrialRecord& t : store_->trials(int(stage))) {
    if (t.status == Status::done || t.status == Status::pruned) return true;
  }
  return false;
}

void Runner::prune_rung(std::size_t stage, const HalvingPolicy& policy, double rung) {
  for (const auto& cut :
       policy.cuts_at_rung(store_->rung_values_by_trial(int(stage), rung), rung)) {
    const TrialRecord t = store_->trial(cut.trial_id);
    if (t.status != Status::pending || std::abs(t.epochs_done - rung) > 1e-9) continue;
    store_->finish(t.id, Status::pruned, cut.value, rung, cut.reason, 0, unix_now(),
                   json::object());
    progress(stage, "trial " + std::to_string(t.id) + " " + cut.reason);
  }
}

int Runner::finish() {
  const std::size_t last = sweep_.stages.size() - 1;
  const auto ranked = rank_trials(store_->trials(int(last)), sweep_.goal());
  if (ranked.empty()) {
    log_ << "stage " << sweep_.stages[last].name << ": no trial with a finite " << sweep_.objective
         << "; no best configuration\n";
    return 1;
  }
  const TrialRecord& best = ranked.front();
  const json spec = full_run_spec(sweep_, best.params);
  write_file_atomically(options_.out / "best-spec.json", spec.dump(2) + "\n");
  log_ << "best: trial " << best.id << " (stage " << best.stage_name << "), " << sweep_.objective
       << " " << (best.objective ? fixed(*best.objective, 4) : "n/a") << ": "
       << short_params(best.params) << "\n";
  for (const Estimate& e : store_->estimates()) {
    if (e.trial_id == best.id)
      log_ << "estimated full run on " << e.gpus << " GPUs: " << format_duration(e.time_to_train_s)
           << "\n";
  }
  log_ << "ready spec for the full run: " << (options_.out / "best-spec.json").string() << "\n";
  return 0;
}

int Runner::no_usable_trial(const Stage& st) {
  log_ << "stage " << st.name << ": every trial failed; see " << (options_.out / "trials").string()
       << "/*/stderr.log and `hparam-sweep status " << options_.out.string() << "`\n";
  return 1;
}

int Runner::run() {
  open_store();
  make_launcher();
  recover_running();
  if (options_.retry_failed) retry_failed();
  log_ << "sweep " << sweep_.name << ": " << sweep_.stages.size() << " stage(s), "
       << sweep_.space.size() << " parameter(s), seed " << sweep_.seed << ", " << options_.workers
       << (slurm_ ? " Slurm job(s) at a time" : " worker(s)") << ", objective " << sweep_.objective
       << "\n";
  if (is_test_objective(sweep_.objective))
    log_ << "warning: the objective " << sweep_.objective << " chooses configurations by the "
         << "test set (allow_test_objective: true): their test accuracy is no longer an "
         << "unbiased estimate\n";
  for (std::size_t s = 0; s < sweep_.stages.size(); ++s) {
    const Stage& st = sweep_.stages[s];
    const auto trials = generate(s);
    if (std::all_of(trials.begin(), trials.end(),
                    [](const TrialRecord& t) { return finished(t.status); }) &&
        !st.final) {
      if (rank_trials(trials, sweep_.goal()).empty()) return no_usable_trial(st);
      continue;  // finished in an earlier run
    }
    log_ << "stage " << st.name << ": " << trials.size() << " trial(s) of "
         << format_number(stage_epochs(sweep_, st)) << " epoch(s)"
         << (st.halving ? ", successive halving eta " + format_number(st.halving->eta) : "")
         << "\n";
    if (st.final) {
      estimate_costs(sweep_, *store_, trials, options_, log_);
      if (options_.plan_only) {
        log_ << "--plan-only: stopping before the final stage (" << trials.size()
             << " full run(s)); rerun without --plan-only to launch them\n";
        return 0;
      }
    }
    if (!run_stage(s)) return no_usable_trial(st);
  }
  return finish();
}

void on_signal(int) { g_stop = true; }

}  // namespace

void request_stop() { g_stop = true; }

std::vector<std::int64_t> source_trials(InitFrom from, const std::vector<TrialRecord>& ranked,
                                        const std::vector<std::size_t>& parents) {
  std::vector<std::int64_t> sources(parents.size(), 0);
  if (ranked.empty()) return sources;
  for (std::size_t i = 0; i < parents.size(); ++i) {
    if (from == InitFrom::best_of_previous_stage) sources[i] = ranked.front().id;
    if (from == InitFrom::parent) sources[i] = ranked.at(parents[i]).id;
  }
  return sources;
}

std::vector<TrialRecord> rank_trials(std::vector<TrialRecord> trials, Goal goal) {
  std::erase_if(trials, [](const TrialRecord& t) {
    return !(t.status == Status::done || t.status == Status::pruned) || !t.objective ||
           std::isnan(*t.objective);
  });
  std::stable_sort(trials.begin(), trials.end(),
                   [goal](const TrialRecord& a, const TrialRecord& b) {
                     if ((a.status == Status::done) != (b.status == Status::done))
                       return a.status == Status::done;
                     if (a.epochs_done != b.epochs_done) return a.epochs_done > b.epochs_done;
                     return better(*a.objective, *b.objective, goal);
                   });
  return trials;
}

json full_run_spec(const SweepConfig& sweep, const json& params) {
  json spec = sweep.base;
  if (!sweep.stages.empty() && sweep.stages.back().final)
    spec = apply_overrides(spec, sweep.stages.back().fidelity);
  return apply_overrides(spec, params);
}

std::string short_params(const json& params) {
  std::string out;
  for (const auto& [key, value] : params.items()) {
    const auto dot = key.find('.');
    out += (out.empty() ? "" : " ") + (dot == std::string::npos ? key : key.substr(dot + 1)) + "=" +
           value.dump();
  }
  return out;
}

int run_sweep(const SweepConfig& sweep, const RunOptions& options, std::ostream& log) {
  g_stop = false;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  Runner runner(sweep, options, log);
  try {
    return runner.run();
  } catch (const Interrupted&) {
    log << "interrupted: running trials stopped and marked pending; rerun the same command to "
           "resume\n";
    return 130;
  }
}

}  // namespace lb::hparam
