#pragma once
// Single-process training: data -> model -> loss -> backward -> loss scaling
// -> optimizer, with evaluation, metrics, checkpoints and a summary.
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <string>

#include "runtime/core/spec.hpp"

namespace lb {

class Communicator;

struct TrainOptions {
  std::filesystem::path out;   // DIR for metrics.jsonl, summary.json, checkpoint.bin
  bool resume = false;         // continue from DIR/checkpoint.bin
  bool overwrite = false;      // replace a run DIR holds (else a run there is refused)
  std::int64_t max_steps = 0;  // stop after this many steps in all (0 = train.epochs); resumable
  double max_epochs = 0;       // likewise in epochs (hparam-sweep's rungs); the earlier limit wins
  bool quiet = false;          // no progress lines
  bool terminal = false;       // rewrite the progress line in place
  Communicator* world = nullptr;  // the ranks training together; nullptr = one process
};

struct TrainResult {
  double test_accuracy = 0;
  double test_loss = 0;
  double final_loss = 0;          // mean training loss over the last logging window
  double train_images_per_s = 0;  // training steps only, evaluation excluded
  double train_time_s = 0;
  std::int64_t steps = 0;
  std::int64_t total_steps = 0;
  std::int64_t skipped_steps = 0;  // steps dropped by the loss scaler
  std::string weights_sha256;
};

class Trainer {
 public:
  // Loads the data and builds the model; throws InputError (bad data, bad
  // combination of settings) before anything is written. With several ranks,
  // each trains on its shard of every global batch, gradients are averaged
  // across ranks, rank 0 writes metrics, summary and checkpoints, and every
  // rank writes DIR/trace.rankR.json.
  Trainer(const Spec& spec, TrainOptions options, std::ostream& out);
  ~Trainer();
  TrainResult run();
  // "cpu", or the GPU this rank trains on.
  std::string device_description() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lb
