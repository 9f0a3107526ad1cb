#pragma once
// The list of a JPEG data set's images: where each one's bytes are and its
// label, built once at start-up without reading any image. Kept compact
// (paths in one buffer, 24 bytes a record) because ImageNet has 1.28 M.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lb {

// A file's bytes: a whole file (size 0 = to its end) or a member of a tar shard.
struct ImageRecord {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint32_t file = 0;  // into ImageIndex::files
  std::int32_t label = 0;
};

// Paths stored back to back: a million std::strings would cost a heap block each.
class PathTable {
 public:
  // Every path is returned with `prefix` in front (the split's folder).
  explicit PathTable(std::string prefix = "") : prefix_(std::move(prefix)) {}
  std::uint32_t add(const std::string& path);
  std::string operator[](std::uint32_t i) const;
  std::size_t size() const { return starts_.size(); }

 private:
  std::string prefix_;
  std::string text_;
  std::vector<std::uint64_t> starts_;
};

// A file left out of the index (data.skip_corrupt) and why.
struct SkippedFile {
  std::string path, reason;
};

struct ImageIndex {
  PathTable files;
  std::vector<ImageRecord> records;
  std::vector<std::string> class_names;  // imagefolder: label -> folder name
  int classes = 0;
  std::vector<SkippedFile> skipped;
  bool shards = false;  // records are members of files (tar shards), else whole files
};

// ROOT/SPLIT/CLASS/**/*.jpg (or .jpeg, any case). Labels are the positions
// of the class folder names in `classes`; pass the training split's
// class_names for the validation split, empty to take this split's own
// folders sorted by name (as torchvision's ImageFolder). Files sorted by path
// within a class. Hidden files (".name") are ignored. Throws DataError naming
// the folder or file for a missing split, an empty class folder, a class
// folder not in `classes`, or a file that is not .jpg/.jpeg (unless
// skip_corrupt: then it is listed in `skipped`).
ImageIndex index_image_folder(const std::filesystem::path& split_dir,
                              const std::vector<std::string>& classes, bool skip_corrupt);

// "a-{000..002}.tar" -> a-000.tar, a-001.tar, a-002.tar (zero padding kept;
// several groups expand left to right; "{x,y}" lists alternatives). Throws
// InputError naming `pattern` for a malformed group.
std::vector<std::string> expand_braces(const std::string& pattern);

// Plain (uncompressed) tar shards, WebDataset's layout: each sample is
// KEY.jpg (or .jpeg) + KEY.cls (the label as a decimal integer), KEY being
// the member's path up to the first dot of its file name; other members are
// ignored. A shard that cannot be read, is compressed, or holds a sample
// without its .jpg or .cls, or a bad label, throws DataError naming it
// (skip_corrupt: the shard or sample goes to `skipped`). classes = the
// largest label + 1.
ImageIndex index_shards(const std::vector<std::string>& shards, bool skip_corrupt);

}  // namespace lb
