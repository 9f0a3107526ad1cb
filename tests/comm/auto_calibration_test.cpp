// The auto calibration file: rules from measurements, the file's round trip,
// and one clear error for every way the file can be wrong.
#include "runtime/core/auto_calibration.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runtime/comm/allreduce.hpp"
#include "runtime/core/errors.hpp"

namespace lb {
namespace {

namespace fs = std::filesystem;

std::vector<SizeTimings> measured() {
  return {{4096, {{"mpi", 1e-5}, {"ring", 3e-5}}},
          {16384, {{"mpi", 2e-5}, {"ring", 4e-5}}},
          {65536, {{"mpi", 9e-5}, {"ring", 6e-5}, {"hierarchical", 8e-5}}},
          {262144, {{"mpi", 4e-4}, {"ring", 2e-4}, {"hierarchical", 3e-4}}},
          {1048576, {{"mpi", 2e-3}, {"ring", 9e-4}, {"hierarchical", 7e-4}}}};
}

fs::path write(const std::string& name, const std::string& text) {
  const fs::path p = fs::temp_directory_path() / ("lb_auto_cal_" + name + ".json");
  std::ofstream(p) << text;
  return p;
}

TEST(AutoCalibration, RulesFollowTheFastestAlgorithmWithBoundariesBetweenSizes) {
  const auto rules = fastest_rules(measured());
  // mpi wins at 4 and 16 KiB, ring at 64 and 256 KiB, hierarchical at 1 MiB;
  // boundaries at the geometric means: sqrt(16384 * 65536), sqrt(262144 * 1048576).
  const std::vector<AutoRule> expected{
      {32768, Algorithm::mpi}, {524288, Algorithm::ring}, {-1, Algorithm::hierarchical}};
  EXPECT_EQ(rules, expected);
  EXPECT_EQ(rule_for(rules, 1), Algorithm::mpi);
  EXPECT_EQ(rule_for(rules, 32767), Algorithm::mpi);
  EXPECT_EQ(rule_for(rules, 32768), Algorithm::ring);
  EXPECT_EQ(rule_for(rules, 1 << 30), Algorithm::hierarchical);
}

TEST(AutoCalibration, OneWinnerEverywhereIsOneUnboundedRule) {
  const auto rules =
      fastest_rules({{4096, {{"ring", 1.0}, {"mpi", 2.0}}}, {8192, {{"ring", 1.0}}}});
  EXPECT_EQ(rules, (std::vector<AutoRule>{{-1, Algorithm::ring}}));
}

TEST(AutoCalibration, FileRoundTrips) {
  AutoCalibration c{4, 2, true, fastest_rules(measured())};
  const fs::path p = write("roundtrip", auto_calibration_json(c, measured()).dump(2));
  const AutoCalibration back = load_auto_calibration(p);
  EXPECT_EQ(back.ranks, 4);
  EXPECT_EQ(back.group_size, 2);
  EXPECT_TRUE(back.fp16_wire);
  EXPECT_EQ(back.rules, c.rules);
  ASSERT_TRUE(back.measured_cost.has_value());  // fitted from the file's "measured"
  EXPECT_NEAR(back.measured_cost->per_byte_s, (7e-4 - 2e-4) / (1048576 - 262144), 1e-15);
}

// comm.fusion_bytes "auto" reads the all-reduce's cost from the measured
// sizes: a collective that costs exactly 50 µs + B / 2 GB/s is recovered.
TEST(AutoCalibration, TheCostFitRecoversALinearCollective) {
  std::vector<SizeTimings> timings;
  for (std::int64_t bytes = 4096; bytes <= (64 << 20); bytes *= 4) {
    const double t = 50e-6 + double(bytes) / 2e9;
    timings.push_back({bytes, {{"ring", t}, {"mpi", t * 1.5}}});
  }
  const auto cost = fit_allreduce_cost(timings);
  ASSERT_TRUE(cost.has_value());
  EXPECT_NEAR(cost->per_byte_s, 1 / 2e9, 1e-15);
  EXPECT_NEAR(cost->fixed_s, 50e-6, 1e-9);
  EXPECT_FALSE(fit_allreduce_cost({timings.front()}).has_value());  // one size: no slope
  timings.back().seconds = {{"ring", 1e-6}};                        // not bandwidth-bound
  EXPECT_FALSE(fit_allreduce_cost(timings).has_value());
}

void expect_error(const std::string& name, const std::string& text, const std::string& fragment) {
  const fs::path p = write(name, text);
  try {
    load_auto_calibration(p);
    ADD_FAILURE() << name << ": no error";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("comm.auto_calibration: " + p.string()), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
  }
}

const std::string kHead =
    R"({"format": "largebatch-auto-allreduce/1", "ranks": 4, "group_size": 2, )";

TEST(AutoCalibration, EveryBadFileIsOneLineNamingTheFileAndTheProblem) {
  EXPECT_THROW(load_auto_calibration("/nonexistent/auto.json"), InputError);
  expect_error("notjson", "{rules", "not JSON");
  expect_error("format", R"({"format": "other", "ranks": 4})", "not an auto calibration file");
  expect_error("norules", kHead + R"("rules": []})", "non-empty array");
  expect_error("auto", kHead + R"("rules": [{"algorithm": "auto"}]})", "concrete algorithm");
  expect_error("unknown", kHead + R"("rules": [{"algorithm": "tree"}]})",
               "unknown algorithm \"tree\"");
  expect_error("lastbound", kHead + R"("rules": [{"algorithm": "ring", "below_bytes": 10}]})",
               "last rule must not have below_bytes");
  expect_error("missingbound", kHead + R"("rules": [{"algorithm": "mpi"}, {"algorithm": "ring"}]})",
               "below_bytes is required");
  expect_error("order", kHead + R"("rules": [{"algorithm": "mpi", "below_bytes": 100},
      {"algorithm": "ring", "below_bytes": 50}, {"algorithm": "mpi"}]})",
               "larger than the rule before");
  expect_error(
      "ranks",
      R"({"format": "largebatch-auto-allreduce/1", "group_size": 2, "rules": [{"algorithm": "mpi"}]})",
      "missing or mistyped field");
  expect_error("simulator", kHead + R"("rules": [{"algorithm": "nccl_tree"}]})", "simulator-only");
  const std::string rules = R"("rules": [{"algorithm": "ring"}], )";
  expect_error("measuredorder",
               kHead + rules + R"("measured": [{"bytes": 8, "seconds": {"ring": 1}},
      {"bytes": 4, "seconds": {"ring": 2}}]})",
               "measured[1].bytes: must be positive and larger");
  expect_error("measuredtime",
               kHead + rules + R"("measured": [{"bytes": 8, "seconds": {"ring": -1}}]})",
               "measured[0].seconds.ring: must be a positive time");
  expect_error("measuredempty", kHead + rules + R"("measured": [{"bytes": 8, "seconds": {}}]})",
               "measured[0].seconds: no algorithm timed");
}

// lb-train does not run the simulator's models of NCCL and MPI libraries.
TEST(AllreduceConfig, ASimulatorOnlyAlgorithmIsRefused) {
  CommSpec c;
  c.algorithm = Algorithm::nccl_tree;
  try {
    allreduce_config(c);
    FAIL() << "nccl_tree accepted by the runtime";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "comm.algorithm");
  }
}

// A calibration measured with another rank count or group size does not fit.
TEST(AutoCalibration, AFileFitsOnlyItsRanksAndGroupSize) {
  EXPECT_TRUE(auto_calibration_fits({4, 2}, 4, 2));
  EXPECT_FALSE(auto_calibration_fits({4, 2}, 8, 2));
  EXPECT_THROW(require_auto_calibration_fits("f.json", {4, 2}, 4, 4), InputError);
}

}  // namespace
}  // namespace lb
