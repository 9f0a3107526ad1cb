// Issue 17 end to end: inputs that crashed lb-train or allreduce-bench, or
// broke a stated contract, each through the binary as a user runs it. A tiny
// synthetic run keeps each case to a second or two.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "e2e_helpers.hpp"
#include "runtime/core/files.hpp"
#include "runtime/train/checkpoint.hpp"

namespace {

using namespace lb::e2e;

const std::string kTiny =
    " --set data.dataset=synthetic --set data.synthetic.train_images=64"
    " --set data.synthetic.test_images=32 --set train.global_batch=16 --set train.epochs=1"
    " --set train.threads=1 --set train.log_every_steps=1 -q";

class BadInput : public E2eTest {
 protected:
  RunResult train(const std::string& args) {
    return shell(kLbTrain.string() + " " + kDefaultSpec.string() + " " + args);
  }
  static std::size_t lines(const std::string& text) {
    return std::count(text.begin(), text.end(), '\n');
  }
  // Bad input: exit 2, one line naming `what`, and `out` never created.
  void expect_refused(const RunResult& r, const std::string& what, const fs::path& out) {
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(what), std::string::npos) << r.output;
    EXPECT_EQ(lines(r.output), 1u) << r.output;
    EXPECT_FALSE(fs::exists(out)) << out;
  }
  std::size_t count_records(const fs::path& metrics, const std::string& needle) {
    std::ifstream in(metrics);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
    return n;
  }
};

TEST_F(BadInput, DeeplyNestedJsonExitsTwoInsteadOfCrashing) {
  const fs::path out = dir_ / "never";
  const fs::path deep = dir_ / "deep.json";
  std::ofstream(deep) << std::string(50'000, '[') << std::string(50'000, ']');
  expect_refused(shell(kLbTrain.string() + " " + deep.string() + " --out " + out.string()),
                 "nested deeper than 256 levels", out);
  const std::string nested = std::string(50'000, '[') + std::string(50'000, ']');
  expect_refused(train("--out " + out.string() + kTiny + " --set 'name=" + nested + "'"),
                 ": nested deeper than 255 levels", out);  // 256 less the key's level
}

TEST_F(BadInput, ThreadCountsBeyondTheMachineExitTwoBeforeWriting) {
  const fs::path out = dir_ / "never";
  expect_refused(train("--out " + out.string() + kTiny + " --set train.threads=100000"),
                 "spec error: train.threads", out);
  expect_refused(train("--out " + out.string() + kTiny + " --set train.threads=4096"),
                 "spec error: train.threads: expected at most", out);
  expect_refused(train("--out " + out.string() + kTiny + " --set data.workers=4096"),
                 "spec error: data.workers: expected at most", out);
}

TEST_F(BadInput, OversizedSyntheticDataOrPrefetchExitsTwoInsteadOfBadAlloc) {
  const fs::path out = dir_ / "never";
  expect_refused(train("--out " + out.string() + kTiny +
                       " --set data.synthetic.height=65535 --set data.synthetic.width=65535"),
                 "spec error: data.synthetic: ", out);
  expect_refused(train("--out " + out.string() + kTiny + " --set data.prefetch=1000000000"),
                 "spec error: data.prefetch", out);
}

TEST_F(BadInput, AbsurdEpochCountsExitTwoInsteadOfOverflowing) {
  const fs::path out = dir_ / "never";
  for (const char* key : {"train.epochs", "train.eval_every_epochs",
                          "train.checkpoint_every_epochs", "optimizer.lr.warmup_epochs"}) {
    expect_refused(train("--out " + out.string() + kTiny + " --set " + key + "=1e308"),
                   "spec error: " + std::string(key), out);
  }
}

TEST_F(BadInput, OutNamingAFileOrNothingExitsTwo) {
  const fs::path file = dir_ / "a-file";
  std::ofstream(file) << "x";
  const RunResult r = train("--out " + file.string() + kTiny);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is not a directory"), std::string::npos) << r.output;
  const RunResult empty = train("--out ''" + kTiny);
  EXPECT_EQ(empty.exit_code, 2) << empty.output;
  EXPECT_NE(empty.output.find("--out: expected a directory"), std::string::npos) << empty.output;
}

TEST_F(BadInput, MaxEpochsNanAndNegativeMaxStepsExitTwoWithShortMessages) {
  const fs::path out = dir_ / "never";
  for (const std::string flag :
       {"--max-epochs nan", "--max-epochs inf", "--max-steps -1", "--max-steps 2.5"}) {
    const RunResult r = train("--out " + out.string() + kTiny + " " + flag);
    EXPECT_EQ(r.exit_code, 2) << flag << ": " << r.output;
    EXPECT_LT(r.output.size(), 200u) << flag << ": " << r.output;  // no 309-digit range
    EXPECT_NE(r.output.find("expected"), std::string::npos) << flag << ": " << r.output;
    EXPECT_FALSE(fs::exists(out));
  }
}

// Items 8 and 14: a directory holding a run is refused without --resume or
// --overwrite; --overwrite starts afresh; --resume does not repeat records.
TEST_F(BadInput, RunDirectoryIsNeverClobberedAndResumeDoesNotRepeatRecords) {
  const fs::path out = dir_ / "run";
  ASSERT_EQ(train("--out " + out.string() + kTiny + " --max-steps 2").exit_code, 0);
  const std::string checkpoint = lb::read_file(out / "checkpoint.bin");
  const RunResult again = train("--out " + out.string() + kTiny);
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("holds a run"), std::string::npos) << again.output;
  EXPECT_EQ(lb::read_file(out / "checkpoint.bin"), checkpoint);  // untouched
  // A run killed after step 3 had logged step 3; its checkpoint is at 2.
  std::ofstream(out / "metrics.jsonl", std::ios::app) << R"({"type":"step","step":3,"loss":1})"
                                                         "\n";
  const RunResult resumed = train("--out " + out.string() + kTiny + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(count_records(out / "metrics.jsonl", R"("step":3,)"), 1u);
  EXPECT_EQ(count_records(out / "metrics.jsonl", R"("type":"step")"), 4u);  // steps 1-4, once each
  std::ofstream(out / "profile.json") << "{\"model\": \"another\"}";
  const RunResult fresh = train("--out " + out.string() + kTiny + " --overwrite --max-steps 1");
  ASSERT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_EQ(summary(out).at("steps"), 1);
  EXPECT_EQ(count_records(out / "metrics.jsonl", R"("type":"step")"), 1u);
  EXPECT_EQ(train("--out " + out.string() + kTiny + " --overwrite --resume").exit_code, 2);
}

// Item 7: --resume refuses a spec that trains something else, naming the key.
TEST_F(BadInput, ResumeWithADifferentSpecExitsTwoNamingTheKey) {
  const fs::path out = dir_ / "run";
  ASSERT_EQ(train("--out " + out.string() + kTiny + " --max-steps 2").exit_code, 0);
  const RunResult batch =
      train("--out " + out.string() + kTiny + " --resume --set train.global_batch=32");
  EXPECT_EQ(batch.exit_code, 2) << batch.output;
  EXPECT_NE(batch.output.find(
                "spec error: train.global_batch: the checkpoint was trained with 16, got 32"),
            std::string::npos)
      << batch.output;
  const RunResult shorter =
      train("--out " + out.string() + kTiny + " --resume --set train.epochs=0.5");
  EXPECT_EQ(shorter.exit_code, 2) << shorter.output;
  EXPECT_NE(shorter.output.find("spec error: train.epochs"), std::string::npos) << shorter.output;
  EXPECT_EQ(train("--out " + out.string() + kTiny + " --resume --set train.threads=2").exit_code,
            0);
}

// Item 15: a loss scale whose every step overflows trains nothing: exit 1.
TEST_F(BadInput, RunThatSkippedEveryStepExitsOneSayingWhy) {
  const RunResult r = train("--out " + (dir_ / "run").string() + kTiny +
                            " --set train.precision=fp16 --set train.loss_scale.mode=static"
                            " --set train.loss_scale.init=1.8446744073709552e19");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("nothing was trained: every one of the 4 steps"), std::string::npos)
      << r.output;
  const RunResult huge =
      train("--out " + (dir_ / "never").string() + kTiny + " --set train.loss_scale.init=1e39");
  expect_refused(huge, "spec error: train.loss_scale.init", dir_ / "never");
}

// Item 5: a checkpoint with a valid checksum but step -5 or 10^15.
TEST_F(BadInput, CraftedCheckpointStepExitsTwoNamingTheCheckpoint) {
  const fs::path out = dir_ / "run";
  ASSERT_EQ(train("--out " + out.string() + kTiny + " --max-steps 2").exit_code, 0);
  std::string bytes = lb::read_file(out / "checkpoint.bin");
  bytes.resize(bytes.size() - 32);  // re-sign after the edit, as a forger would
  for (const std::string step : {"-5", "1000000000000000"}) {
    std::string edited = bytes;
    const std::size_t at = edited.find("\"step\":2");
    ASSERT_NE(at, std::string::npos);
    edited.replace(at, 8, "\"step\":" + step);
    std::uint64_t length = 0;
    std::memcpy(&length, edited.data() + 16, 8);
    length += step.size() - 1;
    std::memcpy(edited.data() + 16, &length, 8);
    lb::write_file_atomically(out / "checkpoint.bin", edited + lb::checkpoint_digest(edited));
    const RunResult r = train("--out " + out.string() + kTiny + " --resume");
    EXPECT_EQ(r.exit_code, 2) << step << ": " << r.output;
    EXPECT_NE(r.output.find("checkpoint error: " + (out / "checkpoint.bin").string()),
              std::string::npos)
        << r.output;
    EXPECT_EQ(lines(r.output), 1u) << r.output;
  }
}

// Items 10, 13 and 18 with Fashion-MNIST files: empty sets and a test set of
// another shape are data errors naming the file, before any step.
TEST_F(BadInput, EmptyOrMismatchedImageFilesExitTwoNamingTheFile) {
  auto idx = [](std::uint32_t magic, std::vector<std::uint32_t> dims, std::size_t payload) {
    std::string bytes;
    dims.insert(dims.begin(), magic);
    for (std::uint32_t v : dims) {
      for (int shift = 24; shift >= 0; shift -= 8) bytes += char((v >> shift) & 0xff);
    }
    return bytes + std::string(payload, '\1');
  };
  const fs::path data = dir_ / "data";
  fs::create_directories(data);
  auto write_set = [&](const std::string& prefix, std::uint32_t count, std::uint32_t side) {
    std::ofstream(data / (prefix + "-images-idx3-ubyte.gz"))
        << idx(0x803, {count, side, side}, count * side * side);
    std::ofstream(data / (prefix + "-labels-idx1-ubyte.gz")) << idx(0x801, {count}, count);
  };
  const std::string args =
      " --set data.dir=" + data.string() + " --set train.global_batch=4 --set train.threads=1 -q";
  const fs::path out = dir_ / "never";
  write_set("train", 0, 28);
  write_set("t10k", 8, 28);
  expect_refused(train("--out " + out.string() + args),
                 (data / "train-images-idx3-ubyte.gz").string() + ": holds no images", out);
  write_set("train", 8, 28);
  write_set("t10k", 0, 28);
  expect_refused(train("--out " + out.string() + args),
                 (data / "t10k-images-idx3-ubyte.gz").string() + ": holds no images", out);
  write_set("t10k", 8, 32);
  expect_refused(train("--out " + out.string() + args),
                 (data / "t10k-images-idx3-ubyte.gz").string() +
                     ": images are 1x32x32, the training images 1x28x28",
                 out);
}

// Items 2, 13 and 21: allreduce-bench refuses what it cannot measure.
TEST_F(BadInput, AllreduceBenchRefusesSizesItCannotMeasure) {
  const std::string bench =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 60 " +
      (fs::path(LB_BINARY_DIR) / "bin" / "allreduce-bench").string();
  for (const std::string args : {"--min-bytes 576460752303423488 --max-bytes 1152921504606846976",
                                 "--max-bytes 9223372036854775807", "--min-bytes 64 --max-bytes 8",
                                 "--iterations -1", "--fusion-bytes -1 --model lenet_bn",
                                 "--model bogus", "--algorithms ring,bogus", "--rounds 0"}) {
    const RunResult r = shell(bench + " " + args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.output;
    EXPECT_LT(r.seconds, 30) << args;
  }
}

}  // namespace
