// hparam-sweep --launcher slurm through a real single-node Slurm
// (scripts/slurm-local): a whole sweep, a job cancelled from outside, the
// sweep killed and restarted while jobs run, SIGTERM cancelling its jobs.
// SKIPPED, with the reason, only where the daemons cannot start.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "hparam/store.hpp"
#include "hparam_fixture.hpp"

namespace lb::hparam::test {
namespace {

const fs::path kSlurmLocal = fs::path(LB_SOURCE_DIR) / "scripts" / "slurm-local";

class SlurmSweep : public HparamTest {
 protected:
  static void SetUpTestSuite() {
    cluster_ = fs::temp_directory_path() / ("lb_slurm_" + std::to_string(::getpid()));
    const fs::path log =
        fs::temp_directory_path() / ("lb_slurm_start_" + std::to_string(::getpid()));
    const int status = std::system(
        (kSlurmLocal.string() + " start " + cluster_.string() + " >" + log.string() + " 2>&1")
            .c_str());
    std::string output = read_text(log);
    fs::remove(log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      while (!output.empty() && output.back() == '\n') output.pop_back();
      why_not_ = output.substr(output.rfind('\n') + 1);
      return;
    }
    ::setenv("SLURM_CONF", (cluster_ / "slurm.conf").c_str(), 1);
    up_ = true;
  }
  static void TearDownTestSuite() {
    if (!cluster_.empty())
      (void)!std::system(
          (kSlurmLocal.string() + " stop " + cluster_.string() + " >/dev/null 2>&1").c_str());
    fs::remove_all(cluster_);
  }
  void SetUp() override {
    if (!up_) GTEST_SKIP() << "SKIPPED: the local Slurm did not start: " << why_not_;
    HparamTest::SetUp();
  }

  // Four trials of three epochs (FAKE_TRIAL_EPOCH_S each), one retry, then a final run.
  static json slurm_sweep() {
    json doc = small_sweep();
    doc["space"] = json::parse(R"({"optimizer.lr.base": {"choices": [0.3, 0.6, 1.2, 2.4]}})");
    doc["stages"] = json::parse(R"([
      {"name": "coarse", "sampler": "grid", "fidelity": {"train.epochs": 3}},
      {"name": "final", "final": true, "top_k": 1, "fidelity": {"train.epochs": 1}}])");
    doc["trial"] = {{"retries", 1}, {"timeout_s", 120}};
    doc["launcher"] = "slurm";
    doc["slurm"] = {{"poll_s", 0.2}, {"sbatch", {"--comment=hparam-test"}}};
    return doc;
  }

  pid_t start_in_background(const std::string& command, const fs::path& output) {
    const pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c",
            ("exec env " + command + " >" + output.string() + " 2>&1").c_str(), nullptr);
      _exit(127);
    }
    return pid;
  }

  // Waits (up to 90 s) until `ready` holds, checking every 50 ms.
  template <class F>
  bool wait_for(F ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (std::chrono::steady_clock::now() < deadline) {
      if (ready()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // Trials whose Slurm job runs and whose trial program has written an evaluation.
  std::vector<TrialRecord> running_with_progress(const fs::path& out) {
    std::vector<TrialRecord> found;
    if (!fs::exists(out / "sweep.db")) return found;
    for (const TrialRecord& t : TrialStore(out / "sweep.db", true).trials()) {
      const fs::path metrics = out / "trials" / std::to_string(t.id) / "metrics.jsonl";
      if (t.status == Status::running && t.job_id > 0 && fs::exists(metrics) &&
          read_text(metrics).find("\"eval\"") != std::string::npos)
        found.push_back(t);
    }
    return found;
  }

  static std::map<std::string, int> starts(const fs::path& log) {
    std::map<std::string, int> counts;
    std::istringstream in(read_text(log));
    std::string event, dir;
    while (in >> event >> dir) counts[dir] += event == "start";
    return counts;
  }

  static inline fs::path cluster_;
  static inline bool up_ = false;
  static inline std::string why_not_;
};

TEST_F(SlurmSweep, SurvivesACancelledJobAndARestartWithNothingLostOrRepeated) {
  const fs::path out = dir_ / "out", log = dir_ / "trials.log", sweep = write_sweep(slurm_sweep());
  const std::string env = "FAKE_TRIAL_EPOCH_S=1 FAKE_TRIAL_LOG=" + log.string();
  const std::string command = env + " " + sweep_command(sweep, out, "--workers 2");
  const pid_t first = start_in_background(command, dir_ / "first.txt");

  // A job cancelled from outside while its trial runs.
  std::vector<TrialRecord> busy;
  ASSERT_TRUE(wait_for([&] { return !(busy = running_with_progress(out)).empty(); }))
      << read_text(dir_ / "first.txt");
  const TrialRecord cancelled = busy.front();
  ASSERT_EQ(shell("scancel " + std::to_string(cancelled.job_id)).exit_code, 0);
  ASSERT_TRUE(wait_for([&] {
    return read_text(dir_ / "first.txt").find("ended CANCELLED") != std::string::npos;
  })) << read_text(dir_ / "first.txt");

  // Then the sweep is killed while another job runs.
  ASSERT_TRUE(wait_for([&] {
    busy = running_with_progress(out);
    return std::any_of(busy.begin(), busy.end(),
                       [&](const TrialRecord& t) { return t.id != cancelled.id; });
  })) << read_text(dir_ / "first.txt");
  kill(first, SIGKILL);
  waitpid(first, nullptr, 0);
  std::set<std::int64_t> running_at_kill;
  for (const TrialRecord& t : TrialStore(out / "sweep.db", true).running_trials())
    running_at_kill.insert(t.id);
  ASSERT_FALSE(running_at_kill.empty());

  const RunResult resumed = shell(command);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("re-attached to Slurm job"), std::string::npos) << resumed.output;
  const std::string first_output = read_text(dir_ / "first.txt");
  EXPECT_NE(first_output.find("trial " + std::to_string(cancelled.id) + " failed (slurm: job " +
                              std::to_string(cancelled.job_id) + " ended CANCELLED"),
            std::string::npos)
      << first_output;

  const auto started = starts(log);
  TrialStore store(out / "sweep.db", true);
  for (const TrialRecord& t : store.trials()) {
    const std::string dir = (out / "trials" / std::to_string(t.id)).string();
    EXPECT_EQ(t.status, Status::done) << "trial " << t.id << ": " << t.reason;
    EXPECT_EQ(t.job_id, 0) << t.id;
    EXPECT_NE(t.command.find("sbatch " + dir + "/job.sh: srun "), std::string::npos) << t.command;
    if (t.id == cancelled.id) {
      EXPECT_EQ(t.attempts, 2) << "the cancelled job is a failed attempt, retried once";
      EXPECT_EQ(started.at(dir), 2);
    } else {
      EXPECT_EQ(t.attempts, 1) << "trial " << t.id;
      EXPECT_EQ(started.at(dir), 1) << "trial " << t.id << " was submitted twice";
    }
  }
  const std::string script = read_text(out / "trials" / "1" / "job.sh");
  EXPECT_NE(script.find("#SBATCH --comment=hparam-test\n"), std::string::npos) << script;
  EXPECT_TRUE(fs::exists(out / "best-spec.json"));
  EXPECT_EQ(shell("squeue --me -h -o %j").output.find("hp-"), std::string::npos);
}

TEST_F(SlurmSweep, SigtermCancelsItsJobs) {
  const fs::path out = dir_ / "out", sweep = write_sweep(slurm_sweep());
  const std::string command = "FAKE_TRIAL_EPOCH_S=5 " + sweep_command(sweep, out, "--workers 2");
  const pid_t pid = start_in_background(command, dir_ / "output.txt");
  std::vector<TrialRecord> busy;
  ASSERT_TRUE(wait_for([&] { return (busy = running_with_progress(out)).size() >= 1; }))
      << read_text(dir_ / "output.txt");
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_text(dir_ / "output.txt");
  for (const TrialRecord& t : busy) {
    const RunResult q = shell("squeue -h -j " + std::to_string(t.job_id) + " -o %T");
    EXPECT_EQ(q.output.find("RUNNING"), std::string::npos) << "job " << t.job_id << " still runs";
  }
  for (const TrialRecord& t : TrialStore(out / "sweep.db", true).trials()) {
    EXPECT_NE(t.status, Status::running) << t.id;
    EXPECT_EQ(t.job_id, 0) << t.id;
  }
}

// A two-rank trial of the real lb-train: srun starts both ranks and Open MPI
// takes them from Slurm through PMIx, with no host list anywhere.
TEST_F(SlurmSweep, TwoRankTrialRunsAsOneJobUnderSrun) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist"))
    GTEST_SKIP() << "SKIPPED: Fashion-MNIST not installed (dataset-fashion-mnist)";
  json doc = small_sweep();
  doc["base"] = json::parse(R"({"model": {"name": "lenet_bn"}, "data": {"train_subset": 1024},
      "train": {"epochs": 1, "global_batch": 256, "threads": 1}, "optimizer": {"name": "lars"}})");
  doc["space"] = json::parse(R"({"optimizer.lr.base": {"choices": [0.3]}})");
  doc["stages"] = json::parse(R"([{"name": "only", "sampler": "grid"}])");
  doc["launcher"] = "slurm";
  doc["slurm"] = {{"ranks", 2}, {"srun", {"--mpi=pmix"}}, {"poll_s", 0.5}};
  const fs::path out = dir_ / "out";
  const RunResult r = shell(kSweep.string() + " " + write_sweep(doc).string() + " --out " +
                            out.string() + " --trainer " + (kBin / "lb-train").string());
  ASSERT_EQ(r.exit_code, 0) << r.output << read_text(out / "trials" / "1" / "stderr.log");
  EXPECT_NE(read_text(out / "trials" / "1" / "stdout.log").find("2 rank(s)"), std::string::npos)
      << read_text(out / "trials" / "1" / "stdout.log");
  EXPECT_TRUE(fs::exists(out / "trials" / "1" / "trace.rank1.json"));
  const std::string script = read_text(out / "trials" / "1" / "job.sh");
  EXPECT_NE(script.find("#SBATCH --ntasks=2\n"), std::string::npos) << script;
  EXPECT_NE(script.find("\nsrun --mpi=pmix " + (kBin / "lb-train").string()), std::string::npos)
      << script;
}

}  // namespace
}  // namespace lb::hparam::test
