// Issue 17, items 8 and 14: a directory holding a run is continued or
// replaced on request, never clobbered; --resume trims metrics.jsonl to the
// checkpoint's step.
#include "runtime/train/run_directory.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/core/errors.hpp"

namespace lb {
namespace {

namespace fs = std::filesystem;

class RunDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("lb_rundir_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string refusal(bool resume, bool overwrite) {
    try {
      check_run_directory(dir_, resume, overwrite);
    } catch (const InputError& e) {
      return e.what();
    }
    return "accepted";
  }

  static std::string read(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
};

TEST_F(RunDirectory, ADirectoryHoldingARunIsRefusedWithoutResumeOrOverwrite) {
  std::ofstream(dir_ / "stdout.log") << "a sweep's own file";
  EXPECT_EQ(refusal(false, false), "accepted");
  for (const char* run_file :
       {"metrics.jsonl", "summary.json", "checkpoint.bin", "profile.json", "trace.rank3.json"}) {
    std::ofstream(dir_ / run_file) << "{}";
    const std::string message = refusal(false, false);
    EXPECT_NE(message.find("holds a run (" + std::string(run_file) + ")"), std::string::npos)
        << message;
    EXPECT_NE(message.find("--resume"), std::string::npos);
    EXPECT_NE(message.find("--overwrite"), std::string::npos);
    EXPECT_EQ(refusal(true, false), "accepted");
    EXPECT_EQ(refusal(false, true), "accepted");
    fs::remove(dir_ / run_file);
  }
}

TEST_F(RunDirectory, OverwriteRemovesTheRunsFilesOnly) {
  for (const char* name : {"metrics.jsonl", "summary.json", "checkpoint.bin", "profile.json",
                           "trace.rank0.json", "trace.rank1.json", "notes.txt", "stderr.log"}) {
    std::ofstream(dir_ / name) << "x";
  }
  remove_run_files(dir_);
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir_)) left.push_back(entry.path().filename());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"notes.txt", "stderr.log"}));
}

TEST_F(RunDirectory, ResumeTrimsMetricsToTheCheckpointsStepAndDropsATornLine) {
  const fs::path file = dir_ / "metrics.jsonl";
  std::ofstream(file) << R"({"type":"step","step":20,"loss":1})"
                         "\n"
                      << R"({"type":"eval","step":24,"test_accuracy":0.5})"
                         "\n"
                      << R"({"type":"step","step":40,"loss":0.5})"
                         "\n"
                      << R"({"type":"step","st)";
  trim_metrics_log(file, 24);
  EXPECT_EQ(read(file), R"({"type":"step","step":20,"loss":1})"
                        "\n"
                        R"({"type":"eval","step":24,"test_accuracy":0.5})"
                        "\n");
  trim_metrics_log(dir_ / "absent.jsonl", 3);
  EXPECT_FALSE(fs::exists(dir_ / "absent.jsonl"));
}

}  // namespace
}  // namespace lb
