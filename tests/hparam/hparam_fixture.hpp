#pragma once
// What the hparam tests share: a fresh directory per test, sweep files
// written from JSON, and hparam-sweep runs (through the shell) with the fake
// trial program standing in for lb-train.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace lb::hparam::test {

namespace fs = std::filesystem;
using json = nlohmann::json;

inline const fs::path kBin = fs::path(LB_BINARY_DIR) / "bin";
inline const fs::path kSweep = kBin / "hparam-sweep";
inline const fs::path kFake = kBin / "hparam-fake-trial";

struct RunResult {
  int exit_code;
  std::string output;  // stdout and stderr
};

inline std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A small sweep over lr.base and lars.eta with a coarse grid (9 trials,
// halving), a fine Halton stage and a final stage. It ranks by the test set,
// knowingly: the validation split (data.validation_images) is tested apart.
inline json small_sweep() {
  return json::parse(R"({
    "name": "test",
    "objective": "test_accuracy", "allow_test_objective": true,
    "base": {"model": {"name": "lenet_bn"}, "train": {"epochs": 4, "global_batch": 512},
             "optimizer": {"name": "lars"}},
    "seed": 7,
    "space": {
      "optimizer.lr.base": {"scale": "log", "min": 0.03, "max": 3},
      "optimizer.lars.eta": {"scale": "log", "min": 0.001, "max": 0.1}
    },
    "stages": [
      {"name": "coarse", "sampler": "grid", "points": 3,
       "fidelity": {"train.epochs": 3, "data.train_subset": 6000}, "halving": {"eta": 3}},
      {"name": "fine", "sampler": "halton", "points": 3, "top_k": 2, "narrow": 0.5,
       "fidelity": {"train.epochs": 3}},
      {"name": "final", "final": true, "top_k": 2}
    ]
  })");
}

class HparamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lb_hparam_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write_sweep(const json& sweep, const std::string& name = "sweep.json") {
    const fs::path file = dir_ / name;
    std::ofstream(file) << sweep.dump(2);
    return file;
  }

  RunResult shell(const std::string& command) {
    const fs::path log = dir_ / "output.txt";
    const int status = std::system((command + " >" + log.string() + " 2>&1").c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(log)};
  }

  // hparam-sweep SWEEP --out DIR --trainer FAKE with the fake's knobs in `env`.
  std::string sweep_command(const fs::path& sweep, const fs::path& out,
                            const std::string& extra = "", const std::string& env = "") {
    return env + " " + kSweep.string() + " " + sweep.string() + " --out " + out.string() +
           " --trainer " + kFake.string() + " --simulator " + (dir_ / "no-simulator").string() +
           " " + extra;
  }

  fs::path dir_;
};

}  // namespace lb::hparam::test
