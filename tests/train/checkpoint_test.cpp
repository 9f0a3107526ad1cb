#include "runtime/train/checkpoint.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"

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

// A checkpoint file with `header` as its JSON header and a valid checksum,
// as someone who knows the format could write it by hand.
std::string crafted_checkpoint(const std::string& header, const std::vector<float>& data) {
  std::string body("LBCKPT\0\0", 8);
  const std::uint32_t version = kCheckpointVersion, reserved = 0;
  const std::uint64_t length = header.size();
  body.append(reinterpret_cast<const char*>(&version), 4);
  body.append(reinterpret_cast<const char*>(&reserved), 4);
  body.append(reinterpret_cast<const char*>(&length), 8);
  body += header;
  body.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
  return body + checkpoint_digest(body);
}

// Issue 17, items 5 and 13: a header that passes the checksum but holds
// nonsense is a CheckpointError naming the field, never a crash or a raw
// library exception.
TEST_F(CheckpointTest, CraftedHeadersWithAValidChecksumAreCheckpointErrors) {
  std::vector<float> a{1, 2, 3}, out(3);
  const std::string tensors = R"("tensors": [{"name": "a", "numel": 3}])";
  const std::pair<std::string, std::string> cases[] = {
      {R"({"step": -5, "meta": {}, )" + tensors + "}",
       "header.step: expected an integer >= 0, got -5"},
      {R"({"step": 1e400, "meta": {}, )" + tensors + "}", "header: invalid JSON: number overflow"},
      {R"({"step": 2.5, "meta": {}, )" + tensors + "}", "header.step: expected an integer"},
      {R"({"meta": {}, )" + tensors + "}", "expected the keys step, meta and tensors"},
      {R"({"step": 1, "meta": [], )" + tensors + "}", "header.meta: expected an object"},
      {R"({"step": 1, "meta": {}, "tensors": {}})", "header.tensors: expected an array"},
      {R"({"step": 1, "meta": {}, "tensors": [7]})",
       "header.tensors[0]: expected an object, got 7"},
      {R"({"step": 1, "meta": {}, "tensors": [{"name": "a", "numel": "3"}]})",
       "header.tensors[0]: expected an unsigned numel"},
      {R"({"step": 1, "meta": {}, "tensors": [{"name": "a", "numel": -1}]})",
       "header.tensors[0]: expected an unsigned numel"},
      {R"({"step": 1, "meta": {}, "tensors": [{"name": "b", "numel": 3}]})",
       "tensor a does not match"},
      {R"({"step": 1, "meta": {}, "tensors": [{"name": "a", "numel": 3, "shape": [2, 2]}]})",
       "header.tensors[0]: shape [2,2] does not hold numel values"},
      {R"({"step": 1, "meta": {}, "tensors": [{"name": "a", "numel": 3, "shape": "3"}]})",
       "header.tensors[0]: bad shape"},
      {R"({"step": 1, "step": 2, "meta": {}, )" + tensors + "}", "duplicate key step"},
      {R"([1, 2])", "header: expected an object"},
      {"not json", "header: invalid JSON"},
  };
  for (const auto& [header, expected] : cases) {
    write_file_atomically(file_, crafted_checkpoint(header, a));
    try {
      load_checkpoint(file_, {{"a", out}});
      ADD_FAILURE() << "no error for " << header;
    } catch (const CheckpointError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos)
          << header << ": " << e.what();
    }
  }
  // The writer's own header, crafted the same way, loads: the helper is right.
  write_file_atomically(file_,
                        crafted_checkpoint(R"({"step": 3, "meta": {"k": 1}, )" + tensors + "}", a));
  EXPECT_EQ(load_checkpoint(file_, {{"a", out}}).step, 3);
  EXPECT_EQ(out, a);
}

TEST_F(CheckpointTest, NegativeStepWrittenBySaveIsRefusedOnLoad) {
  std::vector<float> a{1, 2, 3}, out(3);
  save_checkpoint(file_, -5, nlohmann::json::object(), {{"a", a}});
  EXPECT_THROW(load_checkpoint(file_, {{"a", out}}), CheckpointError);
}

}  // namespace
}  // namespace lb
