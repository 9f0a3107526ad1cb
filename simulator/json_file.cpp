#include "simulator/json_file.hpp"

#include <fstream>
#include <sstream>

#include "runtime/core/errors.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb::sim {

nlohmann::json read_json_document(const std::filesystem::path& file, const std::string& kind) {
  const std::string at = kind + " error: " + file.string();
  std::error_code ec;
  std::ifstream in(file, std::ios::binary);
  if (!in || std::filesystem::is_directory(file, ec)) throw InputError(at + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(at + ": invalid JSON: " + json_error_text(e));
  }
}

}  // namespace lb::sim
