// The spec's enumerated choices (runtime/core/spec_choices.hpp): each name
// parses to its value and back, parse_spec stores the value a file names and
// to_json writes the name back, and JSON never sees a choice's number.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "runtime/core/errors.hpp"
#include "runtime/core/spec.hpp"

namespace lb {
namespace {

using json = nlohmann::json;

template <class E>
void expect_names_round_trip(std::initializer_list<const char*> expected) {
  std::vector<std::string> names;
  for (std::string_view n : choice_names<E>()) names.emplace_back(n);
  EXPECT_EQ(names, std::vector<std::string>(expected.begin(), expected.end()));
  std::set<E> values;
  for (const std::string& n : names) {
    const auto value = parse_choice<E>(n);
    ASSERT_TRUE(value.has_value()) << n;
    EXPECT_EQ(to_string(*value), n);
    values.insert(*value);
  }
  EXPECT_EQ(values.size(), names.size()) << "two names for one value";
  EXPECT_FALSE(parse_choice<E>("no-such-choice").has_value());
}

// The names are the ones experiments/SPEC.md lists, in its order.
TEST(SpecChoices, EveryNameParsesToItsValueAndBack) {
  expect_names_round_trip<DeviceKind>({"cpu", "cuda"});
  expect_names_round_trip<Dataset>({"fashion_mnist", "synthetic", "imagefolder", "shards"});
  expect_names_round_trip<Precision>({"fp32", "fp16"});
  expect_names_round_trip<ConvAlgorithm>({"direct", "winograd", "auto"});
  expect_names_round_trip<LossScaleMode>({"dynamic", "static", "none"});
  expect_names_round_trip<LrDecay>({"poly", "cosine", "step", "none"});
  expect_names_round_trip<OptimizerKind>({"sgd", "lars"});
  expect_names_round_trip<Algorithm>({"mpi", "ring", "hierarchical", "torus2d", "auto",
                                      "halving_doubling", "nccl_ring", "nccl_tree", "nccl"});
  expect_names_round_trip<NicPath>({"intra", "direct"});
  expect_names_round_trip<Topology>({"switch", "fat_tree", "rail_fat_tree", "torus"});
}

TEST(SpecChoices, ParseSpecStoresTheNamedValueAndToJsonWritesTheName) {
  const json document = {
      {"device", "cuda"},
      {"data", {{"dataset", "synthetic"}}},
      {"train",
       {{"precision", "fp32"}, {"conv_algorithm", "auto"}, {"loss_scale", {{"mode", "static"}}}}},
      {"optimizer", {{"name", "sgd"}, {"lr", {{"decay", "cosine"}}}}},
      {"comm", {{"algorithm", "torus2d"}}},
      {"cluster", {{"nic_path", "direct"}, {"topology", "fat_tree"}}}};
  const Spec spec = parse_spec(document);
  EXPECT_EQ(spec.device, DeviceKind::cuda);
  EXPECT_EQ(spec.data.dataset, Dataset::synthetic);
  EXPECT_EQ(spec.train.precision, Precision::fp32);
  EXPECT_EQ(spec.train.conv_algorithm, ConvAlgorithm::automatic);
  EXPECT_EQ(spec.train.loss_scale.mode, LossScaleMode::fixed);
  EXPECT_EQ(spec.optimizer.name, OptimizerKind::sgd);
  EXPECT_EQ(spec.optimizer.lr.decay, LrDecay::cosine);
  EXPECT_EQ(spec.comm.algorithm, Algorithm::torus2d);
  EXPECT_EQ(spec.cluster.nic_path, NicPath::direct);
  EXPECT_EQ(spec.cluster.topology, Topology::fat_tree);
  const json written = to_json(spec);
  EXPECT_EQ(written["device"], "cuda");
  EXPECT_EQ(written["data"]["dataset"], "synthetic");
  EXPECT_EQ(written["train"]["conv_algorithm"], "auto");
  EXPECT_EQ(written["train"]["loss_scale"]["mode"], "static");
  EXPECT_EQ(written["optimizer"]["name"], "sgd");
  EXPECT_EQ(written["optimizer"]["lr"]["decay"], "cosine");
  EXPECT_EQ(written["comm"]["algorithm"], "torus2d");
  EXPECT_EQ(written["cluster"]["nic_path"], "direct");
  EXPECT_EQ(written["cluster"]["topology"], "fat_tree");
  EXPECT_EQ(parse_spec(written).comm.algorithm, Algorithm::torus2d);
}

TEST(SpecChoices, AChoiceInJsonIsItsName) {
  EXPECT_EQ(json(Algorithm::automatic), "auto");
  EXPECT_EQ(json(LossScaleMode::fixed), "static");
  const json object = {{"device", DeviceKind::cuda}};
  EXPECT_EQ(object.dump(), R"({"device":"cuda"})");
}

TEST(SpecChoices, AnUnknownNameIsASpecErrorListingTheNames) {
  try {
    parse_spec({{"comm", {{"algorithm", "butterfly"}}}});
    FAIL() << "no SpecError";
  } catch (const SpecError& e) {
    EXPECT_STREQ(e.what(),
                 "spec error: comm.algorithm: expected one of \"mpi\", \"ring\", \"hierarchical\", "
                 "\"torus2d\", \"auto\", \"halving_doubling\", \"nccl_ring\", \"nccl_tree\", "
                 "\"nccl\", got \"butterfly\"");
  }
  EXPECT_THROW(parse_algorithm("butterfly"), SpecError);
  EXPECT_EQ(parse_algorithm("hierarchical"), Algorithm::hierarchical);
}

}  // namespace
}  // namespace lb
