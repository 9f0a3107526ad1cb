#include "runtime/train/warm_start.hpp"

#include <algorithm>
#include <optional>

#include "runtime/core/errors.hpp"
#include "runtime/train/checkpoint.hpp"
#include "runtime/train/run_directory.hpp"

namespace lb {
namespace {

constexpr const char* kKey = "train.init_from";

std::string describe(const Shape& shape, std::size_t numel) {
  return shape.empty() ? std::to_string(numel) + " values" : "shape " + to_string(shape);
}

// Shapes are compared where both sides know them (checkpoints from before
// shapes were kept list sizes only).
bool same_layout(const StoredTensor& stored, const NamedSpan& ours) {
  if (stored.name != ours.name || stored.numel != ours.data.size()) return false;
  return stored.shape.empty() || ours.shape.empty() || stored.shape == ours.shape;
}

// Why the source cannot initialise this model, naming the first tensor that
// differs; nullopt when every tensor matches.
std::optional<std::string> first_difference(const std::vector<StoredTensor>& stored,
                                            const std::vector<NamedSpan>& ours) {
  const std::size_t common = std::min(stored.size(), ours.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (same_layout(stored[i], ours[i])) continue;
    if (stored[i].name != ours[i].name) {
      return "tensor " + std::to_string(i) + " is " + stored[i].name + " in the source, " +
             ours[i].name + " in this model";
    }
    return ours[i].name + " has " + describe(stored[i].shape, stored[i].numel) +
           " in the source, " + describe(ours[i].shape, ours[i].data.size()) + " in this model";
  }
  if (stored.size() < ours.size())
    return "the source has no " + ours[common].name + " (this model's tensor " +
           std::to_string(common) + ")";
  if (stored.size() > ours.size())
    return "the source has " + stored[common].name + " beyond this model's " +
           std::to_string(ours.size()) + " tensors";
  return std::nullopt;
}

}  // namespace

std::filesystem::path init_from_file(const std::string& init_from) {
  const std::filesystem::path path(init_from);
  if (std::filesystem::is_directory(path)) {
    const auto file = path / kCheckpointFile;
    if (!std::filesystem::exists(file))
      throw SpecError(kKey, init_from + ": no " + kCheckpointFile + " in this directory");
    return file;
  }
  if (!std::filesystem::exists(path))
    throw SpecError(kKey, init_from + ": no such file or directory");
  return path;
}

WarmStartSource warm_start(const std::string& init_from, const std::string& model_name,
                           const std::vector<NamedSpan>& state) {
  const std::filesystem::path file = init_from_file(init_from);
  const CheckpointContents source = read_checkpoint(file);
  const std::string model =
      source.meta.is_object() ? source.meta.value("model", model_name) : model_name;
  if (model != model_name) {
    throw SpecError(kKey, file.string() + " holds a " + model +
                              " model, this run's model.name is " + model_name);
  }
  if (const auto why = first_difference(source.tensors, state))
    throw SpecError(kKey, file.string() + ": " + *why);
  for (std::size_t i = 0; i < state.size(); ++i) {
    if (state[i].optimizer_state) {
      std::fill(state[i].data.begin(), state[i].data.end(), 0.0f);
    } else {
      source.copy(i, state[i].data);
    }
  }
  return {file, source.step};
}

}  // namespace lb
