// Indexing ImageFolder trees and tar shards, brace patterns, and the bad
// layouts each must name.
#include "runtime/data/image_index.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "jpeg_fixtures.hpp"
#include "runtime/core/errors.hpp"

namespace lb {
namespace {

using test::Bytes;
namespace fs = std::filesystem;

class ImageIndexTest : public test::ScratchTest {
 protected:
  void add_image(const std::string& relative, std::array<int, 3> rgb = {1, 2, 3}) {
    test::write_bytes(dir_ / relative, test::solid_rgb_jpeg(8, 8, rgb));
  }
  // Expects index_image_folder to throw a DataError whose message holds `needle`.
  void expect_error(const fs::path& split, const std::vector<std::string>& classes,
                    const std::string& needle) {
    try {
      index_image_folder(split, classes, false);
      ADD_FAILURE() << "no error, expected one naming " << needle;
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
};

TEST_F(ImageIndexTest, ImageFolderClassesSortedByNameFilesSortedWithinClass) {
  add_image("train/zebra/b.jpg");
  add_image("train/zebra/a.JPEG");
  add_image("train/ant/x.jpg");
  add_image("train/ant/sub/y.jpg");  // nested folders count, as torchvision's os.walk
  add_image("train/ant/.hidden.jpg");
  add_image("train/.cache/z.jpg");
  const ImageIndex index = index_image_folder(dir_ / "train", {}, false);
  EXPECT_EQ(index.class_names, (std::vector<std::string>{"ant", "zebra"}));
  EXPECT_EQ(index.classes, 2);
  ASSERT_EQ(index.records.size(), 4u);
  const std::vector<std::pair<std::string, int>> expected{
      {"ant/sub/y.jpg", 0}, {"ant/x.jpg", 0}, {"zebra/a.JPEG", 1}, {"zebra/b.jpg", 1}};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(index.files[index.records[i].file], (dir_ / "train" / expected[i].first).string());
    EXPECT_EQ(index.records[i].label, expected[i].second);
  }
  // Validation takes the training classes: a class missing from val keeps the labels aligned.
  add_image("val/zebra/c.jpg");
  const ImageIndex val = index_image_folder(dir_ / "val", index.class_names, false);
  ASSERT_EQ(val.records.size(), 1u);
  EXPECT_EQ(val.records[0].label, 1);
  EXPECT_EQ(val.classes, 2);
}

TEST_F(ImageIndexTest, BadFolderLayoutsNameTheFolderOrFile) {
  expect_error(dir_ / "missing", {}, (dir_ / "missing").string());
  fs::create_directories(dir_ / "train/empty");
  add_image("train/full/a.jpg");
  expect_error(dir_ / "train", {}, (dir_ / "train/empty").string() + ": empty class folder");
  fs::remove(dir_ / "train/empty");
  add_image("val/unknown/a.jpg");
  expect_error(dir_ / "val", {"full"}, (dir_ / "val/unknown").string() + ": class folder not in");
  test::write_bytes(dir_ / "train/full/notes.txt", test::text_bytes("not an image"));
  expect_error(dir_ / "train", {}, (dir_ / "train/full/notes.txt").string() + ": not a JPEG");
  const ImageIndex skipping = index_image_folder(dir_ / "train", {}, true);
  EXPECT_EQ(skipping.records.size(), 1u);
  ASSERT_EQ(skipping.skipped.size(), 1u);
  EXPECT_EQ(skipping.skipped[0].path, (dir_ / "train/full/notes.txt").string());
}

TEST(ExpandBraces, RangesListsAndPadding) {
  EXPECT_EQ(expand_braces("a.tar"), (std::vector<std::string>{"a.tar"}));
  EXPECT_EQ(expand_braces("t-{000..002}.tar"),
            (std::vector<std::string>{"t-000.tar", "t-001.tar", "t-002.tar"}));
  EXPECT_EQ(expand_braces("{a,b}-{8..10}"),
            (std::vector<std::string>{"a-8", "a-9", "a-10", "b-8", "b-9", "b-10"}));
  EXPECT_EQ(expand_braces("x{099..100}").back(), "x100");
  for (const char* bad :
       {"t-{1..}.tar", "t-{3..1}.tar", "t-{1..2.tar", "t-1..2}.tar", "t-{a..b}"}) {
    EXPECT_THROW(expand_braces(bad), InputError) << bad;
  }
}

// The offsets the index records are where each member's bytes lie.
TEST_F(ImageIndexTest, ShardRecordsPointAtTheJpegBytes) {
  std::vector<std::pair<std::string, Bytes>> members;
  std::vector<Bytes> images;
  for (int i = 0; i < 5; ++i) {
    images.push_back(test::solid_rgb_jpeg(8 + i, 8, {i * 40, 0, 0}));
    const std::string key = "dir/sample" + std::to_string(i);
    members.push_back({key + ".jpg", images.back()});
    members.push_back({key + ".cls", test::text_bytes(std::to_string(i * 3) + "\n")});
    if (i == 2)
      members.push_back({key + ".json", test::text_bytes("{}")});  // other fields are ignored
  }
  // A long name forces a pax/GNU extension header before the member.
  const std::string long_key = "dir/" + std::string(120, 'k');
  images.push_back(test::solid_rgb_jpeg(9, 9, {0, 9, 0}));
  members.push_back({long_key + ".cls", test::text_bytes("1")});
  members.push_back({long_key + ".jpeg", images.back()});
  test::write_tar(dir_ / "a.tar", members);
  const ImageIndex index = index_shards({(dir_ / "a.tar").string()}, false);
  ASSERT_EQ(index.records.size(), 6u);
  EXPECT_TRUE(index.shards);
  EXPECT_EQ(index.classes, 13);
  const int fd = ::open((dir_ / "a.tar").c_str(), O_RDONLY);
  for (std::size_t i = 0; i < 6; ++i) {
    const ImageRecord& r = index.records[i];
    EXPECT_EQ(r.label, i < 5 ? int(i) * 3 : 1);
    Bytes bytes(r.size);
    ASSERT_EQ(::pread(fd, bytes.data(), bytes.size(), off_t(r.offset)), ssize_t(r.size));
    EXPECT_EQ(bytes, images[i]) << i;
  }
  ::close(fd);
}

void expect_shard_error(const std::vector<std::string>& shards, const std::string& needle) {
  try {
    index_shards(shards, false);
    ADD_FAILURE() << "no error, expected one naming " << needle;
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST_F(ImageIndexTest, BadShardsNameTheShard) {
  const Bytes jpeg = test::solid_rgb_jpeg(8, 8, {1, 1, 1});
  const std::string good = (dir_ / "good.tar").string();
  test::write_tar(good, {{"k.jpg", jpeg}, {"k.cls", test::text_bytes("2")}});
  const std::string missing = (dir_ / "missing.tar").string();
  expect_shard_error({good, missing}, missing + ": cannot read");
  const std::string garbage = (dir_ / "garbage.tar").string();
  test::write_bytes(garbage, Bytes(3000, 0x42));
  expect_shard_error({garbage}, garbage + ": cannot read (Unrecognized archive format)");
  const std::string truncated = (dir_ / "truncated.tar").string();
  const Bytes whole = test::read_bytes(good);
  test::write_bytes(truncated, Bytes(whole.begin(), whole.begin() + 700));
  expect_shard_error({truncated}, truncated + ": not a readable tar file");
  const std::string gz = (dir_ / "c.tar.gz").string();
  test::write_tar(gz, {{"k.jpg", jpeg}, {"k.cls", test::text_bytes("2")}}, true);
  expect_shard_error({gz}, gz + ": compressed");
  const std::string no_label = (dir_ / "nolabel.tar").string();
  test::write_tar(no_label, {{"k.jpg", jpeg}});
  expect_shard_error({no_label}, no_label + ": sample k has no .cls");
  const std::string bad_label = (dir_ / "badlabel.tar").string();
  test::write_tar(bad_label, {{"k.jpg", jpeg}, {"k.cls", test::text_bytes("-1")}});
  expect_shard_error({bad_label}, bad_label + ": k.cls: expected a class number");

  // skip_corrupt: the bad shards are left out and listed, the good one kept.
  const ImageIndex index = index_shards({good, missing, garbage, no_label}, true);
  EXPECT_EQ(index.records.size(), 1u);
  EXPECT_EQ(index.classes, 3);
  ASSERT_EQ(index.skipped.size(), 3u);
  EXPECT_EQ(index.skipped[0].path, missing);
}

}  // namespace
}  // namespace lb
