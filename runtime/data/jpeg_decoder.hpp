#pragma once
// JPEG decoding with libjpeg-turbo's TurboJPEG API, using its DCT-domain
// scaling: an image that will be shrunk anyway is decoded at 1/2, 1/4, ...
// of its size, which costs a fraction of a full decode.
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

namespace lb {

// A file is not a JPEG, or is corrupt or truncated. The message says what
// libjpeg-turbo found; the caller adds the file's name.
class JpegError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct JpegHeader {
  int width = 0, height = 0;
  bool cmyk = false;  // CMYK or YCCK: decoded as CMYK, converted to RGB here
};

// An interleaved 8-bit RGB image (H, W, 3).
struct RgbImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;
};

// One per thread: a TurboJPEG handle must not be shared between threads.
class JpegDecoder {
 public:
  JpegDecoder();
  ~JpegDecoder();
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;

  // Throws JpegError when `jpeg` is not a JPEG stream.
  JpegHeader header(std::span<const std::uint8_t> jpeg);

  // Decodes to RGB at the smallest DCT scale (of libjpeg-turbo's, at most 1)
  // whose image is still at least `min_width` x `min_height` pixels; 0 = the
  // full size. `out` keeps its buffer between calls. Grayscale and CMYK
  // become RGB. Any libjpeg warning (e.g. a truncated file) is an error, so
  // a damaged image is never used half-grey. Throws JpegError.
  void decode(std::span<const std::uint8_t> jpeg, const JpegHeader& header, int min_width,
              int min_height, RgbImage& out);

 private:
  [[noreturn]] void fail(const char* what);
  void* handle_;
  std::vector<std::uint8_t> cmyk_;
};

}  // namespace lb
