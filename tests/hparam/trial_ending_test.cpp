// How a trial attempt ended (hparam/trial_ending.hpp): by exit code, the
// scheduler's verdict and summary.json, never by the words of a message.
#include "hparam/trial_ending.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>

#include "hparam/store.hpp"
#include "hparam_fixture.hpp"
#include "runtime/core/errors.hpp"

namespace lb::hparam::test {
namespace {

AttemptEnd exited(int code, const std::string& stderr_line = "") {
  AttemptEnd end;
  end.exit = {code, 0};
  end.stderr_line = stderr_line;
  return end;
}

TEST(TrialEnding, ExitZeroWithAFiniteObjectiveIsFinished) {
  AttemptEnd end = exited(0);
  end.summary = R"({"test_accuracy": 0.91, "steps": 12})";
  const Classified c = classify_ending(end, "test_accuracy");
  EXPECT_EQ(c.ending, Ending::finished);
  EXPECT_EQ(c.objective, 0.91);
  EXPECT_EQ(c.summary.at("steps"), 12);
  EXPECT_TRUE(c.reason.empty());
}

TEST(TrialEnding, DivergenceIsTheExitCodeNotTheMessage) {
  const Classified diverged =
      classify_ending(exited(kDivergedExitCode, "lb-train: error: loss is nan"), "test_accuracy");
  EXPECT_EQ(diverged.ending, Ending::diverged);
  EXPECT_FALSE(diverged.retry);
  EXPECT_EQ(diverged.reason, "diverged: lb-train: error: loss is nan");
  // The word alone, with exit 1, is an ordinary failure and is retried.
  const Classified failed =
      classify_ending(exited(1, "lb-train: error: training diverged"), "test_accuracy");
  EXPECT_EQ(failed.ending, Ending::failed);
  EXPECT_TRUE(failed.retry);
  EXPECT_EQ(failed.reason, "exit 1: lb-train: error: training diverged");
}

TEST(TrialEnding, ANonFiniteObjectiveInTheSummaryIsDivergence) {
  AttemptEnd end = exited(0);
  end.summary = R"({"test_accuracy": null})";  // how nlohmann writes NaN
  const Classified c = classify_ending(end, "test_accuracy");
  EXPECT_EQ(c.ending, Ending::diverged);
  EXPECT_FALSE(c.retry);
  EXPECT_EQ(c.reason, "diverged: test_accuracy is not finite");
}

TEST(TrialEnding, ExitZeroWithoutAUsableSummaryIsNotRetried) {
  const Classified missing = classify_ending(exited(0), "test_accuracy");
  EXPECT_EQ(missing.ending, Ending::no_summary);
  EXPECT_FALSE(missing.retry);
  AttemptEnd end = exited(0);
  end.summary = R"({"test_loss": 0.3})";
  const Classified lacking = classify_ending(end, "test_accuracy");
  EXPECT_EQ(lacking.ending, Ending::no_summary);
  EXPECT_NE(lacking.reason.find("no usable summary.json"), std::string::npos) << lacking.reason;
  end.summary = "{";
  EXPECT_EQ(classify_ending(end, "test_accuracy").ending, Ending::no_summary);
}

TEST(TrialEnding, BadInputAndCannotRunAreNotRetried) {
  const Classified bad = classify_ending(exited(2, "spec error: x: y"), "test_accuracy");
  EXPECT_EQ(bad.ending, Ending::bad_input);
  EXPECT_FALSE(bad.retry);
  EXPECT_EQ(bad.reason, "bad input: spec error: x: y");
  const Classified missing = classify_ending(exited(127), "test_accuracy");
  EXPECT_EQ(missing.ending, Ending::cannot_run);
  EXPECT_FALSE(missing.retry);
  EXPECT_EQ(missing.reason, "cannot run");
}

TEST(TrialEnding, CrashesTimeoutsAndSchedulerEndingsAreRetried) {
  AttemptEnd crash;
  crash.exit = {0, SIGSEGV};
  const Classified c = classify_ending(crash, "test_accuracy");
  EXPECT_EQ(c.ending, Ending::crashed);
  EXPECT_TRUE(c.retry);
  EXPECT_EQ(c.reason, "crashed: signal 11 (Segmentation fault)");

  AttemptEnd timeout;
  timeout.exit = {0, SIGKILL};
  timeout.stopped_by_sweep = "timeout after 5 s";
  const Classified t = classify_ending(timeout, "test_accuracy");
  EXPECT_EQ(t.ending, Ending::stopped);
  EXPECT_TRUE(t.retry);
  EXPECT_EQ(t.reason, "timeout after 5 s");

  // The scheduler's verdict wins over the exit status it reports with it.
  AttemptEnd preempted = exited(0);
  preempted.summary = R"({"test_accuracy": 0.5})";
  preempted.scheduler_verdict = "slurm: PREEMPTED";
  const Classified p = classify_ending(preempted, "test_accuracy");
  EXPECT_EQ(p.ending, Ending::scheduler);
  EXPECT_TRUE(p.retry);
  EXPECT_EQ(p.reason, "slurm: PREEMPTED");
}

// Through the sweep: the fake's "fail" exits 1 with "diverged" in its
// message and is retried; its "nan" exits 3 with no such word and is not.
TEST_F(HparamTest, TrialsAreClassifiedByExitCodeNotByStderr) {
  json doc = small_sweep();
  doc["space"] = json::parse(R"({"optimizer.lr.base": {"choices": [0.3, 2, 3]}})");
  doc["stages"] =
      json::parse(R"([{"name": "only", "sampler": "grid", "fidelity": {"train.epochs": 1}}])");
  doc["trial"] = {{"retries", 1}};
  const std::string faults =
      "FAKE_TRIAL_FAULT=nan:optimizer.lr.base=2,fail:optimizer.lr.base=3 FAKE_TRIAL_EPOCH_S=0";
  const fs::path out = dir_ / "out";
  const RunResult r = shell(sweep_command(write_sweep(doc), out, "", faults));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  TrialStore store(out / "sweep.db", true);
  for (const TrialRecord& t : store.trials()) {
    const double lr = t.params["optimizer.lr.base"].get<double>();
    if (lr == 2) {
      EXPECT_EQ(t.status, Status::failed);
      EXPECT_EQ(t.attempts, 1);
      EXPECT_EQ(t.reason.rfind("diverged: ", 0), 0u) << t.reason;
    } else if (lr == 3) {
      EXPECT_EQ(t.status, Status::failed);
      EXPECT_EQ(t.attempts, 2);
      EXPECT_EQ(t.reason.rfind("exit 1: ", 0), 0u) << t.reason;
    } else {
      EXPECT_EQ(t.status, Status::done);
    }
  }
}

}  // namespace
}  // namespace lb::hparam::test
