#include "runtime/data/data_sources.hpp"

#include "runtime/core/errors.hpp"
#include "runtime/data/datasets.hpp"
#include "runtime/data/image_set_source.hpp"
#include "runtime/data/jpeg_source.hpp"
#include "runtime/data/validation_split.hpp"

namespace lb {
namespace {

std::shared_ptr<const SampleSource> in_memory(const DataSpec& spec, bool train,
                                              std::uint64_t seed) {
  auto set = std::make_shared<const ImageSet>(load_dataset(spec, train, seed));
  return std::make_shared<ImageSetSource>(std::move(set), spec.augment);
}

// data.train_subset for JPEG sets: N records evenly spread over the index,
// so that every class keeps its share (the index is sorted by class).
void keep_subset(ImageIndex& index, std::int64_t n, const std::string& source) {
  const auto count = std::int64_t(index.records.size());
  if (n > count) {
    throw SpecError("data.train_subset", std::to_string(n) + " exceeds the " +
                                             std::to_string(count) + " images in " + source);
  }
  std::vector<ImageRecord> kept;
  kept.reserve(std::size_t(n));
  for (std::int64_t i = 0; i < n; ++i) kept.push_back(index.records[std::size_t(i * count / n)]);
  index.records = std::move(kept);
}

ImageIndex index_split(const DataSpec& spec, bool train, const ImageIndex* train_index) {
  if (spec.dataset == Dataset::imagefolder) {
    if (spec.root.empty())
      throw SpecError("data.root",
                      "expected the folder holding train/ and val/ for dataset \"imagefolder\"");
    const std::filesystem::path dir = std::filesystem::path(spec.root) / (train ? "train" : "val");
    return index_image_folder(dir, train ? std::vector<std::string>{} : train_index->class_names,
                              spec.skip_corrupt);
  }
  const std::string& pattern = train ? spec.train_shards : spec.val_shards;
  if (pattern.empty()) {
    throw SpecError(train ? "data.train_shards" : "data.val_shards",
                    "expected a shard pattern for dataset \"shards\"");
  }
  ImageIndex index = index_shards(expand_braces(pattern), spec.skip_corrupt);
  if (!train) {
    for (const ImageRecord& r : index.records) {
      if (r.label < train_index->classes) continue;
      throw DataError(index.files[r.file], "label " + std::to_string(r.label) +
                                               " but the training shards have " +
                                               std::to_string(train_index->classes) + " classes");
    }
    index.classes = train_index->classes;
  }
  return index;
}

std::shared_ptr<const SampleSource> jpeg_source(ImageIndex index, const DataSpec& spec,
                                                Precision precision) {
  const std::string where = index.files.size() > 0 ? index.files[0] : spec.root;
  if (index.records.empty()) throw DataError(where, "no readable images");
  return std::make_shared<JpegSource>(
      std::move(index), JpegSourceOptions{spec.image, spec.augment.horizontal_flip,
                                          spec.skip_corrupt, precision == Precision::fp16});
}

DataSources load_train_and_test(const DataSpec& spec, std::uint64_t seed, Precision precision) {
  if (spec.dataset != Dataset::imagefolder && spec.dataset != Dataset::shards) {
    return {in_memory(spec, true, seed), in_memory(spec, false, seed), nullptr};
  }
  ImageIndex train = index_split(spec, true, nullptr);
  ImageIndex test = index_split(spec, false, &train);
  if (spec.train_subset > 0)
    keep_subset(train, spec.train_subset,
                spec.dataset == Dataset::shards ? spec.train_shards : spec.root);
  return {jpeg_source(std::move(train), spec, precision),
          jpeg_source(std::move(test), spec, precision), nullptr};
}

}  // namespace

DataSources load_sources(const DataSpec& spec, std::uint64_t seed, Precision precision) {
  DataSources sources = load_train_and_test(spec, seed, precision);
  if (spec.validation_images > 0) {
    HeldOut split =
        hold_out_validation(std::move(sources.train), spec.validation_images, spec.validation_seed);
    sources.train = std::move(split.train);
    sources.validation = std::move(split.validation);
  }
  return sources;
}

}  // namespace lb
