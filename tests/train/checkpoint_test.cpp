#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "runtime/train/checkpoint.hpp"

namespace lb {
namespace {

namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lb_ckpt_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    file_ = dir_ / "checkpoint.bin";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_, file_;
};

TEST_F(CheckpointTest, RoundTripsTensorsStepAndMeta) {
  std::vector<float> a{1, 2, 3}, b{-4.5f, 1e-8f};
  save_checkpoint(file_, 42, {{"scale", 1024}}, {{"a", a}, {"b", b}});
  std::vector<float> a2(3), b2(2);
  const auto loaded = load_checkpoint(file_, {{"a", a2}, {"b", b2}});
  EXPECT_EQ(loaded.step, 42);
  EXPECT_EQ(loaded.meta.at("scale"), 1024);
  EXPECT_EQ(a, a2);
  EXPECT_EQ(b, b2);
  EXPECT_FALSE(fs::exists(file_.string() + ".tmp." + std::to_string(::getpid())));
}

TEST_F(CheckpointTest, DetectsCorruptionTruncationAndMismatch) {
  std::vector<float> a{1, 2, 3};
  save_checkpoint(file_, 1, {}, {{"a", a}});
  std::string bytes = read_file(file_);

  auto expect_error = [&](const std::string& content, const std::string& what,
                          std::vector<NamedSpan> tensors) {
    write_file_atomically(file_, content);
    try {
      load_checkpoint(file_, tensors);
      ADD_FAILURE() << "no error for " << what;
    } catch (const CheckpointError& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(file_.string()), std::string::npos) << e.what();
    }
  };
  std::vector<float> out(3), wrong(4);
  std::string flipped = bytes;
  flipped[flipped.size() - 40] ^= 1;
  expect_error(flipped, "checksum mismatch", {{"a", out}});
  expect_error(bytes.substr(0, 20), "bad magic", {{"a", out}});
  expect_error("garbage that is not a checkpoint at all, long enough to pass the size", "bad magic",
               {{"a", out}});
  expect_error(bytes, "does not match", {{"a", wrong}});
  expect_error(bytes, "does not match", {{"x", out}});
  expect_error(bytes, "different model", {{"a", out}, {"b", out}});
}

}  // namespace
}  // namespace lb
