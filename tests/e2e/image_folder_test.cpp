// lb-train on JPEG data sets made by scripts/make-image-folder from
// Fashion-MNIST: ImageFolder and tar shards, bad data, and the ImageNet
// models at 224 x 224.
#include <algorithm>
#include <cstdio>
#include <regex>

#include "e2e_helpers.hpp"
#include "runtime/data/idx.hpp"
#include "runtime/data/image_index.hpp"

namespace {

using namespace lb::e2e;

const fs::path kMakeImageFolder = fs::path(LB_SOURCE_DIR) / "scripts" / "make-image-folder";
const fs::path kImageSpec =
    fs::path(LB_SOURCE_DIR) / "experiments" / "fmnist-imagefolder-resnet20.json";

class ImageFolderRun : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (!fs::exists(kFashionMnist))
      GTEST_SKIP() << "SKIPPED: " << kFashionMnist << " is not installed";
  }

  // A generated data set, made once per build tree and shared by the tests
  // (each runs as its own process): written to a temporary folder, then
  // renamed into place, so concurrent tests never see half of one.
  fs::path generated(const std::string& name, const std::string& args) {
    const fs::path root = fs::path(LB_BINARY_DIR) / "test-data" / name;
    if (fs::exists(root)) return root;
    const fs::path partial = root.string() + ".partial" + std::to_string(::getpid());
    const RunResult made =
        shell(kMakeImageFolder.string() + " --out " + partial.string() + " " + args);
    EXPECT_EQ(made.exit_code, 0) << made.output;
    std::error_code ec;
    fs::rename(partial, root, ec);  // another test may have won the race: fine
    fs::remove_all(partial, ec);
    return root;
  }
  fs::path small_set() { return generated("fmnist-jpeg-2000", "--train 2000 --val 500"); }

  RunResult train(const std::string& args) {
    return shell(kLbTrain.string() + " " + kImageSpec.string() + " --set train.threads=2 " + args);
  }
};

// Image NNNNN of each split is IDX image NNNNN: its folder and its .cls are its IDX label.
TEST_F(ImageFolderRun, GeneratedImagesCarryTheirIdxLabels) {
  const fs::path root = small_set();
  const lb::ImageSet idx = lb::read_idx(kFashionMnist / "train-images-idx3-ubyte.gz",
                                        kFashionMnist / "train-labels-idx1-ubyte.gz", 0, 1);
  const lb::ImageIndex folder = lb::index_image_folder(root / "train", {}, false);
  ASSERT_EQ(folder.records.size(), 2000u);
  const std::regex number("train_(\\d+)\\.jpg$");
  for (const lb::ImageRecord& r : folder.records) {
    std::smatch m;
    const std::string path = folder.files[r.file];
    ASSERT_TRUE(std::regex_search(path, m, number)) << path;
    EXPECT_EQ(r.label, idx.labels[std::stoul(m[1])]) << path;
  }
  const lb::ImageIndex shards = lb::index_shards(
      lb::expand_braces((root / "shards/train-{000000..000003}.tar").string()), false);
  ASSERT_EQ(shards.records.size(), 2000u);
  for (std::size_t i = 0; i < 2000; ++i) EXPECT_EQ(shards.records[i].label, idx.labels[i]) << i;
}

TEST_F(ImageFolderRun, TrainsFromImageFolderAndBeatsChance) {
  const fs::path out = dir_ / "run";
  const RunResult r = train("--out " + out.string() + " --set data.root=" + small_set().string() +
                            " --set model.name=lenet_bn --set train.epochs=1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto s = summary(out);
  EXPECT_GT(s.at("test_accuracy").get<double>(), 0.5) << r.output;  // chance: 0.1
  EXPECT_GT(s.at("input_images_per_s").get<double>(), 0);
  const double share = s.at("data_wait_share").get<double>();
  EXPECT_TRUE(share >= 0 && share <= 1) << share;
  EXPECT_EQ(s.at("skipped_files"), 0);
}

TEST_F(ImageFolderRun, TrainsFromShards) {
  const fs::path root = small_set(), out = dir_ / "run";
  const RunResult r = train(
      "--out " + out.string() + " --set data.dataset=shards --set model.name=lenet_bn" +
      " --set data.train_shards=" + (root / "shards/train-{000000..000003}.tar").string() +
      " --set data.val_shards=" + (root / "shards/val-000000.tar").string() + " --max-steps 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(summary(out).at("steps"), 4);
}

// A copy of the small set with one training file of class 3 written as `bytes`.
fs::path damaged_copy(const fs::path& from, const fs::path& to, const std::string& bad_name,
                      const std::string& bytes) {
  fs::create_directories(to);
  fs::copy(from / "val", to / "val", fs::copy_options::recursive);
  fs::copy(from / "train", to / "train", fs::copy_options::recursive);
  const fs::path bad = to / "train" / "03-dress" / bad_name;
  std::FILE* f = std::fopen(bad.c_str(), "wb");
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return bad;
}

TEST_F(ImageFolderRun, CorruptImageStopsWithItsNameOrIsSkippedAndCounted) {
  const fs::path root = dir_ / "data";
  const fs::path bad =
      damaged_copy(small_set(), root, "train_00003.jpg", "\xff\xd8\xff\xe0 truncated");
  const std::string common =
      "--set data.root=" + root.string() + " --set model.name=lenet_bn --set train.epochs=1";
  const RunResult strict = train(common + " --out " + (dir_ / "strict").string());
  EXPECT_EQ(strict.exit_code, 2) << strict.output;
  EXPECT_NE(strict.output.find("data error: " + bad.string() + ": corrupt"), std::string::npos)
      << strict.output;
  const RunResult lenient =
      train(common + " --out " + (dir_ / "lenient").string() + " --set data.skip_corrupt=true");
  ASSERT_EQ(lenient.exit_code, 0) << lenient.output;
  EXPECT_EQ(summary(dir_ / "lenient").at("skipped_files"), 1);
  EXPECT_NE(lenient.output.find("skipped 1 unreadable file(s)"), std::string::npos)
      << lenient.output;
}

// Layout errors are found while indexing: exit 2, one line, nothing written.
TEST_F(ImageFolderRun, BadLayoutExitsTwoBeforeWritingAnything) {
  const fs::path root = dir_ / "data";
  damaged_copy(small_set(), root, "notes.txt", "not an image");
  fs::create_directories(root / "val" / "99-unknown");
  const struct {
    std::string set, needle;
  } cases[] = {
      {"", (root / "train/03-dress/notes.txt").string() + ": not a JPEG"},
      {" --set data.skip_corrupt=true",
       (root / "val/99-unknown").string() + ": class folder not in"},
  };
  for (const auto& c : cases) {
    const fs::path out = dir_ / "never";
    const RunResult r =
        train("--out " + out.string() + " --set data.root=" + root.string() + c.set);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(fs::exists(out));
  }
}

// The seed's models on real images at 224 x 224, a couple of steps each.
TEST_F(ImageFolderRun, ImageNetModelsTrainAt224) {
  const fs::path root =
      generated("fmnist-jpeg-224", "--train 8 --val 2 --sizes 250x200,200x260 --no-shards");
  for (const char* model : {"alexnet_bn", "resnet50"}) {
    const fs::path out = dir_ / model;
    const RunResult r =
        train("--out " + out.string() + " --set data.root=" + root.string() + " --set model.name=" +
              model + " --set data.image.size=224 --set data.image.resize=256" +
              " --set train.global_batch=4 --set train.checkpoint_every_epochs=0 --max-steps 2");
    ASSERT_EQ(r.exit_code, 0) << model << ": " << r.output;
    const auto s = summary(out);
    EXPECT_EQ(s.at("steps"), 2) << model;
    EXPECT_TRUE(std::isfinite(s.at("final_loss").get<double>())) << model;
  }
}

}  // namespace
