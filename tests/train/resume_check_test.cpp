// Issue 17, items 5 and 7: a checkpoint's header is range-checked before
// use, and --resume refuses a spec that trains a different experiment.
#include "runtime/train/resume_check.hpp"

#include <gtest/gtest.h>

#include "runtime/core/errors.hpp"

namespace lb {
namespace {

using json = nlohmann::json;

// What Trainer::save() records after `step` steps of `spec`.
LoadedCheckpoint checkpoint_of(const Spec& spec, std::int64_t step) {
  ResumePoint totals;
  totals.train_time_s = 12.5;
  totals.images_trained = step * spec.train.global_batch;
  totals.recent_losses = {0.5, 0.4};
  return {step, resume_meta(spec, 1, {1024, 3, 1}, totals)};
}

std::string failure(const LoadedCheckpoint& loaded, const Spec& spec, std::int64_t total = 100) {
  try {
    check_resume(loaded, spec, total, "ckpt.bin");
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(ResumeCheck, TheWritersOwnMetaReadsBack) {
  const Spec spec;
  const ResumePoint p = check_resume(checkpoint_of(spec, 10), spec, 100, "ckpt.bin");
  EXPECT_EQ(p.step, 10);
  EXPECT_EQ(p.scaler.scale, 1024);
  EXPECT_EQ(p.scaler.clean_steps, 3);
  EXPECT_EQ(p.scaler.skipped, 1);
  EXPECT_EQ(p.train_time_s, 12.5);
  EXPECT_EQ(p.images_trained, 10 * spec.train.global_batch);
  EXPECT_EQ(p.recent_losses, (std::vector<double>{0.5, 0.4}));
}

TEST(ResumeCheck, StepPastTheRunIsACheckpointError) {
  const Spec spec;
  EXPECT_EQ(failure(checkpoint_of(spec, 1'000'000'000'000'000), spec, 24),
            "checkpoint error: ckpt.bin: step 1000000000000000 is past the run's 24 steps");
  EXPECT_EQ(failure(checkpoint_of(spec, 24), spec, 24), "accepted");  // a finished run
}

TEST(ResumeCheck, DifferentExperimentIsRefusedNamingTheFirstKey) {
  const Spec trained;
  const LoadedCheckpoint loaded = checkpoint_of(trained, 10);
  const std::pair<std::string, std::string> changes[] = {
      {"train.global_batch=512",
       "spec error: train.global_batch: the checkpoint was trained with 256, got 512"},
      {"train.precision=fp32",
       "spec error: train.precision: the checkpoint was trained with \"fp16\""},
      {"optimizer.name=sgd",
       "spec error: optimizer.name: the checkpoint was trained with \"lars\""},
      {"train.seed=7", "spec error: train.seed: the checkpoint was trained with 1, got 7"},
      {"data.train_subset=1000", "spec error: data.train_subset:"},
      {"optimizer.lr.step_epochs=[1,2]", "spec error: optimizer.lr.step_epochs:"},
  };
  for (const auto& [assignment, expected] : changes) {
    json doc = json::object();
    apply_override(doc, assignment);
    const std::string message = failure(loaded, parse_spec(doc));
    EXPECT_EQ(message.rfind(expected, 0), 0u) << assignment << ": " << message;
  }
}

TEST(ResumeCheck, KeysThatDoNotChangeWhatIsTrainedMayChange) {
  const LoadedCheckpoint loaded = checkpoint_of(Spec{}, 10);
  for (const char* assignment :
       {"train.threads=1", "train.log_every_steps=5", "data.workers=3", "data.prefetch=2",
        "train.epochs=9", "comm.algorithm=ring", "name=\"x\"", "cluster.gpus_per_node=4",
        "train.checkpoint_every_epochs=0", "data.dir=/elsewhere"}) {
    json doc = json::object();
    apply_override(doc, assignment);
    EXPECT_EQ(failure(loaded, parse_spec(doc)), "accepted") << assignment;
  }
  EXPECT_TRUE(may_change_on_resume("cluster.nic.bandwidth_gbps"));
  EXPECT_FALSE(may_change_on_resume("train.global_batch"));
}

TEST(ResumeCheck, EpochsMayGrowButNotShrink) {
  const LoadedCheckpoint loaded = checkpoint_of(Spec{}, 10);  // 5 epochs
  json doc = json::object();
  apply_override(doc, "train.epochs=1");
  const std::string message = failure(loaded, parse_spec(doc), 3);
  EXPECT_EQ(
      message.rfind("spec error: train.epochs: expected at least the checkpoint's 5 epochs", 0), 0u)
      << message;
}

TEST(ResumeCheck, CheckpointsWithoutARecordedSpecAreStillRangeChecked) {
  LoadedCheckpoint old{
      5,
      {{"model", "lenet_bn"}, {"loss_scaler", {{"scale", 2}, {"clean_steps", 1}, {"skipped", 0}}}}};
  Spec other;
  other.train.global_batch = 999;
  EXPECT_EQ(failure(old, other), "accepted");
  old.meta["loss_scaler"]["scale"] = -1;
  EXPECT_EQ(
      failure(old, other)
          .rfind("checkpoint error: ckpt.bin: meta.loss_scaler.scale: expected a number in (0,", 0),
      0u)
      << failure(old, other);
}

TEST(ResumeCheck, HeaderFieldsOutOfRangeAreCheckpointErrorsNamingThem) {
  const Spec spec;
  const std::pair<std::string, json> cases[] = {
      {"meta.loss_scaler.skipped", json{{"/loss_scaler/skipped", 11}}},
      {"meta.loss_scaler.clean_steps", json{{"/loss_scaler/clean_steps", -1}}},
      {"meta.loss_scaler.scale", json{{"/loss_scaler/scale", "big"}}},
      {"meta.totals.train_time_s", json{{"/totals/train_time_s", -3}}},
      {"meta.totals.images_trained", json{{"/totals/images_trained", 0.5}}},
      {"meta.totals.recent_losses[1]", json{{"/totals/recent_losses", {1, "x"}}}},
      {"meta.spec: expected an object", json{{"/spec", 3}}},
      {"meta.loss_scaler: missing", json{{"/loss_scaler", nullptr}}},
  };
  for (const auto& [field, patch] : cases) {
    LoadedCheckpoint loaded = checkpoint_of(spec, 10);
    for (const auto& [pointer, value] : patch.items()) {
      if (value.is_null()) {
        loaded.meta.erase("loss_scaler");
      } else {
        loaded.meta[json::json_pointer(pointer)] = value;
      }
    }
    const std::string message = failure(loaded, spec);
    EXPECT_EQ(message.rfind("checkpoint error: ckpt.bin: " + field, 0), 0u) << message;
  }
}

}  // namespace
}  // namespace lb
