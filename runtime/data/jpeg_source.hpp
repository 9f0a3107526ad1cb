#pragma once
// JPEG images on disk (an ImageFolder tree or tar shards) as a SampleSource:
// each sample is read, decoded at the smallest DCT scale its crop allows,
// cropped, resized, flipped and normalised when a batch asks for it, so the
// data set never has to fit in memory.
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "runtime/core/spec.hpp"
#include "runtime/data/image_index.hpp"
#include "runtime/data/sample_source.hpp"

namespace lb {

struct JpegSourceOptions {
  ImageSpec image;
  bool horizontal_flip = true;  // training augmentation
  bool skip_corrupt = false;
  bool half_output = false;  // round the output to binary16 (fp16 runs)
};

class JpegSource : public SampleSource {
 public:
  // Throws DataError naming a shard that cannot be opened.
  JpegSource(ImageIndex index, JpegSourceOptions options);
  ~JpegSource() override;

  std::int64_t count() const override { return std::int64_t(index_.records.size()); }
  SampleShape shape() const override { return {3, options_.image.size, options_.image.size}; }
  int classes() const override { return index_.classes; }
  // Training (augment_key set): random-resized crop and flip; evaluation:
  // resize + center crop. A file that cannot be decoded throws DataError
  // naming it, or with skip_corrupt is counted and replaced by the next
  // readable sample (with that sample's own label).
  std::int32_t write_sample(std::int64_t sample, std::optional<std::uint64_t> augment_key,
                            float* dst) const override;
  // Files left out when indexing plus files found unreadable since.
  std::int64_t skipped_files() const override;
  std::vector<std::string> skipped_examples(std::size_t limit) const override;

  const ImageIndex& index() const { return index_; }
  std::string path_of(std::int64_t sample) const;

 private:
  void decode_sample(std::int64_t sample, std::optional<std::uint64_t> augment_key,
                     float* dst) const;
  void read_bytes(const ImageRecord& record, std::vector<std::uint8_t>& bytes) const;
  void note_skipped(std::int64_t sample, const std::string& reason) const;

  ImageIndex index_;
  JpegSourceOptions options_;
  std::vector<int> shard_fds_;  // open for pread() when the records are in shards
  mutable std::mutex mutex_;
  mutable std::set<std::int64_t> failed_;  // samples found unreadable
  mutable std::vector<SkippedFile> failed_examples_;
};

}  // namespace lb
