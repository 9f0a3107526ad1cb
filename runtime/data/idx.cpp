#include "runtime/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/core/errors.hpp"

namespace lb {
namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
// zlib reads at most UINT_MAX bytes per call; chunks also bound how far a
// buffer grows past the data actually present (see kReserveLimit).
constexpr std::size_t kChunk = std::size_t(1) << 20;
// Up to this size the whole payload is allocated at once; beyond it the header
// is more likely corrupt than right, and the buffer grows as data arrives.
constexpr std::uint64_t kReserveLimit = std::uint64_t(1) << 28;
// Larger than any IDX data set; guards the size arithmetic against overflow.
constexpr std::uint64_t kMaxBytes = std::uint64_t(1) << 36;

std::string hex32(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

// A zlib file handle. gzopen/gzread read gzip and plain files alike, so both
// the .gz files as distributed and unpacked copies work.
class GzReader {
 public:
  explicit GzReader(const std::filesystem::path& path) : name_(path.string()) {
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) {
      throw DataError(name_, std::string("cannot open (") +
                                 (errno ? std::strerror(errno) : "out of memory") + ")");
    }
    gzbuffer(file_, 1 << 17);
  }
  ~GzReader() { gzclose_r(file_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  const std::string& name() const { return name_; }

  // Reads up to n bytes into dst; fewer only at end of file.
  std::size_t read(unsigned char* dst, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const int got = gzread(file_, dst + done, unsigned(std::min(n - done, kChunk)));
      if (got < 0) fail();
      if (got == 0) break;
      done += std::size_t(got);
    }
    return done;
  }

  // Reads up to n bytes, growing the result only as data actually arrives.
  std::vector<unsigned char> read_vector(std::uint64_t n) {
    std::vector<unsigned char> bytes;
    bytes.reserve(std::min<std::uint64_t>(n, kReserveLimit));
    while (bytes.size() < n) {
      const std::size_t old = bytes.size();
      bytes.resize(old + std::min<std::uint64_t>(n - old, kChunk));
      const std::size_t got = read(bytes.data() + old, bytes.size() - old);
      bytes.resize(old + got);
      if (got == 0) break;
    }
    return bytes;
  }

  // After the expected data: a gzip stream's CRC is checked only when its end
  // is read, so one more read catches corruption that inflated cleanly.
  void check_end() {
    unsigned char extra;
    read(&extra, 1);
  }

  // Explains a short read: a truncated gzip stream leaves a zlib error behind.
  std::string stream_note() {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    return code == Z_OK ? "" : std::string(" (") + message + ")";
  }

 private:
  [[noreturn]] void fail() {
    const int saved_errno = errno;
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    if (code == Z_ERRNO) {
      throw DataError(name_, std::string("read failed (") + std::strerror(saved_errno) + ")");
    }
    throw DataError(name_, std::string("corrupt gzip data (") + message + ")");
  }

  std::string name_;
  gzFile file_ = nullptr;
};

// Reads and checks the magic number, then returns the dimension sizes.
std::vector<std::uint32_t> read_header(GzReader& in, std::uint32_t magic, const char* kind) {
  const std::size_t dims = magic & 0xff;
  std::array<unsigned char, 4 * 4> raw{};
  const std::size_t want = 4 * (1 + dims);
  const std::size_t got = in.read(raw.data(), want);
  auto word = [&](std::size_t i) {
    return std::uint32_t(raw[4 * i]) << 24 | std::uint32_t(raw[4 * i + 1]) << 16 |
           std::uint32_t(raw[4 * i + 2]) << 8 | std::uint32_t(raw[4 * i + 3]);
  };
  if (got >= 4 && word(0) != magic) {
    throw DataError(in.name(),
                    std::string("not an IDX ") + kind + " file (magic " + hex32(word(0)) + ")");
  }
  if (got < want) {
    throw DataError(in.name(), "truncated: expected " + std::to_string(want) +
                                   " bytes of header, got " + std::to_string(got) +
                                   in.stream_note());
  }
  std::vector<std::uint32_t> sizes;
  for (std::size_t i = 1; i <= dims; ++i) sizes.push_back(word(i));
  return sizes;
}

// Reads the payload of `expected` bytes and checks nothing is missing.
std::vector<unsigned char> read_payload(GzReader& in, std::uint64_t expected, const char* what) {
  std::vector<unsigned char> bytes = in.read_vector(expected);
  if (bytes.size() < expected) {
    throw DataError(in.name(), "truncated: expected " + std::to_string(expected) + " bytes of " +
                                   what + " data, got " + std::to_string(bytes.size()) +
                                   in.stream_note());
  }
  in.check_end();
  return bytes;
}

std::vector<unsigned char> read_labels(const std::filesystem::path& path) {
  GzReader in(path);
  const std::uint32_t count = read_header(in, kLabelsMagic, "labels")[0];
  return read_payload(in, count, "label");
}

// Fills set's shape from the header and returns the raw pixels. Checks the
// image count against the labels first, so a mismatch fails before inflating.
std::vector<unsigned char> read_images(const std::filesystem::path& path,
                                       const std::filesystem::path& labels_path,
                                       std::size_t label_count, ImageSet& set) {
  GzReader in(path);
  const std::vector<std::uint32_t> dims = read_header(in, kImagesMagic, "images");
  if (dims[0] != label_count) {
    throw DataError(in.name(), std::to_string(dims[0]) + " images but " + labels_path.string() +
                                   " has " + std::to_string(label_count) + " labels");
  }
  const std::uint64_t bytes = std::uint64_t(dims[0]) * dims[1] * dims[2];
  if (dims[1] == 0 || dims[2] == 0 || dims[1] > 65535 || dims[2] > 65535 || bytes > kMaxBytes) {
    throw DataError(in.name(), "implausible image dimensions " + std::to_string(dims[0]) + "x" +
                                   std::to_string(dims[1]) + "x" + std::to_string(dims[2]));
  }
  set.count = dims[0];
  set.channels = 1;
  set.height = int(dims[1]);
  set.width = int(dims[2]);
  return read_payload(in, bytes, "pixel");
}

}  // namespace

ImageSet read_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                  float mean, float stddev) {
  if (!(stddev > 0.0f)) throw std::invalid_argument("read_idx: stddev must be positive");
  const std::vector<unsigned char> label_bytes = read_labels(labels);
  ImageSet set;
  const std::vector<unsigned char> pixel_bytes =
      read_images(images, labels, label_bytes.size(), set);

  // 256 possible inputs: a table makes normalisation one load per pixel.
  std::array<float, 256> table;
  for (int x = 0; x < 256; ++x) table[x] = (float(x) / 255.0f - mean) / stddev;
  set.pad_value = table[0];
  set.pixels.resize(pixel_bytes.size());
  std::transform(pixel_bytes.begin(), pixel_bytes.end(), set.pixels.begin(),
                 [&](unsigned char x) { return table[x]; });

  set.labels.assign(label_bytes.begin(), label_bytes.end());
  const auto top = std::max_element(label_bytes.begin(), label_bytes.end());
  set.classes = top == label_bytes.end() ? 0 : int(*top) + 1;
  return set;
}

}  // namespace lb
