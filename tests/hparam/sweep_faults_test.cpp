// Regression tests of issue 17 item 19: a broken store names its file,
// failed trials can be run again, log ranges over > 308 decades stay finite,
// and trials do not inherit the sweep directory's lock.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>

#include "hparam/space.hpp"
#include "hparam/store.hpp"
#include "hparam_fixture.hpp"
#include "runtime/core/errors.hpp"

namespace lb::hparam::test {
namespace {

json one_stage_sweep(const std::string& choices) {
  json doc = small_sweep();
  doc["space"] = json::parse(R"({"optimizer.lr.base": {"choices": )" + choices + "}}");
  doc["stages"] =
      json::parse(R"([{"name": "only", "sampler": "grid", "fidelity": {"train.epochs": 1}}])");
  doc["trial"] = {{"retries", 0}};
  return doc;
}

TEST_F(HparamTest, SqliteErrorsNameTheDatabaseFile) {
  const fs::path out = dir_ / "out";
  fs::create_directories(out);
  std::ofstream(out / "sweep.db") << "this is not an SQLite database, but it is long enough "
                                     "to have a header of one hundred bytes ......................";
  const RunResult status = shell(kSweep.string() + " status " + out.string());
  EXPECT_EQ(status.exit_code, 2) << status.output;
  EXPECT_NE(status.output.find((out / "sweep.db").string() + ": sqlite"), std::string::npos)
      << status.output;
  EXPECT_EQ(std::count(status.output.begin(), status.output.end(), '\n'), 1) << status.output;
  const RunResult run = shell(sweep_command(write_sweep(small_sweep()), out));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find((out / "sweep.db").string() + ": sqlite"), std::string::npos)
      << run.output;
}

// SQLite's own count of the bytes it has allocated and not freed.
sqlite3_int64 sqlite_bytes_in_use() {
  sqlite3_int64 current = 0, highwater = 0;
  sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &current, &highwater, 0);
  return current;
}

// A store that is not a database throws from TrialStore's constructor, where
// no destructor runs: the connection it had opened leaked (~100 kB each time,
// found by LeakSanitizer in scripts/sanitize) until the constructor closed it.
TEST_F(HparamTest, AStoreThatFailsToOpenClosesItsConnection) {
  const fs::path db = dir_ / "sweep.db";
  std::ofstream(db) << "this is not an SQLite database, but it is long enough "
                       "to have a header of one hundred bytes ......................";
  for (const bool read_only : {true, false}) {
    EXPECT_THROW((TrialStore(db, read_only)), InputError);  // SQLite's one-time setup
    const sqlite3_int64 before = sqlite_bytes_in_use();
    for (int i = 0; i < 3; ++i) EXPECT_THROW((TrialStore(db, read_only)), InputError);
    EXPECT_EQ(sqlite_bytes_in_use(), before) << "read_only " << read_only;
  }
}

TEST_F(HparamTest, RetryFailedRunsTheLatestStagesFailedTrialsAgain) {
  const fs::path out = dir_ / "out", sweep = write_sweep(one_stage_sweep("[0.3, 2]"));
  const std::string broken = "FAKE_TRIAL_EPOCH_S=0 FAKE_TRIAL_FAULT='badinput:train.epochs>0'";
  ASSERT_EQ(shell(sweep_command(sweep, out, "", broken)).exit_code, 1);
  // Without the flag the failed trials stay failed, as before.
  EXPECT_EQ(shell(sweep_command(sweep, out, "", "FAKE_TRIAL_EPOCH_S=0")).exit_code, 1);
  const RunResult again =
      shell(sweep_command(sweep, out, "--retry-failed", "FAKE_TRIAL_EPOCH_S=0"));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("--retry-failed: 2 failed trial(s) of stage only to run again"),
            std::string::npos)
      << again.output;
  for (const TrialRecord& t : TrialStore(out / "sweep.db", true).trials()) {
    EXPECT_EQ(t.status, Status::done) << t.id;
    EXPECT_EQ(t.attempts, 1) << t.id;
    EXPECT_TRUE(t.reason.empty()) << t.reason;
  }
  EXPECT_TRUE(fs::exists(out / "best-spec.json"));
}

TEST(Space, LogRangeOverMoreThan308DecadesStaysFinite) {
  Param p;
  p.key = "optimizer.weight_decay";
  p.kind = Param::Kind::log;
  p.min = 1e-300;
  p.max = 1e300;
  EXPECT_NEAR(p.from_unit(0.5).get<double>(), 1, 1e-3);
  EXPECT_DOUBLE_EQ(p.from_unit(0).get<double>(), 1e-300);
  EXPECT_DOUBLE_EQ(p.from_unit(1).get<double>(), 1e300);
  EXPECT_NEAR(p.to_unit(json(1.0)), 0.5, 1e-12);
  EXPECT_NEAR(p.to_unit(json(1e150)), 0.75, 1e-12);
  Param wide;
  wide.min = -1e308;
  wide.max = 1e308;
  EXPECT_NEAR(wide.to_unit(json(0.0)), 0.5, 1e-12);
  EXPECT_EQ(wide.from_unit(0.5).get<double>(), 0);
  EXPECT_TRUE(std::isfinite(wide.from_unit(0.9).get<double>()));
}

TEST_F(HparamTest, TrialsDoNotInheritTheSweepDirectoryLock) {
  json doc = one_stage_sweep("[0.3]");
  const fs::path fds = dir_ / "fds.txt";
  // The launcher lists the trial's open files, then becomes the trial.
  doc["trial"]["launcher"] = {"/bin/sh", "-c",
                              "ls -l /proc/$$/fd > " + fds.string() + "; exec \"$@\"", "sh"};
  const RunResult r =
      shell(sweep_command(write_sweep(doc), dir_ / "out", "", "FAKE_TRIAL_EPOCH_S=0"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string open_files = read_text(fds);
  ASSERT_NE(open_files.find("stdout.log"), std::string::npos) << open_files;
  EXPECT_EQ(open_files.find(".lock"), std::string::npos) << open_files;
  EXPECT_EQ(open_files.find("sweep.db"), std::string::npos) << open_files;
}

}  // namespace
}  // namespace lb::hparam::test
