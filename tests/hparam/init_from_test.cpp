// Progressive initialization in sweeps (a stage's "init_from"): each trial of
// the stage gets --set train.init_from=DIR/trials/ID of its source trial,
// the store records the source, status, CSV and report show it, and a
// warm-started final run is never replaced by an earlier run of the same
// configuration. Through hparam-sweep with the fake trial program.
#include <gtest/gtest.h>

#include <map>

#include "hparam/runner.hpp"
#include "hparam/store.hpp"
#include "hparam/strategy.hpp"
#include "hparam/sweep_file.hpp"
#include "hparam_fixture.hpp"

namespace lb::hparam::test {
namespace {

// Coarse grid (no halving) -> fine Halton boxes around the top 2 -> final top 2.
json chained_sweep(const std::string& fine_from, const std::string& final_from) {
  json sweep = small_sweep();
  sweep["stages"][0].erase("halving");
  sweep["stages"][1]["init_from"] = fine_from;
  sweep["stages"][2]["init_from"] = final_from;
  return sweep;
}

std::string trial_dir(const fs::path& out, std::int64_t id) {
  return (out / "trials" / std::to_string(id)).string();
}

// The source of every trial of `stage` by trial id; each trial's command and
// summary must name that source's directory.
std::map<std::int64_t, std::int64_t> sources(const TrialStore& store, const fs::path& out,
                                             int stage) {
  std::map<std::int64_t, std::int64_t> by_trial;
  for (const TrialRecord& t : store.trials(stage)) {
    by_trial[t.id] = t.source_trial;
    EXPECT_EQ(t.status, Status::done) << t.id << " " << t.reason;
    const json summary =
        json::parse(read_text(out / "trials" / std::to_string(t.id) / "summary.json"));
    if (t.source_trial == 0) {
      EXPECT_EQ(t.command.find("train.init_from"), std::string::npos) << t.command;
      EXPECT_TRUE(summary.at("init_from").is_null()) << t.id;
      continue;
    }
    EXPECT_NE(t.command.find("train.init_from=" + trial_dir(out, t.source_trial)),
              std::string::npos)
        << t.command;
    EXPECT_EQ(summary.at("init_from").at("path"), trial_dir(out, t.source_trial)) << t.id;
  }
  return by_trial;
}

TEST_F(HparamTest, BestOfPreviousStageStartsEveryTrialFromTheBestTrial) {
  const fs::path out = dir_ / "out";
  const RunResult r =
      shell(sweep_command(write_sweep(chained_sweep("best_of_previous_stage", "none")), out,
                          "--workers 2", "FAKE_TRIAL_EPOCH_S=0"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  TrialStore store(out / "sweep.db", true);
  const auto coarse_best = rank_trials(store.trials(0), Goal::maximize).front();
  for (const auto& [id, source] : sources(store, out, 0)) EXPECT_EQ(source, 0) << id;
  const auto fine = sources(store, out, 1);
  ASSERT_GT(fine.size(), 2u);
  for (const auto& [id, source] : fine) EXPECT_EQ(source, coarse_best.id) << id;
  for (const auto& [id, source] : sources(store, out, 2)) EXPECT_EQ(source, 0) << id;
  EXPECT_NE(r.output.find("from trial " + std::to_string(coarse_best.id) + "'s weights"),
            std::string::npos)
      << r.output;
}

// "parent": each fine trial starts from the coarse trial whose box it was
// drawn in (the centre's own rerun included), each final trial from the
// fine trial it takes; a warm-started final run is trained, not carried.
TEST_F(HparamTest, ParentStartsEachTrialFromTheTrialItWasDerivedFrom) {
  const fs::path out = dir_ / "out";
  json sweep = chained_sweep("parent", "parent");
  sweep["stages"][1]["fidelity"] = json::object();  // full fidelity: the final could carry it
  const fs::path file = write_sweep(sweep);
  const RunResult r = shell(sweep_command(file, out, "--workers 2", "FAKE_TRIAL_EPOCH_S=0"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  TrialStore store(out / "sweep.db", true);
  const auto coarse = rank_trials(store.trials(0), Goal::maximize);
  const auto fine = rank_trials(store.trials(1), Goal::maximize);
  // The expected parents, from the strategy the runner uses.
  const SweepConfig config = parse_sweep_file(file);
  std::vector<Params> coarse_params;
  for (const TrialRecord& t : coarse) coarse_params.push_back(t.params);
  std::vector<std::size_t> parents;
  const auto configs = stage_configurations(config, 1, coarse_params, &parents);
  const auto fine_sources = sources(store, out, 1);
  ASSERT_EQ(fine_sources.size(), configs.size());
  std::set<std::int64_t> used;
  for (const TrialRecord& t : store.trials(1)) {
    EXPECT_EQ(t.params, configs.at(std::size_t(t.index))) << t.id;
    EXPECT_EQ(t.source_trial, coarse.at(parents.at(std::size_t(t.index))).id) << t.id;
    used.insert(t.source_trial);
  }
  EXPECT_EQ(used.size(), 2u);  // top_k 2: two centres, two parents
  for (const TrialRecord& t : store.trials(2)) {
    EXPECT_EQ(t.source_trial, fine.at(std::size_t(t.index)).id) << t.id;
    EXPECT_EQ(t.params, fine.at(std::size_t(t.index)).params);
    EXPECT_FALSE(t.carried()) << t.reason;
  }
  sources(store, out, 2);

  const RunResult status = shell(kSweep.string() + " status " + out.string());
  EXPECT_NE(status.output.find("(from trial " + std::to_string(fine.front().id) + ")"),
            std::string::npos)
      << status.output;
  const RunResult csv = shell(kSweep.string() + " export " + out.string() + " --csv");
  EXPECT_NE(csv.output.find(",finished_at,source_trial,"), std::string::npos) << csv.output;
  const RunResult report = shell(kSweep.string() + " report " + out.string());
  EXPECT_EQ(report.exit_code, 0) << report.output;
  EXPECT_NE(read_text(out / "report" / "report.md").find("| from trial |"), std::string::npos);
}

TEST_F(HparamTest, InitFromIsRefusedOnTheFirstStageAndAsAnUnknownValue) {
  json first = small_sweep();
  first["stages"][0]["init_from"] = "parent";
  RunResult r = shell(sweep_command(write_sweep(first, "first.json"), dir_ / "a"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(
      r.output.find("stages[0].init_from: the first stage has no earlier stage to start from"),
      std::string::npos)
      << r.output;
  json unknown = small_sweep();
  unknown["stages"][1]["init_from"] = "grandparent";
  r = shell(sweep_command(write_sweep(unknown, "unknown.json"), dir_ / "b"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("stages[1].init_from"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "a"));
  EXPECT_FALSE(fs::exists(dir_ / "b"));
}

}  // namespace
}  // namespace lb::hparam::test
