// train.init_from: a warm start takes the source's fp32 masters and
// BatchNorm statistics bit for bit, leaves the optimizer state at zero, and
// refuses a source whose model, tensor names or shapes differ.
#include "runtime/train/warm_start.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>

#include "runtime/core/errors.hpp"
#include "runtime/models/model.hpp"
#include "runtime/train/checkpoint.hpp"
#include "runtime/train/run_directory.hpp"
#include "runtime/train/training_state.hpp"

namespace lb {
namespace {

namespace fs = std::filesystem;

// A zoo model with its training state, every tensor of the state filled with
// seeded random values (momentum and running statistics included), so that
// no value can match another run's by being a default.
struct ModelState {
  std::unique_ptr<Model> model;
  std::unique_ptr<TrainingState> state;

  ModelState(const std::string& name, Precision precision, std::uint64_t seed, int classes = 10,
             Shape chw = {1, 28, 28}) {
    model = make_model(name, chw, classes);
    Rng rng(seed);
    model->net->init(rng);
    state = std::make_unique<TrainingState>(model->net->params(), model->net->buffers(),
                                            OptimizerSpec{}, precision);
    std::normal_distribution<float> normal;
    for (const NamedSpan& t : tensors()) {
      for (float& v : t.data) v = normal(rng);
    }
  }
  std::vector<NamedSpan> tensors() { return state->checkpoint_tensors(); }
};

class WarmStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lb_warm_start_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `source` as a run directory's checkpoint, as lb-train's save() does.
  fs::path save_run(ModelState& source, const std::string& run) {
    fs::create_directories(dir_ / run);
    save_checkpoint(dir_ / run / kCheckpointFile, 123, {{"model", source.model->name}},
                    source.tensors());
    return dir_ / run;
  }

  // The SpecError's message when warm-starting `target` from `from`; the
  // target's state must come out untouched.
  std::string refusal(const fs::path& from, ModelState& target) {
    std::vector<std::vector<float>> before;
    for (const NamedSpan& t : target.tensors()) before.emplace_back(t.data.begin(), t.data.end());
    try {
      warm_start(from.string(), target.model->name, target.tensors());
    } catch (const SpecError& e) {
      EXPECT_EQ(e.path(), "train.init_from");
      const auto after = target.tensors();
      for (std::size_t i = 0; i < after.size(); ++i) {
        EXPECT_TRUE(std::equal(after[i].data.begin(), after[i].data.end(), before[i].begin()))
            << after[i].name;
      }
      return e.what();
    }
    ADD_FAILURE() << "no SpecError for " << from;
    return "";
  }

  fs::path dir_;
};

TEST_F(WarmStartTest, TakesMastersAndStatisticsBitExactAndZeroesMomentum) {
  for (const Precision source_precision : {Precision::fp16, Precision::fp32}) {
    ModelState source("lenet_bn", source_precision, 1);
    const fs::path run = save_run(source, "source");
    ModelState target("lenet_bn", Precision::fp32, 2);
    const WarmStartSource from = warm_start(run.string(), "lenet_bn", target.tensors());
    EXPECT_EQ(from.file, run / kCheckpointFile);
    EXPECT_EQ(from.step, 123);
    const auto src = source.tensors(), dst = target.tensors();
    ASSERT_EQ(src.size(), dst.size());
    std::size_t momentum = 0;
    for (std::size_t i = 0; i < dst.size(); ++i) {
      const auto& d = dst[i].data;
      if (dst[i].optimizer_state) {
        ++momentum;
        EXPECT_TRUE(std::all_of(d.begin(), d.end(), [](float v) { return v == 0.0f; }))
            << dst[i].name;
      } else {  // bit for bit: memcmp, not float ==
        EXPECT_EQ(std::memcmp(d.data(), src[i].data.data(), d.size_bytes()), 0) << dst[i].name;
      }
    }
    EXPECT_EQ(momentum, source.model->net->params().size());
    EXPECT_EQ(target.state->weights_sha256(), source.state->weights_sha256());
  }
}

TEST_F(WarmStartTest, AcceptsACheckpointFileAndRefusesAMissingSource) {
  ModelState source("lenet_bn", Precision::fp16, 1);
  const fs::path file = save_run(source, "source") / kCheckpointFile;
  ModelState target("lenet_bn", Precision::fp16, 2);
  EXPECT_EQ(warm_start(file.string(), "lenet_bn", target.tensors()).file, file);
  EXPECT_EQ(target.state->weights_sha256(), source.state->weights_sha256());

  const std::string missing = refusal(dir_ / "nowhere", target);
  EXPECT_NE(missing.find((dir_ / "nowhere").string() + ": no such file or directory"),
            std::string::npos)
      << missing;
  fs::create_directories(dir_ / "empty");
  const std::string empty = refusal(dir_ / "empty", target);
  EXPECT_NE(empty.find("no checkpoint.bin in this directory"), std::string::npos) << empty;
}

TEST_F(WarmStartTest, RefusesAnotherModel) {
  ModelState source("resnet20", Precision::fp16, 1);
  const fs::path run = save_run(source, "resnet");
  ModelState target("lenet_bn", Precision::fp16, 2);
  const std::string why = refusal(run, target);
  EXPECT_NE(why.find("spec error: train.init_from: " + (run / kCheckpointFile).string() +
                     " holds a resnet20 model, this run's model.name is lenet_bn"),
            std::string::npos)
      << why;
}

TEST_F(WarmStartTest, NamesTheFirstTensorWhoseShapeDiffers) {
  // The same architecture on 3-channel input: the first convolution differs.
  ModelState rgb("lenet_bn", Precision::fp16, 1, 10, {3, 28, 28});
  ModelState target("lenet_bn", Precision::fp16, 2);
  const std::string channels = refusal(save_run(rgb, "rgb"), target);
  const std::string first = target.tensors()[0].name;
  EXPECT_NE(channels.find(": " + first + " has shape " + to_string(rgb.tensors()[0].shape) +
                          " in the source, shape " + to_string(target.tensors()[0].shape) +
                          " in this model"),
            std::string::npos)
      << channels;
  // Five classes instead of ten: only the classifier differs.
  ModelState five("lenet_bn", Precision::fp16, 1, 5);
  const std::string classes = refusal(save_run(five, "five"), target);
  const auto t = target.tensors();
  std::size_t differing = 0;
  while (five.tensors()[differing].shape == t[differing].shape) ++differing;
  EXPECT_NE(classes.find(": " + t[differing].name + " has shape"), std::string::npos) << classes;
}

TEST_F(WarmStartTest, NamesARenamedOrMissingTensor) {
  ModelState source("lenet_bn", Precision::fp16, 1);
  ModelState target("lenet_bn", Precision::fp16, 2);
  std::vector<NamedSpan> renamed = source.tensors();
  const std::string original = renamed[4].name;
  renamed[4].name = "other.weight.master";
  save_checkpoint(dir_ / "renamed.bin", 1, {{"model", "lenet_bn"}}, renamed);
  const std::string name = refusal(dir_ / "renamed.bin", target);
  EXPECT_NE(
      name.find("tensor 4 is other.weight.master in the source, " + original + " in this model"),
      std::string::npos)
      << name;

  std::vector<NamedSpan> shorter = source.tensors();
  const std::string last = shorter.back().name;
  shorter.pop_back();
  save_checkpoint(dir_ / "shorter.bin", 1, {{"model", "lenet_bn"}}, shorter);
  const std::string missing = refusal(dir_ / "shorter.bin", target);
  EXPECT_NE(missing.find("the source has no " + last), std::string::npos) << missing;

  std::vector<NamedSpan> longer = source.tensors();
  std::vector<float> extra(3);
  longer.push_back({"extra", extra});
  save_checkpoint(dir_ / "longer.bin", 1, {{"model", "lenet_bn"}}, longer);
  const std::string beyond = refusal(dir_ / "longer.bin", target);
  EXPECT_NE(beyond.find("the source has extra beyond this model's"), std::string::npos) << beyond;
}

// Checkpoints written before shapes were kept list sizes only: they still
// initialise a model whose sizes match.
TEST_F(WarmStartTest, ReadsCheckpointsWithoutShapes) {
  ModelState source("lenet_bn", Precision::fp32, 1);
  std::vector<NamedSpan> unshaped = source.tensors();
  for (NamedSpan& t : unshaped) t.shape.clear();
  save_checkpoint(dir_ / "old.bin", 7, {{"model", "lenet_bn"}}, unshaped);
  ModelState target("lenet_bn", Precision::fp32, 2);
  EXPECT_EQ(warm_start((dir_ / "old.bin").string(), "lenet_bn", target.tensors()).step, 7);
  EXPECT_EQ(target.state->weights_sha256(), source.state->weights_sha256());
}

}  // namespace
}  // namespace lb
