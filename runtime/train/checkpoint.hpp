#pragma once
// Checkpoints: one binary file, written atomically.
//
//   "LBCKPT\0\0"  8 bytes magic
//   u32 version (1), u32 reserved (0)
//   u64 header length, header (JSON: step, meta, tensor names and sizes)
//   tensor data, fp32 little-endian, in header order
//   32 bytes SHA-256 of everything before it
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/train/training_state.hpp"

namespace lb {

inline constexpr std::uint32_t kCheckpointVersion = 1;

// The 32 bytes a checkpoint ends with: the SHA-256 of everything before them.
std::string checkpoint_digest(std::string_view body);

void save_checkpoint(const std::filesystem::path& file, std::int64_t step,
                     const nlohmann::json& meta, const std::vector<NamedSpan>& tensors);

struct LoadedCheckpoint {
  std::int64_t step = 0;
  nlohmann::json meta;
};

// Verifies magic, version and checksum, checks the header's fields (a step
// >= 0, a meta object, the tensor list) and that the file holds exactly
// `tensors` (same names and sizes), and fills them. Throws CheckpointError.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& file,
                                 const std::vector<NamedSpan>& tensors);

}  // namespace lb
