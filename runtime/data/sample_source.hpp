#pragma once
// Where a batch's samples come from. BatchLoader decides which samples make
// up a batch (shuffle, shard over ranks) and a SampleSource turns one sample
// index into the network's input: a copy out of memory (ImageSetSource) or a
// JPEG read and decoded on the spot (JpegSource), so a data set need not fit
// in memory. write_sample must be a pure function of its arguments (the
// loader's guarantee that a batch depends only on seed, epoch, index, rank
// and world rests on it) and safe to call from several threads at once.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lb {

struct SampleShape {
  int channels = 0, height = 0, width = 0;
  std::int64_t size() const { return std::int64_t(channels) * height * width; }
};

class SampleSource {
 public:
  virtual ~SampleSource() = default;

  virtual std::int64_t count() const = 0;
  virtual SampleShape shape() const = 0;
  virtual int classes() const = 0;

  // Writes sample `sample` (0 <= sample < count()) as a normalised
  // (C, H, W) float image to `dst` and returns its label. `augment_key`:
  // the seed of the sample's training augmentation, or nullopt for the
  // evaluation transform. May throw DataError naming a file.
  virtual std::int32_t write_sample(std::int64_t sample, std::optional<std::uint64_t> augment_key,
                                    float* dst) const = 0;

  // Files this source skipped as unreadable (data.skip_corrupt) so far, and
  // up to `limit` of them as "PATH: why", for the log.
  virtual std::int64_t skipped_files() const { return 0; }
  virtual std::vector<std::string> skipped_examples(std::size_t limit) const { return {}; }
};

}  // namespace lb
