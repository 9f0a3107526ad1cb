#pragma once
// The IDX format of MNIST and Fashion-MNIST: a big-endian header (magic, then
// one 32-bit size per dimension) followed by unsigned bytes.
#include <filesystem>

#include "runtime/data/image_set.hpp"

namespace lb {

// Reads an IDX images file (magic 0x00000803: N, rows, cols) and its labels
// file (magic 0x00000801: N), gzip-compressed or plain. Pixels become
// (x/255 - mean)/stddev; classes = largest label + 1. Throws DataError naming
// the file when one is missing, of the wrong kind, truncated or corrupt, or
// when the two files disagree on the number of images.
ImageSet read_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                  float mean, float stddev);

}  // namespace lb
