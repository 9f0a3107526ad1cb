// device: "cuda" where it cannot run (a build without the CUDA backend, or a
// machine without a GPU) is bad input: one line, exit 2, nothing written.
#include <algorithm>

#include "e2e_helpers.hpp"
#include "runtime/train/cuda_engine.hpp"

namespace {

using namespace lb::e2e;

class UnavailableDevice : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    // Where a GPU is usable the e2e GPU tests (tests/cuda) run lb-train on it.
    if (lb::cuda_unavailable_reason().empty()) {
      GTEST_SKIP() << "SKIPPED: a CUDA GPU is usable here; this test needs its absence";
    }
  }
};

TEST_F(UnavailableDevice, CudaExitsTwoWithOneLineNamingTheKeyAndWritesNothing) {
  const fs::path out = dir_ / "never";
  // The device is checked before the data is read: no dataset is needed.
  const RunResult r =
      shell(kLbTrain.string() + " " + kDefaultSpec.string() + " --out " + out.string() +
            " --set device=cuda --set data.dir=" + (dir_ / "nodata").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("spec error: device: \"cuda\" is not available: "), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(lb::cuda_unavailable_reason()), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(UnavailableDevice, TheReasonIsOneLine) {
  const std::string why = lb::cuda_unavailable_reason();
  EXPECT_EQ(why.find('\n'), std::string::npos) << why;
  EXPECT_FALSE(why.empty());
}

}  // namespace
