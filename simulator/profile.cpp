#include "simulator/profile.hpp"

#include "runtime/core/json_reader.hpp"

namespace lb::sim {

RuntimeProfile load_profile(const std::filesystem::path& path) {
  std::error_code ec;
  const auto file = std::filesystem::is_directory(path, ec) ? path / "profile.json" : path;
  RuntimeProfile p;
  static_cast<Profile&>(p) = profile_from_json(read_json_file(file, "profile"), file.string());
  p.file = file.string();
  return p;
}

}  // namespace lb::sim
