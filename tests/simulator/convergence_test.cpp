// Convergence models: the S(B) = S_min (1 + B_crit / B) fit recovers known
// parameters, run directories become a model (best of their learning rates per
// batch, or the noise-scale shortcut), and bad convergence files are refused
// with one line naming the file and the JSON path.
#include "simulator/convergence.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "runtime/core/errors.hpp"
#include "simulator/convergence_fit.hpp"

namespace lb::sim {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::vector<ConvergencePoint> exact_points(double s_min, double b_crit,
                                           const std::vector<double>& batches) {
  std::vector<ConvergencePoint> points;
  for (double b : batches) points.push_back({b, s_min * (1 + b_crit / b), std::nullopt, ""});
  return points;
}

TEST(FitStepsToTarget, RecoversKnownParametersFromExactPoints) {
  const StepsFit fit = fit_steps_to_target(exact_points(400, 900, {64, 256, 1024, 4096, 16384}));
  EXPECT_NEAR(fit.s_min, 400, 400 * 1e-6);
  EXPECT_NEAR(fit.b_crit, 900, 900 * 1e-6);
  EXPECT_LT(fit.rms_log_residual, 1e-8);
  EXPECT_EQ(fit.bound, StepsFit::Bound::none);
  ASSERT_EQ(fit.fitted_steps.size(), 5u);
  EXPECT_NEAR(fit.fitted_steps[0], 400 * (1 + 900.0 / 64), 1e-3);
}

TEST(FitStepsToTarget, RecoversThemWithinNoiseFromNoisyPoints) {
  std::mt19937 rng(21);  // seeded: the same noise every run
  std::normal_distribution<double> noise(0, 0.05);
  std::vector<ConvergencePoint> points =
      exact_points(1000, 3000, {128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536});
  for (auto& p : points) p.steps *= std::exp(noise(rng));
  const StepsFit fit = fit_steps_to_target(points);
  EXPECT_NEAR(fit.s_min, 1000, 100);
  EXPECT_NEAR(fit.b_crit, 3000, 300);
  EXPECT_NEAR(fit.rms_log_residual, 0.05, 0.03);
}

TEST(FitStepsToTarget, TwoBatchesAreAnExactFit) {
  const StepsFit fit = fit_steps_to_target(exact_points(1006, 49054.28, {32768, 65536}));
  EXPECT_NEAR(fit.s_min, 1006, 1e-3);
  EXPECT_NEAR(fit.b_crit, 49054.28, 0.1);
}

TEST(FitStepsToTarget, SaysWhenThePointsShowNoKnee) {
  const auto flat =
      fit_steps_to_target({{256, 500, {}, ""}, {1024, 500, {}, ""}, {4096, 500, {}, ""}});
  EXPECT_EQ(flat.bound, StepsFit::Bound::lower);  // no gain from larger batches
  EXPECT_NEAR(flat.s_min, 500, 1);
  const auto perfect = fit_steps_to_target(exact_points(1, 1e12, {256, 1024, 4096}));
  EXPECT_EQ(perfect.bound, StepsFit::Bound::upper);  // steps ~ 1/B: B_crit only bounded below
}

TEST(FitStepsToTarget, NeedsTwoDistinctBatches) {
  EXPECT_THROW(fit_steps_to_target(exact_points(1, 2, {256})), InputError);
  EXPECT_THROW(fit_steps_to_target({{256, 10, {}, ""}, {256, 12, {}, ""}}), InputError);
}

// ---- convergence files ---------------------------------------------------------

json good_file() {
  return {{"format", "largebatch-convergence"},
          {"version", 1},
          {"target", {{"validation_accuracy", 0.9}}},
          {"s_min", 400},
          {"b_crit", 900},
          {"batch_range", {256, 16384}},
          {"optimizer", "lars"},
          {"precision", "fp16"},
          {"model", "lenet_bn"},
          {"source", "a test"}};
}

TEST(ConvergenceFile, ParsesAndRoundTrips) {
  const ConvergenceModel m = parse_convergence(good_file());
  EXPECT_EQ(m.target.metric, "validation_accuracy");
  EXPECT_DOUBLE_EQ(m.target.value, 0.9);
  EXPECT_DOUBLE_EQ(m.steps(900), 800);  // S(B_crit) = 2 S_min
  EXPECT_DOUBLE_EQ(m.e_min(), 360000);
  EXPECT_TRUE(m.extrapolated(128));
  EXPECT_FALSE(m.extrapolated(256));
  EXPECT_FALSE(m.extrapolated(16384));
  EXPECT_TRUE(m.extrapolated(16385));
  EXPECT_EQ(m.method, "manual");
  const ConvergenceModel again = parse_convergence(to_json(m));  // writes e_min too
  EXPECT_DOUBLE_EQ(again.s_min, 400);
  EXPECT_DOUBLE_EQ(again.b_crit, 900);
}

TEST(ConvergenceFile, TakesEMinInsteadOfSMin) {
  json doc = good_file();
  doc.erase("s_min");
  doc["e_min"] = 360000;
  EXPECT_DOUBLE_EQ(parse_convergence(doc).s_min, 400);
}

TEST(ConvergenceFile, TheShippedImageNetFileReproducesItsPoints) {
  const ConvergenceModel m = load_convergence(fs::path(LB_SOURCE_DIR) / "experiments" /
                                              "convergence" / "imagenet-resnet50-lars.json");
  ASSERT_EQ(m.points.size(), 2u);
  const StepsFit fit = fit_steps_to_target(m.points);  // its S_min and B_crit are this fit
  EXPECT_NEAR(m.s_min, fit.s_min, 0.5);
  EXPECT_NEAR(m.b_crit, fit.b_crit, 1);
  for (const auto& p : m.points) EXPECT_NEAR(m.steps(p.batch), p.steps, 0.5) << p.batch;
}

struct BadFile {
  std::function<void(json&)> edit;
  std::string mentions;
};

TEST(ConvergenceFile, BadFilesAreOneLineNamingFileAndPath) {
  const fs::path file = fs::temp_directory_path() / "lb_convergence_bad.json";
  const std::vector<BadFile> cases = {
      {[](json& d) { d["format"] = "largebatch-profile"; },
       "format: expected \"largebatch-convergence\""},
      {[](json& d) { d["version"] = 2; }, "version"},
      {[](json& d) { d.erase("target"); }, "target: missing"},
      {[](json& d) { d["target"] = json::object(); }, "target: expected one metric"},
      {[](json& d) {
         d["target"] = {{"validation_accuracy", 1.5}};
       },
       "target.validation_accuracy"},
      {[](json& d) {
         d["target"] = {{"top5", 0.9}};
       },
       "target.top5: unknown key"},
      {[](json& d) { d.erase("s_min"); }, "s_min: missing"},
      {[](json& d) { d["s_min"] = -3; }, "s_min: expected a number > 0"},
      {[](json& d) { d["b_crit"] = 0; }, "b_crit"},
      {[](json& d) { d["e_min"] = 1; }, "e_min: expected s_min × b_crit"},
      {[](json& d) {
         d["batch_range"] = {4096, 256};
       },
       "batch_range[1]"},
      {[](json& d) { d["batch_range"] = {256}; }, "batch_range: expected [smallest, largest]"},
      {[](json& d) { d["optimizer"] = "adam"; }, "optimizer"},
      {[](json& d) { d.erase("source"); }, "source: missing"},
      {[](json& d) { d["colour"] = "red"; }, "colour: unknown key"},
      {[](json& d) {
         d["points"] = {{{"batch", 256}}};
       },
       "points[0].steps: missing"},
  };
  for (const BadFile& c : cases) {
    json doc = good_file();
    c.edit(doc);
    std::ofstream(file) << doc.dump();
    try {
      load_convergence(file);
      ADD_FAILURE() << "accepted: " << doc.dump();
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind("convergence error: " + file.string() + ": ", 0), 0u) << what;
      EXPECT_NE(what.find(c.mentions), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
  std::ofstream(file) << "{not json";
  EXPECT_THROW(load_convergence(file), InputError);
  fs::remove(file);
  EXPECT_THROW(load_convergence(file), InputError);  // missing
}

// ---- from run directories --------------------------------------------------------

class RunDirs : public ::testing::Test {
 protected:
  void SetUp() override {
    // One directory per test: ctest runs this fixture's tests side by side.
    root_ = fs::temp_directory_path() /
            ("lb_convergence_runs_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A run directory as lb-train leaves it after train.stop_at.
  fs::path run(const std::string& name, std::int64_t batch, std::optional<std::int64_t> steps,
               const std::string& optimizer = "lars") {
    const fs::path dir = root_ / name;
    fs::create_directories(dir);
    const json summary{
        {"steps", steps.value_or(5000)},
        {"target", {{"metric", "validation_accuracy"}, {"value", 0.9}}},
        {"stopped_at_target", steps.has_value()},
        {"steps_to_target", steps ? json(*steps) : json(nullptr)},
        {"spec",
         {{"model", {{"name", "lenet_bn"}}},
          {"data",
           {{"dataset", "fashion_mnist"}, {"train_subset", 0}, {"validation_images", 5000}}},
          {"train", {{"global_batch", batch}, {"precision", "fp16"}}},
          {"optimizer", {{"name", optimizer}, {"nesterov", false}}}}}};
    std::ofstream(dir / "summary.json") << summary.dump(2);
    return dir;
  }

  fs::path root_;
};

TEST_F(RunDirs, FitTakesTheFewestStepsPerBatch) {
  std::vector<fs::path> dirs;
  for (double b : {256.0, 1024.0, 4096.0}) {
    const auto steps = std::int64_t(std::llround(400 * (1 + 900 / b)));
    dirs.push_back(run("b" + std::to_string(int(b)) + "-best", std::int64_t(b), steps));
    dirs.push_back(run("b" + std::to_string(int(b)) + "-slow", std::int64_t(b), 2 * steps));
  }
  dirs.push_back(run("b16384-capped", 16384, std::nullopt));  // never reached: not a point
  const ConvergenceFit fit = fit_convergence(dirs);
  EXPECT_NEAR(fit.model.s_min, 400, 2);
  EXPECT_NEAR(fit.model.b_crit, 900, 10);
  EXPECT_DOUBLE_EQ(fit.model.batch_min, 256);
  EXPECT_DOUBLE_EQ(fit.model.batch_max, 4096);
  EXPECT_EQ(fit.model.method, "steps_to_target_fit");
  EXPECT_EQ(fit.model.optimizer, "lars");
  EXPECT_EQ(fit.model.precision, "fp16");
  ASSERT_EQ(fit.model.points.size(), 3u);
  EXPECT_NE(fit.model.points[0].label.find("b256-best"), std::string::npos);
  const std::string text = describe(fit);
  EXPECT_NE(text.find("(none reached the target)"), std::string::npos) << text;
  EXPECT_NE(text.find("S_min"), std::string::npos) << text;
}

TEST_F(RunDirs, RunsOfAnotherOptimizerOrWithoutATargetAreRefused) {
  const fs::path a = run("a", 256, 1000), b = run("b", 1024, 500, "sgd");
  try {
    fit_convergence({a, b});
    ADD_FAILURE() << "mixed optimizers accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("optimizer sgd, but"), std::string::npos) << e.what();
  }
  json no_target = json::parse(std::ifstream(a / "summary.json"));
  no_target["target"] = nullptr;
  std::ofstream(a / "summary.json") << no_target.dump();
  EXPECT_THROW(fit_convergence({a, run("c", 1024, 500)}), InputError);
  EXPECT_THROW(fit_convergence({root_ / "missing"}), InputError);
  EXPECT_THROW(fit_convergence({run("d", 256, 1000), run("e", 256, 900)}), InputError);  // 1 batch
}

TEST_F(RunDirs, NoiseScaleShortcutUsesTheLastMeasurementBeforeTheTarget) {
  const fs::path dir = run("noise", 1024, 700);
  std::ofstream metrics(dir / "metrics.jsonl");
  metrics << json{{"type", "noise_scale"}, {"step", 100}, {"b_simple", 300.0}}.dump() << "\n"
          << json{{"type", "eval"}, {"step", 200}, {"validation_accuracy", 0.8}}.dump() << "\n"
          << json{{"type", "noise_scale"}, {"step", 690}, {"b_simple", 1024.0}}.dump() << "\n"
          << json{{"type", "noise_scale"}, {"step", 900}, {"b_simple", 5000.0}}.dump() << "\n"
          << "{\"type\": \"noise_sc";  // cut short by a kill
  metrics.close();
  const ConvergenceFit fit = convergence_from_noise_scale(dir);
  EXPECT_DOUBLE_EQ(fit.model.b_crit, 1024);
  EXPECT_DOUBLE_EQ(fit.model.s_min, 350);  // 700 / (1 + 1024 / 1024)
  EXPECT_EQ(fit.model.method, "noise_scale");
  EXPECT_DOUBLE_EQ(fit.model.batch_min, 1024);
  EXPECT_DOUBLE_EQ(fit.model.batch_max, 1024);
  EXPECT_FALSE(fit.warnings.empty());

  const fs::path capped = run("capped", 1024, std::nullopt);
  std::ofstream(capped / "metrics.jsonl") << "";
  EXPECT_THROW(convergence_from_noise_scale(capped), InputError);
  const fs::path silent = run("silent", 1024, 700);
  std::ofstream(silent / "metrics.jsonl") << "";
  EXPECT_THROW(convergence_from_noise_scale(silent), InputError);
}

}  // namespace
}  // namespace lb::sim
