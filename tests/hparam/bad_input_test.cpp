// Issue 17, items 1, 13 and 16 through hparam-sweep: a sweep file nested
// 50,000 levels deep, one with a repeated key, and an --out naming a file
// exit 2 with one line instead of crashing.
#include "hparam_fixture.hpp"

namespace lb::hparam::test {
namespace {

class SweepBadInput : public HparamTest {
 protected:
  RunResult sweep(const fs::path& file, const fs::path& out) {
    return shell(kSweep.string() + " " + file.string() + " --out " + out.string() + " --trainer " +
                 kFake.string());
  }
};

TEST_F(SweepBadInput, DeeplyNestedOrDuplicateKeyedSweepFileExitsTwo) {
  const fs::path deep = dir_ / "deep.json";
  std::ofstream(deep) << std::string(50'000, '[') << std::string(50'000, ']');
  const RunResult r = sweep(deep, dir_ / "out");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("sweep error: " + deep.string() + ": invalid JSON: nested deeper"),
            std::string::npos)
      << r.output;
  const fs::path dup = dir_ / "dup.json";
  std::ofstream(dup) << R"({"name": "a", "name": "b"})";
  const RunResult d = sweep(dup, dir_ / "out");
  EXPECT_EQ(d.exit_code, 2) << d.output;
  EXPECT_NE(d.output.find("duplicate key name"), std::string::npos) << d.output;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(SweepBadInput, OutNamingAFileExitsTwo) {
  const fs::path file = dir_ / "a-file";
  std::ofstream(file) << "x";
  const RunResult r = sweep(write_sweep(small_sweep()), file);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--out " + file.string() + ": is not a directory"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace lb::hparam::test
