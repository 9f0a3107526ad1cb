#include "runtime/data/jpeg_decoder.hpp"

#include <turbojpeg.h>

#include <algorithm>
#include <new>
#include <string>

namespace lb {
namespace {

// libjpeg-turbo's scaling factors no larger than 1, largest first.
std::vector<tjscalingfactor> downscaling_factors() {
  int count = 0;
  const tjscalingfactor* all = tjGetScalingFactors(&count);
  std::vector<tjscalingfactor> factors;
  for (int i = 0; all != nullptr && i < count; ++i) {
    if (all[i].num <= all[i].denom) factors.push_back(all[i]);
  }
  std::sort(factors.begin(), factors.end(), [](tjscalingfactor a, tjscalingfactor b) {
    return double(a.num) / a.denom > double(b.num) / b.denom;
  });
  return factors;
}

// The smallest factor whose scaled image still covers min_width x min_height.
tjscalingfactor choose_factor(const JpegHeader& header, int min_width, int min_height) {
  static const std::vector<tjscalingfactor> factors = downscaling_factors();
  tjscalingfactor best{1, 1};
  if (min_width <= 0 && min_height <= 0) return best;  // the full size
  for (const tjscalingfactor& f : factors) {
    if (TJSCALED(header.width, f) < min_width || TJSCALED(header.height, f) < min_height) break;
    best = f;
  }
  return best;
}

// Adobe writes CMYK JPEGs inverted (0 = full ink), so R = C * K / 255 on the
// stored values, as libjpeg-based readers convert them.
void cmyk_to_rgb(const std::uint8_t* cmyk, std::size_t pixels, std::uint8_t* rgb) {
  for (std::size_t i = 0; i < pixels; ++i, cmyk += 4, rgb += 3) {
    const unsigned k = cmyk[3];
    for (int c = 0; c < 3; ++c) rgb[c] = std::uint8_t((cmyk[c] * k + 127) / 255);
  }
}

}  // namespace

JpegDecoder::JpegDecoder() : handle_(tjInitDecompress()) {
  if (handle_ == nullptr) throw std::bad_alloc();
}

JpegDecoder::~JpegDecoder() { tjDestroy(handle_); }

void JpegDecoder::fail(const char* what) {
  throw JpegError(std::string(what) + ": " + tjGetErrorStr2(handle_));
}

JpegHeader JpegDecoder::header(std::span<const std::uint8_t> jpeg) {
  if (jpeg.size() < 3 || jpeg[0] != 0xFF || jpeg[1] != 0xD8 || jpeg[2] != 0xFF) {
    throw JpegError("not a JPEG file (no JPEG start-of-image marker)");
  }
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle_, jpeg.data(), jpeg.size(), &width, &height, &subsampling,
                          &colorspace) != 0) {
    fail("corrupt JPEG header");
  }
  if (width <= 0 || height <= 0) throw JpegError("corrupt JPEG header: no image size");
  return {width, height, colorspace == TJCS_CMYK || colorspace == TJCS_YCCK};
}

void JpegDecoder::decode(std::span<const std::uint8_t> jpeg, const JpegHeader& header,
                         int min_width, int min_height, RgbImage& out) {
  const tjscalingfactor f = choose_factor(header, min_width, min_height);
  out.width = TJSCALED(header.width, f);
  out.height = TJSCALED(header.height, f);
  const std::size_t pixels = std::size_t(out.width) * std::size_t(out.height);
  out.pixels.resize(pixels * 3);
  const int flags = TJFLAG_STOPONWARNING;
  std::uint8_t* target = out.pixels.data();
  if (header.cmyk) {
    cmyk_.resize(pixels * 4);
    target = cmyk_.data();
  }
  if (tjDecompress2(handle_, jpeg.data(), jpeg.size(), target, out.width, 0, out.height,
                    header.cmyk ? TJPF_CMYK : TJPF_RGB, flags) != 0) {
    fail("corrupt or truncated JPEG");
  }
  if (header.cmyk) cmyk_to_rgb(cmyk_.data(), pixels, out.pixels.data());
}

}  // namespace lb
