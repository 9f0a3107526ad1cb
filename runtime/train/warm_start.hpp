#pragma once
// Progressive initialization (train.init_from): a run starts from the fp32
// master weights and BatchNorm running statistics of an earlier run's
// checkpoint, while its optimizer state (momentum), loss scale, step and data
// position start fresh, unlike --resume. The earlier run may have differed in
// anything that leaves the parameters' names and shapes alone: epochs, batch,
// precision, training subset, optimizer, rank count.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/train/training_state.hpp"

namespace lb {

struct WarmStartSource {
  std::filesystem::path file;  // the checkpoint read
  std::int64_t step = 0;       // steps the source had trained when it wrote it
};

// The checkpoint train.init_from names: a run directory (its checkpoint.bin)
// or a checkpoint file. Throws SpecError when there is none.
std::filesystem::path init_from_file(const std::string& init_from);

// Fills every tensor of `state` that is not optimizer state from the
// checkpoint train.init_from names, and zeroes the optimizer state. The
// checkpoint must hold a `model_name` model with the same tensors (names,
// order and shapes): otherwise SpecError("train.init_from") names the model
// or the first tensor that differs, and `state` is left untouched. An
// unreadable checkpoint throws CheckpointError naming the file.
WarmStartSource warm_start(const std::string& init_from, const std::string& model_name,
                           const std::vector<NamedSpan>& state);

}  // namespace lb
