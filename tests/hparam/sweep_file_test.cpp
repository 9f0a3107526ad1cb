// Every way a sweep file can be wrong gives one line naming the JSON path,
// exit 2 from the CLI, and no sweep directory.
#include "hparam/sweep_file.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "hparam/store.hpp"
#include "hparam_fixture.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/spec.hpp"

namespace lb::hparam::test {
namespace {

struct BadCase {
  const char* name;
  std::function<void(json&)> edit;
  const char* expected;  // a substring of the message
};

// ctest lists the case by its name instead of the struct's bytes.
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

const BadCase kBadCases[] = {
    {"unknown top-level key", [](json& d) { d["stagez"] = 1; }, ": stagez: unknown key"},
    {"missing base", [](json& d) { d.erase("base"); }, ": base: missing"},
    {"base of the wrong type", [](json& d) { d["base"] = 3; },
     ": base: expected a spec file path or a spec object"},
    {"base file missing", [](json& d) { d["base"] = "nowhere.json"; }, "nowhere.json: cannot open"},
    {"base spec invalid", [](json& d) { d["base"]["train"]["epoch"] = 3; },
     "base: gives an invalid spec: train.epoch: unknown key"},
    {"bad objective", [](json& d) { d["objective"] = "accuracy"; }, ": objective: expected one of"},
    {"test objective not allowed", [](json& d) { d["allow_test_objective"] = false; },
     R"(: objective: "test_accuracy" chooses configurations by the test set)"},
    {"test loss not allowed",
     [](json& d) {
       d["objective"] = "test_loss";
       d.erase("allow_test_objective");
     },
     R"(: objective: "test_loss" chooses configurations by the test set)"},
    {"validation objective without a split",
     [](json& d) {
       d.erase("objective");
       d.erase("allow_test_objective");
     },
     ": objective: validation_accuracy needs a validation split: set data.validation_images > 0 "
     "in the base spec"},
    {"unknown launcher", [](json& d) { d["launcher"] = "pbs"; }, ": launcher: expected one of"},
    {"slurm unknown key", [](json& d) { d["slurm"]["queue"] = "gpu"; },
     ": slurm.queue: unknown key"},
    {"slurm zero ranks", [](json& d) { d["slurm"]["ranks"] = 0; },
     ": slurm.ranks: expected an integer in [1, 65536]"},
    {"slurm sbatch line with a newline",
     [](json& d) { d["slurm"]["sbatch"] = {"--qos=a\n#SBATCH --qos=b"}; },
     ": slurm.sbatch[0]: one #SBATCH line each"},
    {"slurm srun not strings", [](json& d) { d["slurm"]["srun"] = "--mpi=pmix"; },
     ": slurm.srun: expected an array of strings"},
    {"trial launcher under slurm",
     [](json& d) {
       d["launcher"] = "slurm";
       d["trial"]["launcher"] = {"mpirun", "-np", "2"};
     },
     ": trial.launcher: not used with \"launcher\": \"slurm\""},
    {"negative target gpus", [](json& d) { d["target"]["gpus"] = -1; },
     ": target.gpus: expected an integer"},
    {"unknown target key", [](json& d) { d["target"]["nodes"] = 2; },
     ": target.nodes: unknown key"},
    {"bad timeout", [](json& d) { d["trial"]["timeout_s"] = 0; },
     ": trial.timeout_s: expected a number > 0"},
    {"launcher not strings",
     [](json& d) {
       d["trial"]["launcher"] = {"mpirun", 2};
     },
     ": trial.launcher[1]: expected a string"},
    {"missing space", [](json& d) { d.erase("space"); },
     ": space: expected an object with at least one spec key"},
    {"empty space", [](json& d) { d["space"] = json::object(); }, ": space: expected an object"},
    {"space key not in the spec",
     [](json& d) {
       d["space"]["optimizer.lr.bse"] = {{"min", 1}, {"max", 2}};
     },
     ": space.optimizer.lr.bse: gives an invalid spec: optimizer.lr.bse: unknown key"},
    {"log range from 0", [](json& d) { d["space"]["optimizer.lr.base"]["min"] = 0; },
     ": space.optimizer.lr.base.min: expected a number > 0"},
    {"max below min", [](json& d) { d["space"]["optimizer.lr.base"]["max"] = 0.01; },
     ": space.optimizer.lr.base.max: expected a number >= 0.03"},
    {"missing max", [](json& d) { d["space"]["optimizer.lr.base"].erase("max"); },
     ": space.optimizer.lr.base.max: missing"},
    {"bad scale", [](json& d) { d["space"]["optimizer.lr.base"]["scale"] = "exp"; },
     ": space.optimizer.lr.base.scale: expected one of"},
    {"range outside the spec's range",
     [](json& d) {
       d["space"]["optimizer.lars.eta"] = {{"min", 0}, {"max", 0.1}};
     },
     ": space.optimizer.lars.eta: gives an invalid spec: optimizer.lars.eta: expected a number > "
     "0"},
    {"range over a string key",
     [](json& d) {
       d["space"]["optimizer.name"] = {{"min", 0}, {"max", 1}};
     },
     ": space.optimizer.name: a range needs a numeric spec key"},
    {"empty choices",
     [](json& d) {
       d["space"]["optimizer.name"] = {{"choices", json::array()}};
     },
     ": space.optimizer.name.choices: expected a non-empty array"},
    {"choices with a scale",
     [](json& d) {
       d["space"]["optimizer.name"] = {{"choices", {"sgd"}}, {"scale", "log"}};
     },
     ": space.optimizer.name.scale: unknown key"},
    {"invalid choice",
     [](json& d) {
       d["space"]["optimizer.name"] = {{"choices", {"sgd", "adam"}}};
     },
     ": space.optimizer.name: gives an invalid spec: optimizer.name: expected one of"},
    {"missing stages", [](json& d) { d.erase("stages"); }, ": stages: expected a non-empty array"},
    {"empty stages", [](json& d) { d["stages"] = json::array(); },
     ": stages: expected a non-empty array"},
    {"stage without a name", [](json& d) { d["stages"][1].erase("name"); },
     ": stages[1].name: missing"},
    {"duplicate stage name", [](json& d) { d["stages"][1]["name"] = "coarse"; },
     ": stages[1].name: duplicate stage name"},
    {"first stage final",
     [](json& d) {
       d["stages"][0] = {{"name", "x"}, {"final", true}};
     },
     ": stages[0].final: the first stage cannot be final"},
    {"stage after the final",
     [](json& d) {
       d["stages"].push_back({{"name", "late"}});
     },
     ": stages[3]: no stage may follow the final stage"},
    {"top_k in the first stage", [](json& d) { d["stages"][0]["top_k"] = 2; },
     ": stages[0].top_k: unknown key"},
    {"sampler in the final stage", [](json& d) { d["stages"][2]["sampler"] = "grid"; },
     ": stages[2].sampler: unknown key"},
    {"bad sampler", [](json& d) { d["stages"][0]["sampler"] = "sobol"; },
     ": stages[0].sampler: expected one of"},
    {"zero points", [](json& d) { d["stages"][0]["points"] = 0; },
     ": stages[0].points: expected an integer in [1, 10000]"},
    {"zero top_k", [](json& d) { d["stages"][1]["top_k"] = 0; },
     ": stages[1].top_k: expected an integer in [1, 1000]"},
    {"narrow 0", [](json& d) { d["stages"][1]["narrow"] = 0; },
     ": stages[1].narrow: expected a number in (0, 1]"},
    {"fidelity not an object", [](json& d) { d["stages"][0]["fidelity"] = 3; },
     ": stages[0].fidelity: expected an object"},
    {"fidelity unknown key", [](json& d) { d["stages"][0]["fidelity"]["train.epoch"] = 1; },
     ": stages[0].fidelity: gives an invalid spec: train.epoch: unknown key"},
    {"fidelity bad value", [](json& d) { d["stages"][0]["fidelity"]["train.precision"] = "fp8"; },
     ": stages[0].fidelity: gives an invalid spec: train.precision: expected one of"},
    {"rerun_identical outside the final stage",
     [](json& d) { d["stages"][0]["rerun_identical"] = true; },
     ": stages[0].rerun_identical: unknown key"},
    {"rerun_identical not a boolean",
     [](json& d) { d["stages"].back()["rerun_identical"] = "yes"; },
     ": stages[2].rerun_identical: expected"},
    {"halving eta 1", [](json& d) { d["stages"][0]["halving"]["eta"] = 1; },
     ": stages[0].halving.eta: expected a number > 1"},
    {"halving first rung at the budget",
     [](json& d) { d["stages"][0]["halving"]["min_epochs"] = 3; },
     ": stages[0].halving.min_epochs: expected a number in (0, 3)"},
    {"halving unknown mode", [](json& d) { d["stages"][0]["halving"]["mode"] = "eager"; },
     R"(: stages[0].halving.mode: expected one of "sync", "async", got "eager")"},
    {"halving unknown key", [](json& d) { d["stages"][0]["halving"]["factor"] = 2; },
     ": stages[0].halving.factor: unknown key"},
    {"halving in the final stage", [](json& d) { d["stages"][2]["halving"] = json::object(); },
     ": stages[2].halving: not allowed in the final stage"},
};

class BadSweepFile : public HparamTest, public ::testing::WithParamInterface<BadCase> {};

TEST_P(BadSweepFile, NamesThePathAndWritesNothing) {
  json doc = small_sweep();
  GetParam().edit(doc);
  const fs::path file = write_sweep(doc);
  try {
    parse_sweep_file(file);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("sweep error: " + file.string()), std::string::npos) << message;
    EXPECT_NE(message.find(GetParam().expected), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, BadSweepFile, ::testing::ValuesIn(kBadCases),
                         [](const ::testing::TestParamInfo<BadCase>& info) {
                           std::string name = info.param.name;
                           for (char& c : name)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

TEST_F(HparamTest, GoodFilesParse) {
  EXPECT_NO_THROW(parse_sweep_file(write_sweep(small_sweep())));
  const SweepConfig example =
      parse_sweep_file(fs::path(LB_SOURCE_DIR) / "experiments/sweeps/fmnist-lars-8192.json");
  EXPECT_EQ(example.space.size(), 4u);
  EXPECT_EQ(example.target_gpus, 1024);
  ASSERT_EQ(example.stages.size(), 3u);
  EXPECT_TRUE(example.stages[2].final);
  EXPECT_DOUBLE_EQ(example.stages[0].halving->eta, 3);
}

// The default objective is the validation split's accuracy. Needs
// data.validation_images (issue 19) in the spec parser this tree builds.
TEST_F(HparamTest, ValidationAccuracyIsTheDefaultObjective) {
  json base = small_sweep()["base"];
  base["data"]["validation_images"] = 1000;
  try {
    parse_spec(base);
  } catch (const SpecError& e) {
    GTEST_SKIP() << "SKIPPED: this build's spec has no data.validation_images: " << e.what();
  }
  json doc = small_sweep();
  doc.erase("objective");
  doc.erase("allow_test_objective");
  doc["base"] = base;
  const SweepConfig sweep = parse_sweep_file(write_sweep(doc));
  EXPECT_EQ(sweep.objective, "validation_accuracy");
  EXPECT_EQ(sweep.goal(), Goal::maximize);
  // The fake's validation optimum is lr.base 0.25, its test optimum 0.3:
  // the sweep must choose 0.25, and still report the test accuracy.
  json run = doc;
  run["space"] = json::parse(R"({"optimizer.lr.base": {"choices": [0.3, 0.25]}})");
  run["stages"] = json::parse(R"([{"name": "only", "sampler": "grid"},
                                  {"name": "final", "final": true, "top_k": 1}])");
  const fs::path out = dir_ / "out";
  const RunResult r =
      shell(sweep_command(write_sweep(run, "run.json"), out, "", "FAKE_TRIAL_EPOCH_S=0"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("objective validation_accuracy"), std::string::npos) << r.output;
  EXPECT_EQ(parse_spec(json::parse(read_text(out / "best-spec.json"))).optimizer.lr.base, 0.25);
  for (const TrialRecord& t : TrialStore(out / "sweep.db", true).trials()) {
    ASSERT_TRUE(t.objective && t.test_accuracy) << t.id;
    if (t.params["optimizer.lr.base"] == 0.25) {  // at 0.3 the fake's two accuracies coincide
      EXPECT_GT(*t.objective, *t.test_accuracy) << "the objective is the validation accuracy";
    }
  }
  doc["objective"] = "validation_loss";
  EXPECT_EQ(parse_sweep_file(write_sweep(doc)).goal(), Goal::minimize);
  doc["stages"][0]["fidelity"]["data.validation_images"] = 0;
  try {
    parse_sweep_file(write_sweep(doc));
    FAIL() << "a stage without a validation split was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  ": stages[0].fidelity: validation_loss needs a validation split"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(HparamTest, AllowedTestObjectiveIsChosenKnowinglyAndWarned) {
  const SweepConfig sweep = parse_sweep_file(write_sweep(small_sweep()));
  EXPECT_EQ(sweep.objective, "test_accuracy");
  EXPECT_TRUE(sweep.allow_test_objective);
  EXPECT_TRUE(is_test_objective("test_loss"));
  EXPECT_FALSE(is_test_objective("validation_accuracy"));
  json doc = small_sweep();
  doc["stages"] = json::parse(R"([{"name": "only", "sampler": "grid", "points": 1}])");
  const RunResult r =
      shell(sweep_command(write_sweep(doc), dir_ / "out", "", "FAKE_TRIAL_EPOCH_S=0"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(
      r.output.find("warning: the objective test_accuracy chooses configurations by the test set"),
      std::string::npos)
      << r.output;
}

// The test accuracy is reported beside the objective everywhere, and log-scale
// parameters are plotted on log axes.
TEST_F(HparamTest, ReportsShowTestAccuracyAndPlotLogParamsOnLogAxes) {
  json doc = small_sweep();
  doc["space"]["optimizer.weight_decay"] = {{"min", 0.0001}, {"max", 0.0002}};
  doc["stages"] = json::parse(R"([{"name": "only", "sampler": "grid", "points": 2}])");
  const fs::path out = dir_ / "out";
  ASSERT_EQ(shell(sweep_command(write_sweep(doc), out, "", "FAKE_TRIAL_EPOCH_S=0")).exit_code, 0);
  const RunResult status = shell(kSweep.string() + " status " + out.string());
  EXPECT_NE(status.output.find(" objective  test_acc "), std::string::npos) << status.output;
  const RunResult csv = shell(kSweep.string() + " export " + out.string() + " --csv");
  EXPECT_EQ(csv.output.rfind("id,stage,stage_name,status,objective,test_accuracy,", 0), 0u)
      << csv.output;
  const RunResult report = shell(kSweep.string() + " report " + out.string());
  ASSERT_EQ(report.exit_code, 0) << report.output << read_text(out / "report" / "plot.log");
  EXPECT_NE(read_text(out / "report" / "plot.stdout.log")
                .find("log axes: optimizer.lars.eta, optimizer.lr.base\n"),
            std::string::npos)
      << read_text(out / "report" / "plot.stdout.log");
  EXPECT_NE(read_text(out / "report" / "report.md").find("| test_accuracy |"), std::string::npos);
}

TEST_F(HparamTest, BaseSpecPathIsRelativeToTheSweepFile) {
  fs::create_directories(dir_ / "specs");
  std::ofstream(dir_ / "specs" / "base.json") << small_sweep()["base"].dump();
  json doc = small_sweep();
  doc["base"] = "specs/base.json";
  const SweepConfig sweep = parse_sweep_file(write_sweep(doc));
  EXPECT_EQ(sweep.base, small_sweep()["base"]);
}

TEST_F(HparamTest, CliRejectsABadSweepWithExit2AndNoDirectory) {
  json doc = small_sweep();
  doc["stages"][0]["halving"]["eta"] = 0.5;
  const fs::path out = dir_ / "out";
  const RunResult r = shell(sweep_command(write_sweep(doc), out));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(r.output, "sweep error: " + (dir_ / "sweep.json").string() +
                          ": stages[0].halving.eta: expected a number > 1, got 0.5\n");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(HparamTest, CliUsageErrorsExit2) {
  EXPECT_EQ(shell(kSweep.string() + " " + write_sweep(small_sweep()).string()).exit_code,
            2);  // no --out
  EXPECT_EQ(shell(kSweep.string() + " --workers 0 x").exit_code, 2);
  EXPECT_EQ(shell(kSweep.string() + " status " + dir_.string()).exit_code, 2);  // not a sweep dir
  const RunResult help = shell(kSweep.string() + " --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("status"), std::string::npos);
}

}  // namespace
}  // namespace lb::hparam::test
