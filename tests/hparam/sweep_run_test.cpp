// hparam-sweep end to end with the fake trial program: a whole sweep,
// parallel workers, failing trials, kill -9 and resume, the cost estimate.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <thread>

#include "hparam/store.hpp"
#include "hparam_fixture.hpp"
#include "runtime/core/spec.hpp"

namespace lb::hparam::test {
namespace {

std::map<std::string, int> count_events(const fs::path& log, const std::string& what) {
  std::map<std::string, int> counts;
  std::istringstream in(read_text(log));
  std::string event, dir;
  while (in >> event >> dir) {
    if (event == what) ++counts[dir];
  }
  return counts;
}

TEST_F(HparamTest, WholeSweepFindsTheOptimumAndWritesABestSpec) {
  const fs::path out = dir_ / "out";
  const RunResult r = shell(
      sweep_command(write_sweep(small_sweep()), out, "--workers 2", "FAKE_TRIAL_EPOCH_S=0.01"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[coarse 1/9]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cost estimate: skipped, the sweep file sets no target.gpus"),
            std::string::npos)
      << r.output;
  TrialStore store(out / "sweep.db", true);
  const auto trials = store.trials();
  int pruned = 0, finals = 0;
  for (const TrialRecord& t : trials) {
    EXPECT_TRUE(finished(t.status)) << t.id;
    pruned += t.status == Status::pruned;
    if (t.stage_name == "final") {
      ++finals;
      EXPECT_EQ(t.status, Status::done);
      EXPECT_EQ(t.budget_epochs, 4);
    }
    if (t.status == Status::pruned) {
      EXPECT_LT(t.epochs_done, t.budget_epochs);
    }
  }
  EXPECT_EQ(finals, 2);
  EXPECT_GT(pruned, 0);
  // The fake's optimum is lr.base 0.3, eta 0.01; the sweep should land near it.
  const json best = json::parse(read_text(out / "best-spec.json"));
  const Spec spec = parse_spec(best);
  EXPECT_NEAR(std::log10(spec.optimizer.lr.base / 0.3), 0, 0.35);
  EXPECT_NEAR(std::log10(spec.optimizer.lars.eta / 0.01), 0, 0.35);
  EXPECT_EQ(spec.train.epochs, 4);  // the full run, not a stage's fidelity
  EXPECT_EQ(spec.data.train_subset, 0);

  const RunResult status = shell(kSweep.string() + " status " + out.string());
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.output.find("coarse"), std::string::npos);
  const RunResult csv = shell(kSweep.string() + " export " + out.string() + " --csv");
  EXPECT_EQ(csv.exit_code, 0);
  EXPECT_EQ(std::count(csv.output.begin(), csv.output.end(), '\n'), long(trials.size()) + 1);
  EXPECT_NE(csv.output.find("optimizer.lr.base"), std::string::npos);
  const RunResult report = shell(kSweep.string() + " report " + out.string());
  EXPECT_EQ(report.exit_code, 0) << report.output << read_text(out / "report" / "plot.log");
  for (const char* file : {"report.md", "trials.csv", "evals.csv", "objective_vs_params.png",
                           "best_so_far.png", "learning_curves.png"}) {
    EXPECT_TRUE(fs::exists(out / "report" / file)) << file;
  }
  EXPECT_NE(read_text(out / "report" / "report.md").find("## Best configurations"),
            std::string::npos);
}

TEST_F(HparamTest, RerunOfAFinishedSweepRunsNothing) {
  const fs::path out = dir_ / "out", log = dir_ / "trials.log";
  const std::string env = "FAKE_TRIAL_EPOCH_S=0.01 FAKE_TRIAL_LOG=" + log.string();
  const fs::path sweep = write_sweep(small_sweep());
  ASSERT_EQ(shell(sweep_command(sweep, out, "", env)).exit_code, 0);
  const auto starts = count_events(log, "start");
  const RunResult again = shell(sweep_command(sweep, out, "", env));
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(count_events(log, "start"), starts);
}

TEST_F(HparamTest, ParallelWorkersRunTrialsAtTheSameTime) {
  json doc = small_sweep();
  doc["stages"] = json::parse(R"([{"name": "only", "sampler": "grid", "points": 2,
                                    "fidelity": {"train.epochs": 2}}])");
  const fs::path out = dir_ / "out", log = dir_ / "trials.log";
  const RunResult r =
      shell(sweep_command(write_sweep(doc), out, "--workers 3",
                          "FAKE_TRIAL_EPOCH_S=0.25 FAKE_TRIAL_LOG=" + log.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Three workers: three trials start before the first one finishes.
  std::istringstream in(read_text(log));
  std::string event, dir;
  int started_before_first_finish = 0;
  while (in >> event >> dir && event == "start") ++started_before_first_finish;
  EXPECT_EQ(started_before_first_finish, 3);
  EXPECT_EQ(count_events(log, "finish").size(), 4u);
}

TEST_F(HparamTest, FailingTrialsAreRecordedAndDoNotStopTheSweep) {
  json doc = small_sweep();
  doc["space"] = json::parse(R"({"optimizer.lr.base": {"choices": [0.3, 2, 3, 4, 5]}})");
  doc["stages"] =
      json::parse(R"([{"name": "only", "sampler": "grid", "fidelity": {"train.epochs": 2}}])");
  doc["trial"] = {{"timeout_s", 1.5}, {"retries", 1}};
  const std::string faults =
      "FAKE_TRIAL_FAULT=nan:optimizer.lr.base=2,crash:optimizer.lr.base=3,"
      "hang:optimizer.lr.base=4,flaky:optimizer.lr.base=5";
  const fs::path out = dir_ / "out";
  const RunResult r = shell(
      sweep_command(write_sweep(doc), out, "--workers 2", "FAKE_TRIAL_EPOCH_S=0.01 " + faults));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  TrialStore store(out / "sweep.db", true);
  std::map<double, TrialRecord> by_lr;
  for (const TrialRecord& t : store.trials())
    by_lr[t.params["optimizer.lr.base"].get<double>()] = t;
  EXPECT_EQ(by_lr[0.3].status, Status::done);
  EXPECT_EQ(by_lr[2].status, Status::failed);
  EXPECT_EQ(by_lr[2].reason.rfind("diverged: ", 0), 0u) << by_lr[2].reason;
  EXPECT_EQ(by_lr[2].attempts, 1);  // divergence is deterministic: no retry
  EXPECT_EQ(by_lr[3].status, Status::failed);
  EXPECT_EQ(by_lr[3].reason, "crashed: signal 6 (Aborted)");
  EXPECT_EQ(by_lr[3].attempts, 2);
  EXPECT_EQ(by_lr[4].status, Status::failed);
  EXPECT_EQ(by_lr[4].reason, "timeout after 1.5 s");
  EXPECT_EQ(by_lr[4].attempts, 2);
  EXPECT_EQ(by_lr[5].status, Status::done);  // crashed once, then succeeded
  EXPECT_EQ(by_lr[5].attempts, 2);
  EXPECT_EQ(parse_spec(json::parse(read_text(out / "best-spec.json"))).optimizer.lr.base, 0.3);
}

TEST_F(HparamTest, LauncherPrefixesEveryTrialCommand) {
  json doc = small_sweep();
  doc["stages"] = json::parse(R"([{"name": "only", "sampler": "grid", "points": 1}])");
  doc["trial"]["launcher"] = {"/usr/bin/env", "FAKE_TRIAL_EPOCH_S=0"};
  const fs::path out = dir_ / "out";
  const RunResult r = shell(sweep_command(write_sweep(doc), out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  TrialStore store(out / "sweep.db", true);
  const TrialRecord t = store.trial(1);
  EXPECT_EQ(t.status, Status::done);
  EXPECT_EQ(t.command.rfind("/usr/bin/env FAKE_TRIAL_EPOCH_S=0 " + kFake.string() + " ", 0), 0u)
      << t.command;
}

TEST_F(HparamTest, AStageWithoutAnyUsableTrialEndsTheSweepWithExit1) {
  json doc = small_sweep();
  doc["stages"] = json::parse(R"([{"name": "only", "sampler": "grid", "points": 1}])");
  const fs::path sweep = write_sweep(doc);
  const std::string fault = "FAKE_TRIAL_FAULT='nan:train.epochs>0'";
  const RunResult r = shell(sweep_command(sweep, dir_ / "out", "", fault));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("stage only: every trial failed"), std::string::npos) << r.output;
  // Resumed: the stage is finished and still has nothing to go on with.
  const RunResult again = shell(sweep_command(sweep, dir_ / "out", "", fault));
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("stage only: every trial failed"), std::string::npos) << again.output;
}

TEST_F(HparamTest, ADifferentSweepOnTheSameDirectoryIsRefused) {
  const fs::path out = dir_ / "out";
  ASSERT_EQ(
      shell(sweep_command(write_sweep(small_sweep()), out, "", "FAKE_TRIAL_EPOCH_S=0")).exit_code,
      0);
  json doc = small_sweep();
  doc["seed"] = 8;
  const fs::path sweep = write_sweep(doc);
  const RunResult r = shell(sweep_command(sweep, out));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("holds a different sweep"), std::string::npos) << r.output;
  const RunResult not_sweep =
      shell(sweep_command(write_sweep(doc), dir_));  // non-empty, no sweep.db
  EXPECT_EQ(not_sweep.exit_code, 2);
}

TEST_F(HparamTest, LeftoversOfASweepKilledWhileCreatingItsStoreAreReused) {
  const fs::path out = dir_ / "out";
  fs::create_directories(out);
  std::ofstream(out / ".lock");
  std::ofstream(out / "base-spec.json") << "{";
  const RunResult r =
      shell(sweep_command(write_sweep(small_sweep()), out, "", "FAKE_TRIAL_EPOCH_S=0"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

std::size_t finished_count(const fs::path& db) {
  if (!fs::exists(db)) return 0;
  TrialStore store(db, true);
  std::size_t n = 0;
  for (const TrialRecord& t : store.trials()) n += finished(t.status) ? 1 : 0;
  return n;
}

TEST_F(HparamTest, KillNineMidSweepThenResumeLosesAndRepeatsNothing) {
  const fs::path out = dir_ / "out", log = dir_ / "trials.log", sweep = write_sweep(small_sweep());
  const std::string env = "FAKE_TRIAL_EPOCH_S=0.15 FAKE_TRIAL_LOG=" + log.string();
  const std::string command = sweep_command(sweep, out, "--workers 2");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c",
          (env + " exec " + command + " >" + (dir_ / "first.txt").string() + " 2>&1").c_str(),
          nullptr);
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  // Kill right after a trial has started (one takes ~0.45 s), so the kill
  // certainly lands while it runs: polling the store for "running" races
  // with the trial's end.
  std::set<std::string> seen_started;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto started = count_events(log, "start");
    const auto ended = count_events(log, "finish");
    bool fresh = false;
    for (const auto& [dir, n] : started)
      fresh |= seen_started.insert(dir).second && !ended.count(dir);
    if (ended.size() >= 5 && fresh) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // orphans would go on writing now

  std::set<std::int64_t> done_before;
  std::size_t running_at_kill = 0;
  {
    TrialStore store(out / "sweep.db", true);
    for (const TrialRecord& t : store.trials()) {
      if (finished(t.status)) done_before.insert(t.id);
      running_at_kill += t.status == Status::running;
    }
  }
  ASSERT_GE(done_before.size(), 5u) << read_text(dir_ / "first.txt");
  EXPECT_GT(running_at_kill, 0u) << "the kill should land while trials run";
  const auto finishes_before = count_events(log, "finish");
  const auto starts_before = count_events(log, "start");

  const RunResult resumed = shell(env + " " + command);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
  for (const TrialRecord& t : TrialStore(out / "sweep.db", true).trials()) {
    // A trial that paused at a rung starts its count again there.
    EXPECT_LE(t.attempts, 1) << "an interrupted attempt counts against the retries of trial "
                             << t.id;
  }
  const auto starts_after = count_events(log, "start");
  TrialStore store(out / "sweep.db", true);
  for (const TrialRecord& t : store.trials()) {
    EXPECT_TRUE(finished(t.status)) << t.id;
    const std::string dir = (out / "trials" / std::to_string(t.id)).string();
    if (done_before.count(t.id)) {  // neither lost nor rerun
      EXPECT_EQ(starts_after.at(dir), starts_before.at(dir)) << "trial " << t.id << " was rerun";
      EXPECT_LE(count_events(log, "finish")[dir], 1) << dir;
    }
  }
  for (const auto& [dir, n] : finishes_before) EXPECT_EQ(n, 1) << dir;
  EXPECT_TRUE(fs::exists(out / "best-spec.json"));
}

// One halving stage (a 3 x 3 grid, eta 3, rungs at 1 of 3 epochs) and a final run.
json halving_sweep(const std::string& mode) {
  json sweep = small_sweep();
  sweep["stages"] = json::parse(R"([
    {"name": "coarse", "sampler": "grid", "points": 3,
     "fidelity": {"train.epochs": 3}, "halving": {"eta": 3, "min_epochs": 1}},
    {"name": "final", "final": true, "top_k": 1}])");
  sweep["stages"][0]["halving"]["mode"] = mode;
  return sweep;
}

TEST_F(HparamTest, SynchronousHalvingPromotesExactlyTheBestThirdFromCheckpoints) {
  const fs::path out = dir_ / "out", log = dir_ / "trials.log";
  const RunResult r =
      shell(sweep_command(write_sweep(halving_sweep("sync")), out, "--workers 2",
                          "FAKE_TRIAL_EPOCH_S=0.01 FAKE_TRIAL_LOG=" + log.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  TrialStore store(out / "sweep.db", true);
  std::map<std::int64_t, double> at_rung;  // every coarse trial's value at epoch 1
  for (const EvalRecord& e : store.evals()) {
    if (std::abs(e.epoch - 1) < 1e-9 && store.trial(e.trial_id).stage == 0)
      at_rung[e.trial_id] = e.value;
  }
  ASSERT_EQ(at_rung.size(), 9u);
  std::vector<double> values;
  for (const auto& [id, v] : at_rung) values.push_back(v);
  std::sort(values.rbegin(), values.rend());
  double epochs = 0;
  int done = 0;
  for (const TrialRecord& t : store.trials(0)) {
    epochs += t.epochs_done;
    const std::string dir = (out / "trials" / std::to_string(t.id)).string();
    EXPECT_EQ(count_events(log, "start")[dir], 1) << dir;
    EXPECT_EQ(count_events(log, "pause")[dir], 1) << dir;
    if (t.status == Status::done) {
      ++done;
      EXPECT_GE(at_rung.at(t.id), values[2]) << "trial " << t.id << " is not among the best 3";
      EXPECT_EQ(t.epochs_done, 3);
      EXPECT_EQ(count_events(log, "resume")[dir], 1) << "survivors continue from the rung";
      EXPECT_EQ(count_events(log, "finish")[dir], 1) << dir;
    } else {
      ASSERT_EQ(t.status, Status::pruned) << t.id;
      EXPECT_LT(at_rung.at(t.id), values[2]);
      EXPECT_EQ(t.epochs_done, 1);
      EXPECT_EQ(count_events(log, "resume")[dir], 0) << dir;
    }
  }
  EXPECT_EQ(done, 3);
  EXPECT_EQ(epochs, 9 * 1 + 3 * 2);  // no epoch run twice, none past a pruning
  std::map<std::int64_t, std::set<double>> epochs_seen;
  std::size_t evals = 0;
  for (const EvalRecord& e : store.evals()) {
    if (store.trial(e.trial_id).stage != 0) continue;
    ++evals;
    EXPECT_TRUE(epochs_seen[e.trial_id].insert(e.epoch).second) << "duplicate eval";
  }
  EXPECT_EQ(evals, 6u * 1 + 3u * 3);
}

TEST_F(HparamTest, AsynchronousHalvingNeverPauses) {
  const fs::path out = dir_ / "out", log = dir_ / "trials.log";
  const RunResult r =
      shell(sweep_command(write_sweep(halving_sweep("async")), out, "--workers 1",
                          "FAKE_TRIAL_EPOCH_S=0.01 FAKE_TRIAL_LOG=" + log.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(count_events(log, "pause").empty());
  EXPECT_TRUE(count_events(log, "resume").empty());
  int pruned = 0;
  for (const TrialRecord& t : TrialStore(out / "sweep.db", true).trials(0))
    pruned += t.status == Status::pruned;
  EXPECT_GT(pruned, 0);
}

// Halving at full fidelity: rungs 1 and 3 of the base's 4 epochs, so the one
// survivor of rung 3 is already a full run and the final stage's second
// configuration (pruned at epoch 3) is not.
json full_fidelity_halving_sweep(bool rerun_identical) {
  json sweep = small_sweep();
  sweep["stages"] = json::parse(R"([
    {"name": "coarse", "sampler": "grid", "points": 3, "halving": {"eta": 3, "min_epochs": 1}},
    {"name": "final", "final": true, "top_k": 2}])");
  if (rerun_identical) sweep["stages"][1]["rerun_identical"] = true;
  return sweep;
}

TEST_F(HparamTest, FinalStageCarriesAFullRunAnEarlierStageAlreadyMade) {
  const fs::path out = dir_ / "out", log = dir_ / "trials.log";
  const RunResult r =
      shell(sweep_command(write_sweep(full_fidelity_halving_sweep(false)), out, "--workers 2",
                          "FAKE_TRIAL_EPOCH_S=0.01 FAKE_TRIAL_LOG=" + log.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  TrialStore store(out / "sweep.db", true);
  std::vector<TrialRecord> full_coarse;
  for (const TrialRecord& t : store.trials(0))
    if (t.status == Status::done) full_coarse.push_back(t);
  ASSERT_EQ(full_coarse.size(), 1u);
  const auto finals = store.trials(1);
  ASSERT_EQ(finals.size(), 2u);
  int carried = 0;
  for (const TrialRecord& t : finals) {
    EXPECT_EQ(t.status, Status::done) << t.id;
    const std::string dir = (out / "trials" / std::to_string(t.id)).string();
    if (t.params == full_coarse[0].params) {
      ++carried;
      EXPECT_TRUE(t.carried()) << t.reason;
      EXPECT_NE(t.reason.find("trial " + std::to_string(full_coarse[0].id)), std::string::npos);
      EXPECT_EQ(t.objective, full_coarse[0].objective);
      EXPECT_EQ(t.epochs_done, 4);  // ranks with the other full run
      EXPECT_EQ(t.epochs_run(), 0);
      EXPECT_EQ(count_events(log, "start")[dir], 0) << "a carried run is not trained again";
    } else {
      EXPECT_FALSE(t.carried()) << t.reason;
      EXPECT_EQ(t.epochs_run(), 4);
      EXPECT_EQ(count_events(log, "start")[dir], 1) << dir;
    }
  }
  EXPECT_EQ(carried, 1);
  EXPECT_NE(r.output.find("carried from trial " + std::to_string(full_coarse[0].id)),
            std::string::npos)
      << r.output;
  const RunResult csv = shell(kSweep.string() + " export " + out.string() + " --csv");
  ASSERT_EQ(csv.exit_code, 0);
  EXPECT_NE(csv.output.find("epochs_done,epochs_run,"), std::string::npos) << csv.output;

  // rerun_identical: both final configurations train again.
  const fs::path again = dir_ / "again", log2 = dir_ / "trials2.log";
  ASSERT_EQ(
      shell(sweep_command(write_sweep(full_fidelity_halving_sweep(true), "rerun.json"), again,
                          "--workers 2", "FAKE_TRIAL_EPOCH_S=0.01 FAKE_TRIAL_LOG=" + log2.string()))
          .exit_code,
      0);
  for (const TrialRecord& t : TrialStore(again / "sweep.db", true).trials(1)) {
    EXPECT_FALSE(t.carried());
    EXPECT_EQ(count_events(log2, "start")[(again / "trials" / std::to_string(t.id)).string()], 1);
  }
}

TEST_F(HparamTest, KillNineDuringSynchronousHalvingResumesFromTheRung) {
  const fs::path reference = dir_ / "reference", out = dir_ / "out", log = dir_ / "trials.log";
  const fs::path sweep = write_sweep(halving_sweep("sync"));
  ASSERT_EQ(
      shell(sweep_command(sweep, reference, "--workers 2", "FAKE_TRIAL_EPOCH_S=0.01")).exit_code,
      0);
  const std::string env = "FAKE_TRIAL_EPOCH_S=0.15 FAKE_TRIAL_LOG=" + log.string();
  const std::string command = sweep_command(sweep, out, "--workers 2");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", (env + " exec " + command + " >/dev/null 2>&1").c_str(), nullptr);
    _exit(127);
  }
  // Kill while the survivors run from the rung to the end.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && count_events(log, "resume").empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_FALSE(count_events(log, "resume").empty()) << "the sweep never reached the rung";
  const auto paused_before = count_events(log, "pause");
  const RunResult resumed = shell(env + " " + command);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const auto starts = count_events(log, "start");
  for (const auto& [dir, n] : paused_before) {
    EXPECT_EQ(starts.at(dir), 1) << dir << " paused at the rung, then was started from scratch";
  }
  const auto expected = TrialStore(reference / "sweep.db", true).trials();
  const auto actual = TrialStore(out / "sweep.db", true).trials();
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].status, expected[i].status) << "trial " << actual[i].id;
    EXPECT_EQ(actual[i].objective, expected[i].objective) << "trial " << actual[i].id;
    EXPECT_EQ(actual[i].epochs_done, expected[i].epochs_done) << "trial " << actual[i].id;
  }
}

TEST_F(HparamTest, SigtermStopsTrialsMarksThemPendingAndExits130) {
  const fs::path out = dir_ / "out", sweep = write_sweep(small_sweep());
  const std::string command = sweep_command(sweep, out, "--workers 2");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c",
          ("FAKE_TRIAL_EPOCH_S=0.2 exec " + command + " >/dev/null 2>&1").c_str(), nullptr);
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (finished_count(out / "sweep.db") < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  TrialStore store(out / "sweep.db", true);
  for (const TrialRecord& t : store.trials()) EXPECT_NE(t.status, Status::running) << t.id;
  EXPECT_EQ(shell("FAKE_TRIAL_EPOCH_S=0 " + command).exit_code, 0);
}

TEST_F(HparamTest, CostEstimateBeforeTheFinalStageAndPlanOnly) {
  const fs::path sim = dir_ / "fake-simulate-scaling";
  std::ofstream(sim)
      << "#!/bin/sh\n# SPEC --gpus N --out DIR\nmkdir -p \"$5\"\n"
         "echo '{\"model\":\"lenet_bn\",\"results\":[{\"gpus\":'$3',\"iteration_s\":0.01,"
         "\"images_per_s\":1000000,\"efficiency\":0.9,\"time_to_train_s\":3725}]}' > "
         "\"$5/scaling.json\"\n";
  fs::permissions(sim, fs::perms::owner_all);
  json doc = small_sweep();
  doc["target"] = {{"gpus", 1024}};
  const fs::path out = dir_ / "out", sweep = write_sweep(doc);
  const std::string base = kSweep.string() + " " + sweep.string() + " --out " + out.string() +
                           " --trainer " + kFake.string() + " --simulator " + sim.string();
  const RunResult plan = shell("FAKE_TRIAL_EPOCH_S=0 " + base + " --plan-only");
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  EXPECT_NE(plan.output.find("cost estimate of the full runs on 1024 GPUs"), std::string::npos)
      << plan.output;
  EXPECT_NE(plan.output.find(": 1 h 02 min, 1000000 images/s, efficiency 0.90"), std::string::npos)
      << plan.output;
  EXPECT_NE(plan.output.find("--plan-only: stopping before the final stage"), std::string::npos);
  EXPECT_FALSE(fs::exists(out / "best-spec.json"));
  {
    TrialStore store(out / "sweep.db", true);
    EXPECT_EQ(store.estimates().size(), 2u);
    for (const TrialRecord& t : store.trials(2)) EXPECT_EQ(t.status, Status::pending);
  }
  const RunResult full = shell("FAKE_TRIAL_EPOCH_S=0 " + base);
  ASSERT_EQ(full.exit_code, 0) << full.output;
  EXPECT_NE(full.output.find("GPUs (stored):"), std::string::npos)
      << full.output;  // not simulated again
  EXPECT_NE(full.output.find("estimated full run on 1024 GPUs: 1 h 02 min"), std::string::npos)
      << full.output;

  // A simulator that fails is reported per configuration; the sweep goes on.
  std::ofstream(sim) << "#!/bin/sh\necho 'simulate-scaling: boom' >&2\nexit 1\n";
  const RunResult broken = shell("FAKE_TRIAL_EPOCH_S=0 " + kSweep.string() + " " + sweep.string() +
                                 " --out " + (dir_ / "out2").string() + " --trainer " +
                                 kFake.string() + " --simulator " + sim.string());
  EXPECT_EQ(broken.exit_code, 0) << broken.output;
  EXPECT_NE(broken.output.find("no estimate (exit 1: simulate-scaling: boom)"), std::string::npos)
      << broken.output;

  // No simulator at all: one line, and the sweep goes on.
  const RunResult missing = shell(sweep_command(sweep, dir_ / "out3", "", "FAKE_TRIAL_EPOCH_S=0"));
  EXPECT_EQ(missing.exit_code, 0) << missing.output;
  EXPECT_NE(missing.output.find("cost estimate: skipped, simulator not found at " +
                                (dir_ / "no-simulator").string() +
                                " (build simulate-scaling or pass --simulator PATH)\n"),
            std::string::npos)
      << missing.output;
  EXPECT_TRUE(fs::exists(dir_ / "out3" / "best-spec.json"));
}

}  // namespace
}  // namespace lb::hparam::test
