// The Slurm launcher's pure parts (hparam/slurm.hpp): the batch script from
// the sweep file's settings, and how Slurm's job states become endings.
#include <gtest/gtest.h>
#include <signal.h>

#include "hparam/slurm.hpp"
#include "hparam/trial_ending.hpp"

namespace lb::hparam {
namespace {

TEST(SlurmScript, MapsTheSettingsToSbatchOptionsAndRunsTheTrainerUnderSrun) {
  SlurmSettings s;
  s.partition = "gpu";
  s.ranks = 8;
  s.nodes = 2;
  s.gpus_per_rank = 1;
  s.cpus_per_rank = 6;
  s.sbatch = {"--account=proj", "--exclusive"};
  s.srun = {"--mpi=pmix"};
  const Attempt a{
      12, {"/opt/lb/bin/lb-train", "/sw/base-spec.json", "--set", "a.b=it's"}, "/sw/trials/12"};
  const std::string script = batch_script(s, 61, "hp-0000beef-12", a);
  for (const char* line :
       {"#!/bin/sh\n", "#SBATCH --job-name=hp-0000beef-12\n",
        "#SBATCH --output=/sw/trials/12/stdout.log\n", "#SBATCH --error=/sw/trials/12/stderr.log\n",
        "#SBATCH --ntasks=8\n", "#SBATCH --nodes=2\n", "#SBATCH --cpus-per-task=6\n",
        "#SBATCH --gpus-per-task=1\n", "#SBATCH --partition=gpu\n", "#SBATCH --time=61\n",
        "#SBATCH --account=proj\n", "#SBATCH --exclusive\n",
        "\nsrun --mpi=pmix /opt/lb/bin/lb-train /sw/base-spec.json --set 'a.b=it'\\''s'\n",
        "echo $code > /sw/trials/12/job.exit\nexit $code\n"}) {
    EXPECT_NE(script.find(line), std::string::npos) << line << "\n" << script;
  }
  // Every #SBATCH line comes before the first command, or sbatch ignores it.
  EXPECT_LT(script.rfind("#SBATCH"), script.find("srun"));
  SlurmSettings plain;
  const std::string minimal = batch_script(plain, 5, "n", a);
  EXPECT_EQ(minimal.find("--partition"), std::string::npos);
  EXPECT_EQ(minimal.find("--gpus-per-task"), std::string::npos);
  EXPECT_NE(minimal.find("#SBATCH --ntasks=1\n"), std::string::npos);
}

TEST(SlurmScript, TimeLimitComesFromTheTrialTimeoutUnlessGiven) {
  SlurmSettings s;
  EXPECT_EQ(slurm_time_limit_min(s, 3600), 61);
  EXPECT_EQ(slurm_time_limit_min(s, 61), 3);
  s.time_limit_min = 10;
  EXPECT_EQ(slurm_time_limit_min(s, 3600), 10);
}

TEST(SlurmState, CompletedAndFailedAreTheScriptsOwnExit) {
  const JobEnd ok = slurm_job_end(7, "COMPLETED", "0:0");
  EXPECT_EQ(ok.exit.code, 0);
  EXPECT_TRUE(ok.scheduler_verdict.empty());
  const JobEnd diverged = slurm_job_end(7, "FAILED", "3:0");
  EXPECT_EQ(diverged.exit.code, 3);
  EXPECT_TRUE(diverged.scheduler_verdict.empty());
  AttemptEnd end;
  end.exit = diverged.exit;
  EXPECT_EQ(classify_ending(end, "validation_accuracy").ending, Ending::diverged);
  const JobEnd killed = slurm_job_end(7, "FAILED", "0:9");
  EXPECT_EQ(killed.exit.signal, SIGKILL);
}

TEST(SlurmState, SchedulerEndingsAreFailedAttemptsWithTheirReason) {
  for (const char* state :
       {"TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "CANCELLED by 0", "BOOT_FAIL"}) {
    const JobEnd e = slurm_job_end(42, state, "0:15");
    EXPECT_EQ(e.scheduler_verdict, std::string("slurm: job 42 ended ") + state);
    AttemptEnd end;
    end.exit = e.exit;
    end.scheduler_verdict = e.scheduler_verdict;
    const Classified c = classify_ending(end, "validation_accuracy");
    EXPECT_EQ(c.ending, Ending::scheduler) << state;
    EXPECT_TRUE(c.retry) << state;
  }
}

TEST(SlurmState, ParsesSqueueSacctAndScontrol) {
  const auto q = parse_squeue("12 RUNNING\n13 PENDING\n14_2 RUNNING\n");
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.at(12), "RUNNING");
  EXPECT_EQ(q.at(13), "PENDING");
  EXPECT_EQ(parse_sacct("CANCELLED by 0|0:15\n"),
            std::make_pair(std::string("CANCELLED by 0"), std::string("0:15")));
  EXPECT_FALSE(parse_sacct(""));
  const auto sc = parse_scontrol_job(
      "JobId=5 JobName=hp-1-2 UserId=root(0) JobState=TIMEOUT Reason=TimeLimit ExitCode=0:15");
  ASSERT_TRUE(sc);
  EXPECT_EQ(sc->first, "TIMEOUT");
  EXPECT_EQ(sc->second, "0:15");
  EXPECT_FALSE(parse_scontrol_job("slurm_load_jobs error: Invalid job id specified"));
}

}  // namespace
}  // namespace lb::hparam
