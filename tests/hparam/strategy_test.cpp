// Search space, samplers, narrowing, successive halving and ranking.
#include "hparam/strategy.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "hparam/halving.hpp"
#include "hparam/runner.hpp"
#include "hparam/sweep_file.hpp"
#include "hparam_fixture.hpp"

namespace lb::hparam {
namespace {

using json = nlohmann::json;

Param log_param(double lo, double hi) {
  Param p;
  p.key = "optimizer.lr.base";
  p.kind = Param::Kind::log;
  p.min = lo;
  p.max = hi;
  return p;
}

TEST(Space, LogParamMapsEndsAndMidpoint) {
  const Param p = log_param(0.01, 1);
  EXPECT_DOUBLE_EQ(p.from_unit(0).get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(p.from_unit(1).get<double>(), 1);
  EXPECT_DOUBLE_EQ(p.from_unit(0.5).get<double>(), 0.1);
  EXPECT_NEAR(p.to_unit(json(0.1)), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(p.from_unit(-3).get<double>(), 0.01);  // clamped
}

TEST(Space, RoundTripWithinRounding) {
  const Param p = log_param(1e-5, 1e-3);
  for (double u = 0; u <= 1; u += 0.0625) EXPECT_NEAR(p.to_unit(p.from_unit(u)), u, 1e-3) << u;
}

TEST(Space, IntegerAndChoiceParams) {
  Param batch = log_param(256, 8192);
  batch.integer = true;
  EXPECT_TRUE(batch.from_unit(0.5).is_number_integer());
  EXPECT_EQ(batch.from_unit(0.5).get<std::int64_t>(), 1448);  // sqrt(256 * 8192)
  Param choice;
  choice.kind = Param::Kind::choice;
  choice.choices = {json("sgd"), json("lars")};
  EXPECT_EQ(choice.from_unit(0.2), json("sgd"));
  EXPECT_EQ(choice.from_unit(1.0), json("lars"));
  EXPECT_DOUBLE_EQ(choice.to_unit(json("lars")), 0.75);
}

TEST(Space, RoundSignificant) {
  EXPECT_DOUBLE_EQ(round_significant(0.0123456, 4), 0.01235);
  EXPECT_DOUBLE_EQ(round_significant(12345.6, 4), 12350);
}

TEST(Halton, RadicalInverse) {
  EXPECT_DOUBLE_EQ(radical_inverse(1, 2), 0.5);
  EXPECT_DOUBLE_EQ(radical_inverse(2, 2), 0.25);
  EXPECT_DOUBLE_EQ(radical_inverse(3, 2), 0.75);
  EXPECT_NEAR(radical_inverse(1, 3), 1.0 / 3, 1e-15);
  EXPECT_NEAR(radical_inverse(5, 3), 2.0 / 3 + 1.0 / 9, 1e-15);
}

SweepConfig config(json doc) { return parse_sweep(doc, "."); }

TEST(Strategy, CoarseGridIsTheFullProduct) {
  json doc = test::small_sweep();
  doc["space"]["train.global_batch"] = {{"choices", {256, 512}}};
  const auto configs = stage_configurations(config(doc), 0, {});
  ASSERT_EQ(configs.size(), 3u * 3u * 2u);
  std::set<std::string> distinct;
  std::set<double> lrs;
  for (const json& c : configs) {
    distinct.insert(c.dump());
    lrs.insert(c["optimizer.lr.base"].get<double>());
  }
  EXPECT_EQ(distinct.size(), configs.size());
  EXPECT_EQ(lrs, (std::set<double>{0.03, 0.3, 3}));
}

TEST(Strategy, HaltonIsSeededAndInsideTheSpace) {
  json doc = test::small_sweep();
  doc["stages"][0]["sampler"] = "halton";
  doc["stages"][0]["points"] = 20;
  const auto a = stage_configurations(config(doc), 0, {});
  const auto b = stage_configurations(config(doc), 0, {});
  doc["seed"] = 8;
  const auto c = stage_configurations(config(doc), 0, {});
  ASSERT_EQ(a.size(), 20u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  for (const json& p : a) {
    EXPECT_GE(p["optimizer.lr.base"].get<double>(), 0.03);
    EXPECT_LE(p["optimizer.lr.base"].get<double>(), 3);
  }
}

TEST(Strategy, FineStageNarrowsAroundTheTopK) {
  json doc = test::small_sweep();
  doc["space"]["train.global_batch"] = {{"choices", {256, 512}}};
  const SweepConfig sweep = config(doc);
  const std::vector<json> best{
      {{"optimizer.lr.base", 0.3}, {"optimizer.lars.eta", 0.01}, {"train.global_batch", 512}},
      {{"optimizer.lr.base", 0.03}, {"optimizer.lars.eta", 0.001}, {"train.global_batch", 256}},
      {{"optimizer.lr.base", 3}, {"optimizer.lars.eta", 0.1}, {"train.global_batch", 256}}};
  const auto configs = stage_configurations(sweep, 1, best);
  EXPECT_EQ(configs[0], best[0]);      // each centre is re-run first
  EXPECT_EQ(configs.size(), 2u * 4u);  // top_k 2 of 3, centre + 3 Halton points each
  EXPECT_DOUBLE_EQ(box_half_width(sweep, 1), 0.25);
  const Param& lr = sweep.space.params[1];
  for (const json& c : configs) {
    const bool near_first = c["train.global_batch"] == 512;
    const json& centre = near_first ? best[0] : best[1];
    EXPECT_LE(
        std::fabs(lr.to_unit(c["optimizer.lr.base"]) - lr.to_unit(centre["optimizer.lr.base"])),
        0.25 + 1e-3);
    EXPECT_NE(c, best[2]);  // beyond top_k
  }
}

TEST(Strategy, FinalStageTakesTheTopKUnchanged) {
  const SweepConfig sweep = config(test::small_sweep());
  const std::vector<json> best{{{"optimizer.lr.base", 0.3}, {"optimizer.lars.eta", 0.01}},
                               {{"optimizer.lr.base", 0.1}, {"optimizer.lars.eta", 0.02}},
                               {{"optimizer.lr.base", 1}, {"optimizer.lars.eta", 0.05}}};
  const auto configs = stage_configurations(sweep, 2, best);
  EXPECT_EQ(configs, std::vector<json>(best.begin(), best.begin() + 2));
}

TEST(Halving, RungsAreGeometricBelowTheBudget) {
  EXPECT_EQ(halving_rungs({3, 1}, 10), (std::vector<double>{1, 3, 9}));
  EXPECT_EQ(halving_rungs({3, 1}, 9), (std::vector<double>{1, 3}));
  EXPECT_EQ(halving_rungs({2, 0.5}, 3), (std::vector<double>{0.5, 1, 2}));
}

TEST(Halving, TopOneOverEtaSurvives) {
  // 6 values at a rung, eta 3: the best 2 go on.
  const std::vector<double> values{0.9, 0.8, 0.7, 0.6, 0.5, 0.4};
  EXPECT_TRUE(survives_rung(0.9, values, 3, Goal::maximize));
  EXPECT_TRUE(survives_rung(0.8, values, 3, Goal::maximize));
  EXPECT_FALSE(survives_rung(0.7, values, 3, Goal::maximize));
  EXPECT_TRUE(survives_rung(0.4, values, 3, Goal::minimize));
  EXPECT_FALSE(survives_rung(0.9, values, 3, Goal::minimize));
  EXPECT_TRUE(survives_rung(0.1, {0.1}, 3, Goal::maximize));  // the first to arrive goes on
  EXPECT_FALSE(survives_rung(std::nan(""), {std::nan("")}, 3, Goal::maximize));
}

TEST(Ranking, DoneBeforePrunedFailedDropped) {
  auto trial = [](std::int64_t id, Status s, std::optional<double> obj, double epochs) {
    TrialRecord t;
    t.id = id;
    t.status = s;
    t.objective = obj;
    t.epochs_done = epochs;
    return t;
  };
  const auto ranked =
      rank_trials({trial(1, Status::pruned, 0.95, 1), trial(2, Status::done, 0.8, 3),
                   trial(3, Status::failed, std::nullopt, 1), trial(4, Status::done, 0.9, 3),
                   trial(5, Status::pruned, 0.7, 2)},
                  Goal::maximize);
  std::vector<std::int64_t> ids;
  for (const auto& t : ranked) ids.push_back(t.id);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{4, 2, 5, 1}));
}

}  // namespace
}  // namespace lb::hparam
