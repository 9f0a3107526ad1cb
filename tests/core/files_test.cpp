// Issue 17, items 12 and 13: atomic writes never follow a planted link nor
// leave temporary files of dead processes behind, and output directories
// are checked before anything is written.
#include "runtime/core/files.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "runtime/core/errors.hpp"

namespace lb {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("lb_files_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string read(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  static std::string host() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    std::string text = name;
    for (char& c : text) {
      if (c == '.' || c == '/') c = '_';
    }
    return text;
  }

  // A pid that is certainly dead: a child that has exited and been reaped.
  static pid_t dead_pid() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ::waitpid(child, nullptr, 0);
    return child;
  }

  fs::path dir_;
};

TEST_F(FilesTest, WriteFileAtomicallyNeverFollowsAPlantedSymlink) {
  const fs::path victim = dir_ / "victim.txt";
  std::ofstream(victim) << "precious";
  const fs::path target = dir_ / "checkpoint.bin";
  // The names earlier versions wrote through, and this version's prefix.
  fs::create_symlink(victim, target.string() + ".tmp." + std::to_string(::getpid()));
  fs::create_symlink(victim, target.string() + ".tmp." + host() + "." + std::to_string(::getpid()));
  write_file_atomically(target, "new contents");
  EXPECT_EQ(read(victim), "precious");
  EXPECT_EQ(read(target), "new contents");
  EXPECT_FALSE(fs::is_symlink(target));
}

TEST_F(FilesTest, StaleTemporaryFilesOfDeadProcessesAreRemoved) {
  const std::string stem = (dir_ / "summary.json").string() + ".tmp." + host() + ".";
  const fs::path dead = stem + std::to_string(dead_pid()) + ".Ab12Cd";
  const fs::path mine = stem + std::to_string(::getpid()) + ".Ab12Cd";  // a write in progress
  const fs::path alive = stem + "1.Ab12Cd";                             // init never dies
  const fs::path other_host =
      (dir_ / "summary.json").string() + ".tmp.otherhost." + std::to_string(dead_pid()) + ".Ab12Cd";
  for (const auto& f : {dead, mine, alive, other_host}) std::ofstream(f) << "partial";
  write_file_atomically(dir_ / "metrics.json", "{}");
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(mine));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(other_host));  // its pid means nothing on this host
  // Nothing of this write is left behind, and the file is readable by others.
  std::size_t temporaries = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    temporaries += entry.path().filename().string().starts_with("metrics.json.tmp") ? 1 : 0;
  }
  EXPECT_EQ(temporaries, 0u);
  EXPECT_EQ(fs::status(dir_ / "metrics.json").permissions() & fs::perms::others_read,
            fs::perms::others_read);
}

TEST_F(FilesTest, OutputDirectoryThatIsEmptyOrAFileIsAnInputError) {
  std::ofstream(dir_ / "file") << "x";
  const auto message = [](const fs::path& p) -> std::string {
    try {
      check_output_directory(p, "--out");
    } catch (const InputError& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_EQ(message(""), "--out: expected a directory, got \"\"");
  EXPECT_EQ(message(dir_ / "file"), "--out " + (dir_ / "file").string() + ": is not a directory");
  EXPECT_EQ(message(dir_ / "file" / "sub"), "--out " + (dir_ / "file" / "sub").string() + ": " +
                                                (dir_ / "file").string() + " is not a directory");
  EXPECT_EQ(message(dir_), "accepted");
  EXPECT_EQ(message(dir_ / "new" / "deeper"), "accepted");
  EXPECT_FALSE(fs::exists(dir_ / "new"));  // checking creates nothing
  EXPECT_EQ(message("relative-dir-that-does-not-exist"), "accepted");
}

}  // namespace
}  // namespace lb
