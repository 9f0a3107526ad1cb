#include "runtime/data/image_transform.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/data/sampling.hpp"

namespace lb {

RandomCrop draw_random_resized_crop(int width, int height, const ImageSpec& spec, bool flip,
                                    std::uint64_t key) {
  SplitMix64 rng(key);
  const double area = double(width) * height;
  const double log_low = std::log(spec.ratio[0]), log_high = std::log(spec.ratio[1]);
  RandomCrop crop;
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    const double target =
        area * (spec.scale[0] + (spec.scale[1] - spec.scale[0]) * uniform_open0(rng));
    const double aspect = std::exp(log_low + (log_high - log_low) * uniform_open0(rng));
    const long w = std::lround(std::sqrt(target * aspect)),
               h = std::lround(std::sqrt(target / aspect));
    if (w <= 0 || w > width || h <= 0 || h > height) continue;
    const auto x = double(uniform_index(rng, std::uint64_t(width - w + 1)));
    const auto y = double(uniform_index(rng, std::uint64_t(height - h + 1)));
    crop.window = {x, y, double(w), double(h)};
    found = true;
  }
  if (!found) {  // torchvision's fallback: the whole image, cut to the ratio range
    const double in_ratio = double(width) / height;
    double w = width, h = height;
    if (in_ratio < spec.ratio[0]) h = double(std::lround(w / spec.ratio[0]));
    if (in_ratio > spec.ratio[1]) w = double(std::lround(h * spec.ratio[1]));
    crop.window = {std::floor((width - w) / 2), std::floor((height - h) / 2), w, h};
  }
  if (flip) crop.flip = (rng() >> 63) != 0;
  return crop;
}

CropWindow center_crop(int width, int height, const ImageSpec& spec) {
  const double scale = double(spec.resize) / std::min(width, height);  // resized / source
  const double side_w = std::min(double(width), spec.size / scale);
  const double side_h = std::min(double(height), spec.size / scale);
  return {(width - side_w) / 2, (height - side_h) / 2, side_w, side_h};
}

Normalisation::Normalisation(const ImageSpec& spec) {
  for (int c = 0; c < 3; ++c) {
    scale[std::size_t(c)] = float(1.0 / (255.0 * spec.std[std::size_t(c)]));
    offset[std::size_t(c)] = float(-spec.mean[std::size_t(c)] / spec.std[std::size_t(c)]);
  }
}

namespace {

// For each output pixel, the input pixels [first, first + count) it reads
// and their weights (weights[j * taps + k]).
struct Taps {
  int taps = 0;
  std::vector<int> first, count;
  std::vector<float> weights;
};

// Output pixel j covers [start + j * step, start + (j + 1) * step) of the
// input; a triangle filter of radius max(step, 1) around its centre, clipped
// to [0, limit) and renormalised, as PIL's bilinear resample.
Taps make_taps(double start, double length, int limit, int out, bool mirror) {
  const double step = length / out, radius = std::max(step, 1.0);
  Taps t;
  t.taps = int(std::ceil(radius)) * 2 + 1;
  t.first.resize(std::size_t(out));
  t.count.resize(std::size_t(out));
  t.weights.assign(std::size_t(out) * std::size_t(t.taps), 0.0f);
  for (int j = 0; j < out; ++j) {
    const int slot = mirror ? out - 1 - j : j;
    const double center = start + (j + 0.5) * step;
    const int lo = std::clamp(int(std::floor(center - radius)), 0, limit - 1);
    const int hi = std::clamp(int(std::ceil(center + radius)), lo + 1, limit);
    const int n = std::min(hi - lo, t.taps);
    float* w = t.weights.data() + std::size_t(slot) * std::size_t(t.taps);
    double sum = 0;
    for (int k = 0; k < n; ++k) {
      const double distance = std::abs(lo + k + 0.5 - center) / radius;
      w[k] = float(std::max(0.0, 1.0 - distance));
      sum += w[k];
    }
    if (sum <= 0) {  // a window thinner than a pixel: take the nearest one
      w[0] = 1.0f;
      sum = 1.0;
    }
    for (int k = 0; k < n; ++k) w[k] = float(w[k] / sum);
    t.first[std::size_t(slot)] = lo;
    t.count[std::size_t(slot)] = n;
  }
  return t;
}

}  // namespace

void resize_crop_normalise(const RgbImage& image, const CropWindow& window, int size, bool flip,
                           const Normalisation& norm, float* dst) {
  const Taps xs = make_taps(window.x, window.width, image.width, size, flip);
  const Taps ys = make_taps(window.y, window.height, image.height, size, false);
  const int row_lo = ys.first.front(), row_hi = ys.first.back() + ys.count.back();
  // Horizontal pass over the rows the vertical pass reads: (rows, size, 3).
  thread_local std::vector<float> rows;
  rows.resize(std::size_t(row_hi - row_lo) * std::size_t(size) * 3);
  for (int y = row_lo; y < row_hi; ++y) {
    const std::uint8_t* src = image.pixels.data() + std::size_t(y) * std::size_t(image.width) * 3;
    float* out = rows.data() + std::size_t(y - row_lo) * std::size_t(size) * 3;
    for (int j = 0; j < size; ++j, out += 3) {
      const float* w = xs.weights.data() + std::size_t(j) * std::size_t(xs.taps);
      const std::uint8_t* p = src + std::size_t(xs.first[std::size_t(j)]) * 3;
      float r = 0, g = 0, b = 0;
      for (int k = 0; k < xs.count[std::size_t(j)]; ++k, p += 3) {
        r += w[k] * p[0];
        g += w[k] * p[1];
        b += w[k] * p[2];
      }
      out[0] = r, out[1] = g, out[2] = b;
    }
  }
  // Vertical pass: whole rows at a time (vectorisable), then planar
  // (3, size, size) and normalised.
  const std::size_t row_values = std::size_t(size) * 3,
                    plane = std::size_t(size) * std::size_t(size);
  thread_local std::vector<float> sum;
  sum.resize(row_values);
  for (int i = 0; i < size; ++i) {
    const float* w = ys.weights.data() + std::size_t(i) * std::size_t(ys.taps);
    const int first = ys.first[std::size_t(i)] - row_lo;
    std::fill(sum.begin(), sum.end(), 0.0f);
    for (int k = 0; k < ys.count[std::size_t(i)]; ++k) {
      const float* row = rows.data() + std::size_t(first + k) * row_values;
      const float wk = w[k];
      for (std::size_t v = 0; v < row_values; ++v) sum[v] += wk * row[v];
    }
    for (int c = 0; c < 3; ++c) {
      float* out = dst + std::size_t(c) * plane + std::size_t(i) * std::size_t(size);
      const float scale = norm.scale[std::size_t(c)], offset = norm.offset[std::size_t(c)];
      for (int j = 0; j < size; ++j)
        out[j] = sum[std::size_t(j) * 3 + std::size_t(c)] * scale + offset;
    }
  }
}

}  // namespace lb
