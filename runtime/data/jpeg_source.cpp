#include "runtime/data/jpeg_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <span>

#include "runtime/core/errors.hpp"
#include "runtime/core/half.hpp"
#include "runtime/data/image_transform.hpp"
#include "runtime/data/jpeg_decoder.hpp"

namespace lb {
namespace {

// A skipped sample is replaced by the next readable one; this many failures
// in a row mean the data set itself is unusable.
constexpr std::int64_t kMaxConsecutiveFailures = 64;
// Larger than any sane JPEG: guards the read against a runaway size.
constexpr std::uint64_t kMaxImageBytes = std::uint64_t(1) << 30;

std::string errno_text() { return std::strerror(errno); }

// Reads exactly `size` bytes at `offset`; false on a short read.
bool read_at(int fd, std::uint8_t* dst, std::uint64_t size, std::uint64_t offset) {
  while (size > 0) {
    const ssize_t got = ::pread(fd, dst, size, off_t(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    dst += got, size -= std::uint64_t(got), offset += std::uint64_t(got);
  }
  return true;
}

}  // namespace

JpegSource::JpegSource(ImageIndex index, JpegSourceOptions options)
    : index_(std::move(index)), options_(std::move(options)) {
  if (!index_.shards) return;
  for (std::uint32_t i = 0; i < index_.files.size(); ++i) {
    const std::string path = index_.files[i];
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && !options_.skip_corrupt)
      throw DataError(path, "cannot open (" + errno_text() + ")");
    shard_fds_.push_back(fd);
  }
}

JpegSource::~JpegSource() {
  for (int fd : shard_fds_) {
    if (fd >= 0) ::close(fd);
  }
}

std::string JpegSource::path_of(std::int64_t sample) const {
  const ImageRecord& r = index_.records[std::size_t(sample)];
  if (!index_.shards) return index_.files[r.file];
  return index_.files[r.file] + " (member at byte " + std::to_string(r.offset) + ")";
}

void JpegSource::read_bytes(const ImageRecord& record, std::vector<std::uint8_t>& bytes) const {
  if (index_.shards) {
    const int fd = shard_fds_[record.file];
    if (fd < 0) throw JpegError("cannot open the shard");
    bytes.resize(record.size);
    if (!read_at(fd, bytes.data(), record.size, record.offset))
      throw JpegError("cannot read (" + errno_text() + ")");
    return;
  }
  const std::string path = index_.files[record.file];
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw JpegError("cannot open (" + errno_text() + ")");
  struct stat info {};
  const bool ok =
      ::fstat(fd, &info) == 0 && std::uint64_t(info.st_size) <= kMaxImageBytes &&
      (bytes.resize(std::size_t(info.st_size)), read_at(fd, bytes.data(), bytes.size(), 0));
  const std::string reason = ok ? "" : "cannot read (" + errno_text() + ")";
  ::close(fd);
  if (!ok) throw JpegError(reason);
}

void JpegSource::decode_sample(std::int64_t sample, std::optional<std::uint64_t> augment_key,
                               float* dst) const {
  thread_local JpegDecoder decoder;
  thread_local std::vector<std::uint8_t> bytes;
  thread_local RgbImage image;
  read_bytes(index_.records[std::size_t(sample)], bytes);
  const JpegHeader header = decoder.header(bytes);
  const ImageSpec& spec = options_.image;
  RandomCrop crop;
  if (augment_key) {
    crop = draw_random_resized_crop(header.width, header.height, spec, options_.horizontal_flip,
                                    *augment_key);
  } else {
    crop.window = center_crop(header.width, header.height, spec);
  }
  // Decode no larger than needed for the crop to still cover the output.
  const int min_width = int(std::ceil(spec.size * header.width / crop.window.width));
  const int min_height = int(std::ceil(spec.size * header.height / crop.window.height));
  decoder.decode(bytes, header, min_width, min_height, image);
  const double sx = double(image.width) / header.width, sy = double(image.height) / header.height;
  const CropWindow scaled{crop.window.x * sx, crop.window.y * sy, crop.window.width * sx,
                          crop.window.height * sy};
  resize_crop_normalise(image, scaled, spec.size, crop.flip, Normalisation(spec), dst);
  if (options_.half_output) round_to_half(std::span<float>(dst, std::size_t(shape().size())));
}

void JpegSource::note_skipped(std::int64_t sample, const std::string& reason) const {
  std::lock_guard lock(mutex_);
  if (failed_.insert(sample).second && failed_examples_.size() < 16) {
    failed_examples_.push_back({path_of(sample), reason});
  }
}

std::int32_t JpegSource::write_sample(std::int64_t sample, std::optional<std::uint64_t> augment_key,
                                      float* dst) const {
  for (std::int64_t attempt = 0; attempt < std::min(kMaxConsecutiveFailures, count()); ++attempt) {
    const std::int64_t candidate = (sample + attempt) % count();
    try {
      decode_sample(candidate, augment_key, dst);
      return index_.records[std::size_t(candidate)].label;
    } catch (const JpegError& e) {
      if (!options_.skip_corrupt) throw DataError(path_of(candidate), e.what());
      note_skipped(candidate, e.what());
    }
  }
  throw DataError(path_of(sample), "this and the next " +
                                       std::to_string(kMaxConsecutiveFailures - 1) +
                                       " samples are all unreadable (data.skip_corrupt)");
}

std::int64_t JpegSource::skipped_files() const {
  std::lock_guard lock(mutex_);
  return std::int64_t(index_.skipped.size() + failed_.size());
}

std::vector<std::string> JpegSource::skipped_examples(std::size_t limit) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  auto add = [&](const std::vector<SkippedFile>& files) {
    for (const SkippedFile& f : files) {
      if (out.size() < limit) out.push_back(f.path + ": " + f.reason);
    }
  };
  add(index_.skipped);
  add(failed_examples_);
  return out;
}

}  // namespace lb
