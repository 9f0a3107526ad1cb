// profile.json has one definition (runtime/core/profile_format.hpp): what
// lb-train's StepProfile writes is exactly what simulate-scaling reads.
#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "runtime/models/model.hpp"
#include "runtime/train/step_profile.hpp"
#include "simulator/compute_model.hpp"
#include "simulator/model_info.hpp"
#include "simulator/profile.hpp"

namespace lb::sim {
namespace {

TEST(ProfileFormat, TheRuntimeWriterRoundTripsThroughTheSimulatorReader) {
  Spec spec;
  spec.model.name = "resnet20";
  const ModelInfo model = model_info(spec);
  auto net = make_model("resnet20", {1, 28, 28}, 10);
  StepProfile recorder(net->layer_table(32));
  recorder.begin_step();  // the warm-up step is not recorded
  recorder.end_step();
  for (int step = 0; step < 5; ++step) {
    recorder.begin_step();
    for (std::size_t row = 0; row < model.table.size(); ++row) {
      recorder.add_forward(int(row), 1e-4 * double(row + 1));
      recorder.add_backward(int(row), 2e-4 * double(row + 1));
    }
    for (int row = int(model.table.size()) - 1; row >= 0; --row) recorder.gradient_ready(row);
    recorder.add_phase(Phase::forward, 0.1 + 0.01 * step);
    recorder.add_phase(Phase::backward, 0.2);
    recorder.add_phase(Phase::optimizer, 0.004);
    recorder.add_phase(Phase::step, 0.31);
    recorder.add_allreduce("ring", 1 << 20, 0.002, 0.0005);
    recorder.end_step();
  }
  Profile run;
  run.model = "resnet20", run.device = "cpu", run.precision = "fp32", run.optimizer = "lars";
  run.threads = 2, run.per_rank_batch = 32, run.ranks = 2;
  run.ranks_per_node = 2, run.node_cores = 16, run.cpus_allowed = 1;
  run.comm = {"ring", 1 << 20, false, true, 2, 1};
  Profile written = recorder.summary(run);
  written.rank_compute_s = {0.3, 0.36};
  written.rank_exposed_comm_s = {0.012, 0.0004};
  const auto file = std::filesystem::temp_directory_path() / "lb_profile_roundtrip.json";
  write_file_atomically(file, to_json(written).dump(2) + "\n");

  const RuntimeProfile read = load_profile(file);
  EXPECT_EQ(to_json(static_cast<const Profile&>(read)), to_json(written));  // every field
  EXPECT_EQ(read.file, file.string());
  EXPECT_EQ(read.steps, 5);
  ASSERT_EQ(read.layers.size(), model.table.size());
  EXPECT_DOUBLE_EQ(read.layers[2].backward_s, 6e-4);
  EXPECT_EQ(read.gradient_order.front(), model.table.back().name);
  ASSERT_EQ(read.allreduce.size(), 1u);
  EXPECT_EQ(read.allreduce[0].ranks, 2);
  EXPECT_EQ(read.ranks_per_node, 2);
  EXPECT_EQ(read.node_cores, 16);
  EXPECT_EQ(read.cpus_allowed, 1);
  EXPECT_EQ(read.rank_compute_s, (std::vector<double>{0.3, 0.36}));
  EXPECT_EQ(read.rank_exposed_comm_s, (std::vector<double>{0.012, 0.0004}));
  EXPECT_DOUBLE_EQ(read.allreduce[0].median_cpu_s, 0.0005);
  // forward + backward 0.30 ... 0.34 s: interquartile range 0.02 s, median 0.32 s
  EXPECT_NEAR(read.compute_cv, 0.02 / 1.349 / 0.32, 1e-9);
  EXPECT_NO_THROW(fitted_compute_model(model, {read}));  // names and parameters are the zoo's
  std::filesystem::remove(file);
}

TEST(ProfileFormat, RankTimesAreOnePerRank) {
  for (const std::string key : {"rank_compute_s", "rank_exposed_comm_s"}) {
    nlohmann::json doc{{"format", kProfileFormat},
                       {"version", kProfileVersion},
                       {"model", "resnet20"},
                       {"per_rank_batch", 32},
                       {"ranks", 2},
                       {"layers", {{{"name", "fc"}, {"kind", "linear"}, {"forward_s", 0.1}}}},
                       {key, {0.3, 0.31, 0.32}}};
    try {
      profile_from_json(doc, "p.json");
      FAIL() << key << ": three times for two ranks were accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("p.json: " + key + ": has 3 entries for 2 ranks"),
                std::string::npos)
          << e.what();
    }
    doc[key] = {0.3, -0.1};
    EXPECT_THROW(profile_from_json(doc, "p.json"), InputError) << key;
    doc[key] = {0.3, 0.31};
    const Profile read = profile_from_json(doc, "p.json");
    EXPECT_EQ(key == "rank_compute_s" ? read.rank_compute_s : read.rank_exposed_comm_s,
              (std::vector<double>{0.3, 0.31}));
  }
}

}  // namespace
}  // namespace lb::sim
