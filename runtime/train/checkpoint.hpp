#pragma once
// Checkpoints: one binary file, written atomically.
//
//   "LBCKPT\0\0"  8 bytes magic
//   u32 version (1), u32 reserved (0)
//   u64 header length, header (JSON: step, meta, tensor names, sizes and
//       shapes; checkpoints from before shapes were kept have none)
//   tensor data, fp32 little-endian, in header order
//   32 bytes SHA-256 of everything before it
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

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

// A tensor as a checkpoint lists it.
struct StoredTensor {
  std::string name;
  std::size_t numel = 0;
  Shape shape;  // empty when the checkpoint did not record it
};

// A verified checkpoint whose tensors have not been copied anywhere yet: for
// readers that decide themselves which tensors they take (train.init_from).
class CheckpointContents {
 public:
  std::int64_t step = 0;
  nlohmann::json meta;
  std::vector<StoredTensor> tensors;  // in file order

  // Copies tensor `index` into `out` (its size must be the tensor's numel).
  void copy(std::size_t index, std::span<float> out) const;

 private:
  friend CheckpointContents read_checkpoint(const std::filesystem::path& file);
  std::string bytes_;
  std::vector<std::size_t> offsets_;  // of each tensor's data in bytes_
};

// Verifies magic, version and checksum, checks the header's fields (a step
// >= 0, a meta object, the tensor list with sizes and shapes) and that the
// listed tensors fill the file exactly. Throws CheckpointError.
CheckpointContents read_checkpoint(const std::filesystem::path& file);

// Verifies magic, version and checksum, checks the header's fields (a step
// >= 0, a meta object, the tensor list) and that the file holds exactly
// `tensors` (same names and sizes), and fills them. Throws CheckpointError.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& file,
                                 const std::vector<NamedSpan>& tensors);

}  // namespace lb
