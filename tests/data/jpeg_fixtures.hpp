#pragma once
// Test images made on the spot: JPEGs encoded with TurboJPEG (RGB,
// grayscale, CMYK), damaged copies, tar shards written with libarchive, and
// a scratch folder per test.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace lb::test {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

// An interleaved image whose pixel (x, y) has colour f(x, y).
template <typename F>
Bytes make_pixels(int width, int height, int channels, F f) {
  Bytes pixels(std::size_t(width) * std::size_t(height) * std::size_t(channels));
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const auto colour = f(x, y);
      for (int c = 0; c < channels; ++c) {
        pixels[(std::size_t(y) * std::size_t(width) + std::size_t(x)) * std::size_t(channels) +
               std::size_t(c)] = std::uint8_t(colour[std::size_t(c)]);
      }
    }
  }
  return pixels;
}

// format: TJPF_RGB (3 channels), TJPF_GRAY (1) or TJPF_CMYK (4, a YCCK JPEG).
inline Bytes encode_jpeg(const Bytes& pixels, int width, int height, int format, int quality = 95) {
  tjhandle handle = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const int subsampling = format == TJPF_GRAY ? TJSAMP_GRAY : TJSAMP_444;
  const int status = tjCompress2(handle, pixels.data(), width, 0, height, format, &out, &size,
                                 subsampling, quality, 0);
  EXPECT_EQ(status, 0) << tjGetErrorStr2(handle);
  Bytes jpeg(out, out + size);
  tjFree(out);
  tjDestroy(handle);
  return jpeg;
}

inline Bytes solid_rgb_jpeg(int width, int height, std::array<int, 3> rgb) {
  return encode_jpeg(make_pixels(width, height, 3, [&](int, int) { return rgb; }), width, height,
                     TJPF_RGB);
}

inline void write_bytes(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

inline Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// A plain (or gzip-compressed) tar of (member name, contents); names over
// 100 characters get pax extended headers.
inline void write_tar(const fs::path& path,
                      const std::vector<std::pair<std::string, Bytes>>& members,
                      bool gzip = false) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
  for (const auto& [name, data] : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, la_int64_t(data.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

inline Bytes text_bytes(const std::string& text) { return Bytes(text.begin(), text.end()); }

// A scratch folder per test, removed afterwards.
class ScratchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lb_jpeg_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

}  // namespace lb::test
