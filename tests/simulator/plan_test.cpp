// simulate-scaling plan: which (GPUs, batch) pairs it keeps (the GPU count
// divides the batch, the memory seam says it fits), the arithmetic of a row,
// the order, the Pareto front and the recommendation. The step time is a
// stand-in here (no SimGrid), so every figure is known in closed form.
#include "simulator/plan.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "runtime/core/errors.hpp"

namespace lb::sim {
namespace {

Scenario lenet() {
  Scenario s;
  s.spec.name = "plan-test";
  s.spec.model.name = "lenet_bn";
  s.spec.optimizer.name = OptimizerKind::lars;
  s.spec.train.precision = Precision::fp16;
  s.spec.train.global_batch = 256;
  s.model = model_info(s.spec);  // fashion_mnist: 60,000 training images
  s.compute.source = "stand-in";
  return s;
}

ConvergenceModel model(double batch_min = 64, double batch_max = 4096) {
  ConvergenceModel m;
  m.target = {"validation_accuracy", 0.9};
  m.s_min = 400;
  m.b_crit = 900;
  m.batch_min = batch_min;
  m.batch_max = batch_max;
  m.optimizer = "lars";
  m.precision = "fp16";
  m.model = "lenet_bn";
  m.source = "test";
  return m;
}

// 1 ms per image on a GPU plus 10 ms per doubling of the GPU count.
double step_s(double per_gpu_batch, int gpus) {
  return 0.001 * per_gpu_batch + 0.01 * std::log2(gpus);
}

PlanHooks stand_in(int* steps_simulated = nullptr) {
  PlanHooks hooks;
  hooks.step = [steps_simulated](const Scenario& s, int gpus) {
    if (steps_simulated) ++*steps_simulated;
    ScalingRow r;
    r.gpus = gpus;
    r.per_gpu_batch = double(s.spec.train.global_batch) / gpus;
    r.iteration_s = step_s(r.per_gpu_batch, gpus);
    r.images_per_s = s.spec.train.global_batch / r.iteration_s;
    r.efficiency = 0.001 * r.per_gpu_batch / r.iteration_s;
    return r;
  };
  return hooks;
}

TEST(Plan, KeepsOnlyPairsThatDivideAndFit) {
  PlanHooks hooks = stand_in();
  hooks.memory = [](const Scenario& s, int gpus) {
    const bool fits = s.spec.train.global_batch / gpus <= 128;
    return MemoryFit{fits, fits ? "" : "over 128 images per GPU"};
  };
  const Plan plan = make_plan(lenet(), model(), {{1, 3, 4, 8}, {96, 1024}, std::nullopt}, hooks);
  // 96: 1, 3, 4, 8 divide it; 1024: 3 does not, 1 and 4 are over 128 per GPU, 8 fits.
  ASSERT_EQ(plan.rows.size(), 5u);
  ASSERT_EQ(plan.skipped.size(), 3u);
  int not_dividing = 0, not_fitting = 0;
  for (const SkippedPair& p : plan.skipped) {
    EXPECT_EQ(p.global_batch, 1024);
    if (p.reason == "the GPU count does not divide the batch") {
      ++not_dividing;
      EXPECT_EQ(p.gpus, 3);
    }
    if (p.reason == "does not fit in memory: over 128 images per GPU") ++not_fitting;
  }
  EXPECT_EQ(not_dividing, 1);
  EXPECT_EQ(not_fitting, 2);
  for (const PlanRow& r : plan.rows) {
    ASSERT_TRUE(r.fits_memory.has_value());
    EXPECT_TRUE(*r.fits_memory);
    EXPECT_EQ(r.global_batch % r.gpus, 0);
  }
  for (const std::string& w : plan.warnings) EXPECT_EQ(w.find("memory"), std::string::npos) << w;
}

TEST(Plan, RowIsStepsTimesStepTime) {
  const Plan plan = make_plan(lenet(), model(), {{4}, {1000}, 2.5}, stand_in());
  ASSERT_EQ(plan.rows.size(), 1u);
  const PlanRow& r = plan.rows[0];
  EXPECT_EQ(r.steps, 760);  // 400 (1 + 900 / 1000) = 760 exactly: no extra step
  EXPECT_DOUBLE_EQ(r.per_gpu_batch, 250);
  EXPECT_DOUBLE_EQ(r.iteration_s, step_s(250, 4));
  EXPECT_DOUBLE_EQ(r.time_to_accuracy_s, 760 * step_s(250, 4));
  EXPECT_DOUBLE_EQ(r.gpu_hours, 4 * r.time_to_accuracy_s / 3600);
  ASSERT_TRUE(r.cost.has_value());
  EXPECT_DOUBLE_EQ(*r.cost, 2.5 * r.gpu_hours);
  EXPECT_DOUBLE_EQ(r.epochs, 760 * 1000 / 60000.0);
  EXPECT_FALSE(r.extrapolated);
  // A fractional S(B) rounds up to whole steps.
  EXPECT_EQ(make_plan(lenet(), model(), {{1}, {1024}, {}}, stand_in()).rows[0].steps,
            752);  // 751.56
}

TEST(Plan, SortedByTimeWithTheParetoFrontAndThePicks) {
  const Plan plan =
      make_plan(lenet(), model(64, 65536),
                {{1, 2, 4, 8, 16, 32, 64}, {256, 1024, 4096, 16384}, 1.0}, stand_in());
  ASSERT_EQ(plan.rows.size(), 28u);
  for (std::size_t i = 1; i < plan.rows.size(); ++i) {
    EXPECT_LE(plan.rows[i - 1].time_to_accuracy_s, plan.rows[i].time_to_accuracy_s);
  }
  for (const PlanRow& r : plan.rows) {  // on the front iff no row is faster and no dearer
    bool dominated = false;
    for (const PlanRow& o : plan.rows) {
      dominated |= &o != &r && o.time_to_accuracy_s <= r.time_to_accuracy_s &&
                   o.gpu_hours <= r.gpu_hours &&
                   (o.time_to_accuracy_s < r.time_to_accuracy_s || o.gpu_hours < r.gpu_hours);
    }
    EXPECT_EQ(r.pareto, !dominated) << r.gpus << " x " << r.global_batch;
  }
  ASSERT_TRUE(plan.picks.has_value());
  const PlanPicks& p = *plan.picks;
  EXPECT_EQ(p.fastest, 0u);
  for (const PlanRow& r : plan.rows) {
    EXPECT_LE(plan.rows[p.cheapest].gpu_hours, r.gpu_hours);
    if (r.time_to_accuracy_s <= 1.1 * plan.rows[0].time_to_accuracy_s) {
      EXPECT_LE(plan.rows[p.cheapest_near_fastest].gpu_hours, r.gpu_hours);
    }
  }
  EXPECT_LE(plan.rows[p.cheapest_near_fastest].time_to_accuracy_s,
            1.1 * plan.rows[0].time_to_accuracy_s);
  EXPECT_TRUE(plan.rows[p.fastest].pareto);
  EXPECT_TRUE(plan.rows[p.cheapest].pareto);
  EXPECT_FALSE(plan.picks_in_range.has_value());  // nothing extrapolated
}

TEST(Plan, FlagsBatchesOutsideTheMeasuredRangeAndPicksInsideItToo) {
  const Plan plan =
      make_plan(lenet(), model(64, 1024), {{1, 8, 256}, {256, 1024, 16384}, {}}, stand_in());
  for (const PlanRow& r : plan.rows)
    EXPECT_EQ(r.extrapolated, r.global_batch > 1024) << r.global_batch;
  ASSERT_TRUE(plan.picks.has_value());
  EXPECT_TRUE(plan.rows[plan.picks->fastest].extrapolated);  // 16384 on 256 GPUs
  ASSERT_TRUE(plan.picks_in_range.has_value());
  EXPECT_FALSE(plan.rows[plan.picks_in_range->fastest].extrapolated);
  EXPECT_FALSE(plan.rows[plan.picks_in_range->cheapest].extrapolated);
  EXPECT_FALSE(plan.rows[plan.picks->cheapest].cost.has_value());  // no price: cost null
  const std::string text = describe(plan);
  EXPECT_NE(text.find("recommendation: fastest 256 GPUs x batch 16384"), std::string::npos) << text;
  EXPECT_NE(text.find("within the measured batches: fastest"), std::string::npos) << text;
}

TEST(Plan, UnknownMemoryIsNullAndSaidOnce) {
  const Plan plan = make_plan(lenet(), model(), {{1, 2}, {256}, {}}, stand_in());
  for (const PlanRow& r : plan.rows) EXPECT_FALSE(r.fits_memory.has_value());
  int said = 0;
  for (const std::string& w : plan.warnings)
    said += w.find("memory fit not checked") != std::string::npos;
  EXPECT_EQ(said, 1);
  const auto doc = to_json(plan);
  EXPECT_TRUE(doc["rows"][0]["fits_memory"].is_null());
  for (const char* key :
       {"gpus", "global_batch", "per_gpu_batch", "steps", "iteration_s", "time_to_accuracy_s",
        "gpu_hours", "cost", "fits_memory", "extrapolated"}) {
    EXPECT_TRUE(doc["rows"][0].contains(key)) << key;
  }
  EXPECT_EQ(plan_csv(plan).rfind("gpus,global_batch,per_gpu_batch,steps,", 0), 0u);
}

TEST(Plan, WarnsWhenTheModelWasMeasuredUnderOtherConditions) {
  Scenario s = lenet();
  s.spec.optimizer.name = OptimizerKind::sgd;
  s.spec.optimizer.nesterov = true;
  s.spec.train.precision = Precision::fp32;
  const Plan plan = make_plan(s, model(), {{1}, {256}, {}}, stand_in());
  std::string all;
  for (const std::string& w : plan.warnings) all += w + "\n";
  EXPECT_NE(all.find("optimizer lars, the spec trains nesterov"), std::string::npos) << all;
  EXPECT_NE(all.find("precision fp16, the spec trains fp32"), std::string::npos) << all;
  EXPECT_EQ(all.find("for model"), std::string::npos) << all;
}

TEST(Plan, ABadGpuCountFailsBeforeAnyStepIsSimulated) {
  int simulated = 0;
  PlanHooks hooks = stand_in(&simulated);
  hooks.check = [](const Scenario&, int gpus) {
    if (gpus > 4) throw InputError("--gpus: the cluster holds 4 GPUs");
  };
  EXPECT_THROW(make_plan(lenet(), model(), {{1, 8}, {256}, {}}, hooks), InputError);
  EXPECT_EQ(simulated, 0);
}

TEST(Plan, DefaultBatchesSpanTheMeasuredRangeWidenedByTwo) {
  EXPECT_EQ(default_plan_batches(model(256, 4096), 3072),
            (std::vector<std::int64_t>{128, 256, 512, 1024, 2048, 3072, 4096, 8192}));
  EXPECT_EQ(default_plan_batches(model(32768, 65536), 65536),
            (std::vector<std::int64_t>{16384, 32768, 65536, 131072}));
}

}  // namespace
}  // namespace lb::sim
