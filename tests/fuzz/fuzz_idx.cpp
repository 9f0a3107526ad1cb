// The IDX reader (Fashion-MNIST's format, gzip or plain). The first two
// bytes give the length of the labels file; the labels, then the images
// file, follow.
#include <algorithm>
#include <string>

#include "fuzz_common.hpp"
#include "runtime/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t labels_size =
      std::min<std::size_t>(size - 2, std::size_t(data[0]) << 8 | data[1]);
  const char* bytes = reinterpret_cast<const char*>(data) + 2;
  const auto labels = lb::fuzz::scratch_file("labels.idx", std::string_view(bytes, labels_size));
  const auto images = lb::fuzz::scratch_file(
      "images.idx", std::string_view(bytes + labels_size, size - 2 - labels_size));
  lb::fuzz::expect_clean_rejection([&] {
    const lb::ImageSet set = lb::read_idx(images, labels, 0.5f, 0.25f);
    if (set.pixels.size() != std::size_t(set.count * set.image_size()) ||
        set.labels.size() != std::size_t(set.count)) {
      lb::fuzz::escaped("read_idx returned a set whose sizes disagree");
    }
  });
  return 0;
}
