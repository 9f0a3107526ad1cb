#include "runtime/data/image_index.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <memory>
#include <utility>

#include "runtime/core/errors.hpp"

namespace lb {
namespace fs = std::filesystem;

std::uint32_t PathTable::add(const std::string& path) {
  if (starts_.size() >= std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("PathTable: more than 2^32 paths");
  }
  starts_.push_back(text_.size());
  text_ += path;
  return std::uint32_t(starts_.size() - 1);
}

std::string PathTable::operator[](std::uint32_t i) const {
  const std::uint64_t end = i + 1 < starts_.size() ? starts_[i + 1] : text_.size();
  return prefix_ + text_.substr(starts_[i], end - starts_[i]);
}

namespace {

std::string lower(std::string text) {
  for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool is_jpeg_extension(const std::string& extension) {
  const std::string e = lower(extension);
  return e == "jpg" || e == "jpeg";
}

// --- imagefolder ------------------------------------------------------------

std::vector<std::string> sorted_class_folders(const fs::path& split_dir) {
  std::error_code ec;
  if (!fs::is_directory(split_dir, ec)) throw DataError(split_dir.string(), "not a directory");
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(split_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(".") && entry.is_directory(ec)) names.push_back(name);
  }
  if (ec) throw DataError(split_dir.string(), "cannot list (" + ec.message() + ")");
  if (names.empty()) throw DataError(split_dir.string(), "no class folders");
  std::sort(names.begin(), names.end());
  return names;
}

// The class folder's files relative to the split folder, sorted. The
// directory entries' cached types avoid a stat() per file.
std::vector<std::string> class_files(const fs::path& split_dir, const std::string& name) {
  std::error_code ec;
  std::vector<std::string> files;
  const fs::path dir = split_dir / name;
  const std::size_t prefix = dir.string().size();
  for (auto it = fs::recursive_directory_iterator(
           dir, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (file.starts_with(".")) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    // Relative by cutting the prefix: fs::relative would resolve the path
    // with system calls for every one of a million files.
    if (!it->is_directory(ec)) files.push_back(name + it->path().string().substr(prefix));
  }
  if (ec) throw DataError(dir.string(), "cannot list (" + ec.message() + ")");
  if (files.empty()) throw DataError(dir.string(), "empty class folder (no images)");
  std::sort(files.begin(), files.end());
  return files;
}

void add_class(ImageIndex& index, const fs::path& split_dir, const std::string& name,
               std::int32_t label, bool skip_corrupt) {
  for (const std::string& file : class_files(split_dir, name)) {
    const std::string extension = fs::path(file).extension().string();
    if (!is_jpeg_extension(extension.empty() ? "" : extension.substr(1))) {
      const std::string reason = "not a JPEG file (expected .jpg or .jpeg)";
      if (!skip_corrupt) throw DataError((split_dir / file).string(), reason);
      index.skipped.push_back({(split_dir / file).string(), reason});
      continue;
    }
    index.records.push_back({0, 0, index.files.add(file), label});
  }
}

}  // namespace

ImageIndex index_image_folder(const fs::path& split_dir, const std::vector<std::string>& classes,
                              bool skip_corrupt) {
  const std::vector<std::string> folders = sorted_class_folders(split_dir);
  ImageIndex index{
      PathTable((split_dir / "").string()), {}, classes.empty() ? folders : classes, 0, {}};
  index.classes = int(index.class_names.size());
  for (const std::string& name : folders) {
    const auto at = std::lower_bound(index.class_names.begin(), index.class_names.end(), name);
    if (at == index.class_names.end() || *at != name) {
      throw DataError((split_dir / name).string(),
                      "class folder not in the training set's classes");
    }
    add_class(index, split_dir, name, std::int32_t(at - index.class_names.begin()), skip_corrupt);
  }
  return index;
}

// --- brace patterns -------------------------------------------------------------

namespace {

// The alternatives of one group's body: "000..146" or "a,b,c".
std::vector<std::string> group_alternatives(const std::string& body, const std::string& pattern) {
  const std::size_t dots = body.find("..");
  if (dots == std::string::npos) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t comma; (comma = body.find(',', start)) != std::string::npos;
         start = comma + 1) {
      parts.push_back(body.substr(start, comma - start));
    }
    parts.push_back(body.substr(start));
    return parts;
  }
  const std::string low = body.substr(0, dots), high = body.substr(dots + 2);
  long long first = 0, last = 0;
  const auto a = std::from_chars(low.data(), low.data() + low.size(), first);
  const auto b = std::from_chars(high.data(), high.data() + high.size(), last);
  if (low.empty() || high.empty() || a.ec != std::errc() || b.ec != std::errc() ||
      a.ptr != low.data() + low.size() || b.ptr != high.data() + high.size() || first < 0 ||
      last < first || last - first > 10'000'000) {
    throw InputError("shard pattern " + pattern +
                     ": expected {FIRST..LAST} with 0 <= FIRST <= LAST");
  }
  std::vector<std::string> numbers;
  for (long long n = first; n <= last; ++n) {
    std::string text = std::to_string(n);
    if (text.size() < low.size()) text.insert(0, low.size() - text.size(), '0');  // zero padding
    numbers.push_back(std::move(text));
  }
  return numbers;
}

}  // namespace

std::vector<std::string> expand_braces(const std::string& pattern) {
  const std::size_t open = pattern.find('{');
  if (open == std::string::npos) {
    if (pattern.find('}') != std::string::npos)
      throw InputError("shard pattern " + pattern + ": '}' without '{'");
    return {pattern};
  }
  const std::size_t close = pattern.find('}', open);
  if (close == std::string::npos)
    throw InputError("shard pattern " + pattern + ": '{' without '}'");
  const std::string head = pattern.substr(0, open);
  const std::vector<std::string> tails = expand_braces(pattern.substr(close + 1));
  std::vector<std::string> out;
  for (const std::string& middle :
       group_alternatives(pattern.substr(open + 1, close - open - 1), pattern)) {
    for (const std::string& tail : tails) out.push_back(head + middle + tail);
  }
  return out;
}

// --- tar shards -------------------------------------------------------------------

namespace {

using Archive = std::unique_ptr<archive, decltype(&archive_read_free)>;

// One sample's members as they are read: WebDataset keeps them adjacent.
struct PendingSample {
  std::string key;
  bool has_image = false, has_label = false;
  std::uint64_t offset = 0, size = 0;
  std::int32_t label = 0;
};

struct ShardReader {
  const std::string& shard;
  std::uint32_t file;
  bool skip_corrupt;
  ImageIndex& index;
  PendingSample pending;

  [[noreturn]] void fail(const std::string& message) const { throw DataError(shard, message); }

  void finish_sample() {
    if (pending.key.empty()) return;
    const PendingSample sample = std::exchange(pending, {});
    std::string missing = !sample.has_image ? ".jpg" : !sample.has_label ? ".cls" : "";
    if (missing.empty()) {
      index.records.push_back({sample.offset, sample.size, file, sample.label});
      return;
    }
    const std::string reason = "sample " + sample.key + " has no " + missing;
    if (!skip_corrupt) fail(reason);
    index.skipped.push_back({shard + ": " + sample.key, reason});
  }

  std::int32_t read_label(archive* a, const std::string& member, std::int64_t size) const {
    if (size <= 0 || size > 64)
      fail(member + ": expected a class number, got " + std::to_string(size) + " bytes");
    std::string text(std::size_t(size), '\0');
    if (archive_read_data(a, text.data(), text.size()) != la_ssize_t(size))
      fail(member + ": cannot read");
    const auto first = text.find_first_not_of(" \t\r\n"), last = text.find_last_not_of(" \t\r\n");
    long long label = -1;
    const char* begin = text.data() + (first == std::string::npos ? text.size() : first);
    const char* end = text.data() + (last == std::string::npos ? 0 : last + 1);
    const auto parsed = std::from_chars(begin, std::max(begin, end), label);
    if (parsed.ec != std::errc() || parsed.ptr != end || label < 0 || label > (1 << 30)) {
      fail(member + ": expected a class number >= 0, got \"" + text.substr(0, 20) + "\"");
    }
    return std::int32_t(label);
  }

  void add_member(archive* a, archive_entry* entry) {
    const std::string member = archive_entry_pathname(entry);
    const std::size_t slash = member.rfind('/');
    const std::size_t dot = member.find('.', slash == std::string::npos ? 0 : slash + 1);
    if (dot == std::string::npos) return;
    const std::string key = member.substr(0, dot), extension = lower(member.substr(dot + 1));
    if (key != pending.key) {
      finish_sample();
      pending.key = key;
    }
    if (is_jpeg_extension(extension)) {
      // The tar reader has consumed the member's header(s): the position is
      // where its data starts, read later with pread().
      pending.offset = std::uint64_t(archive_filter_bytes(a, 0));
      pending.size = std::uint64_t(archive_entry_size(entry));
      pending.has_image = true;
    } else if (extension == "cls") {
      pending.label = read_label(a, member, archive_entry_size(entry));
      pending.has_label = true;
    }
  }

  void read_all() {
    Archive a(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(a.get());
    archive_read_support_filter_all(a.get());
    if (archive_read_open_filename(a.get(), shard.c_str(), 1 << 16) != ARCHIVE_OK) {
      fail(std::string("cannot read (") + archive_error_string(a.get()) + ")");
    }
    archive_entry* entry = nullptr;
    int status;
    while ((status = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK) {
      if (archive_filter_count(a.get()) > 1) {
        fail(std::string("compressed (") + archive_filter_name(a.get(), 0) +
             "): shards must be plain tar, read at random offsets");
      }
      if (archive_entry_filetype(entry) == AE_IFREG) add_member(a.get(), entry);
    }
    if (status != ARCHIVE_EOF)
      fail(std::string("not a readable tar file (") + archive_error_string(a.get()) + ")");
    finish_sample();
  }
};

}  // namespace

ImageIndex index_shards(const std::vector<std::string>& shards, bool skip_corrupt) {
  ImageIndex index;
  index.shards = true;
  for (const std::string& shard : shards) {
    const std::size_t records = index.records.size(), skipped = index.skipped.size();
    const std::uint32_t file = index.files.add(shard);
    ShardReader reader{shard, file, skip_corrupt, index, {}};
    try {
      reader.read_all();
    } catch (const DataError& e) {
      if (!skip_corrupt) throw;
      index.records.resize(records);  // the whole shard is left out
      index.skipped.resize(skipped);
      index.skipped.push_back({shard, e.what()});
    }
  }
  if (index.records.empty())
    throw DataError(shards.empty() ? "(no shards)" : shards.front(), "no samples");
  for (const ImageRecord& record : index.records)
    index.classes = std::max(index.classes, record.label + 1);
  return index;
}

}  // namespace lb
