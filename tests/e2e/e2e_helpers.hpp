#pragma once
// What the end-to-end tests share: a fresh directory per test, running a
// shell command with its output captured, and reading a run's summary.json.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace lb::e2e {

namespace fs = std::filesystem;

inline const fs::path kLbTrain = fs::path(LB_BINARY_DIR) / "bin" / "lb-train";
inline const fs::path kDefaultSpec =
    fs::path(LB_SOURCE_DIR) / "experiments" / "fmnist-lenet-lars-fp16.json";
inline const fs::path kFashionMnist = "/usr/share/datasets/fashion-mnist";

struct RunResult {
  int exit_code;
  std::string output;  // stdout and stderr
  double seconds;
};

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lb_e2e_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);  // empty when SetUp skipped the test
  }

  // Runs `command` through the shell, its output captured in dir_.
  RunResult shell(const std::string& command) {
    const fs::path log = dir_ / "output.txt";
    const auto start = std::chrono::steady_clock::now();
    const int status = std::system((command + " >" + log.string() + " 2>&1").c_str());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str(), seconds};
  }

  nlohmann::json summary(const fs::path& out) {
    std::ifstream in(out / "summary.json");
    return nlohmann::json::parse(in);
  }

  void require_dataset() {
    if (!fs::exists(kFashionMnist))
      GTEST_SKIP() << "SKIPPED: " << kFashionMnist << " is not installed";
  }

  fs::path dir_;
};

}  // namespace lb::e2e
