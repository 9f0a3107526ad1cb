#include "hparam/metrics_tail.hpp"

#include <fstream>
#include <sstream>

#include "runtime/core/files.hpp"

namespace lb::hparam {

using json = nlohmann::json;

void MetricsTail::restart_at(double epoch) {
  std::string kept;
  std::istringstream in(std::filesystem::exists(file_) ? read_file(file_) : "");
  for (std::string line; std::getline(in, line);) {
    const json record = json::parse(line, nullptr, false);
    if (!record.is_object()) continue;
    const auto at = record.find("epoch");
    if (at != record.end() && at->is_number() && at->get<double>() > epoch + 1e-9) continue;
    kept += line + "\n";
  }
  write_file_atomically(file_, kept);
  offset_ = kept.size();
  partial_.clear();
}

std::vector<json> MetricsTail::poll() {
  std::ifstream in(file_, std::ios::binary);
  if (!in) return {};
  in.seekg(std::streamoff(offset_));
  std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  offset_ += chunk.size();
  partial_ += chunk;
  std::vector<json> records;
  std::size_t newline;
  while ((newline = partial_.find('\n')) != std::string::npos) {
    json record = json::parse(partial_.substr(0, newline), nullptr, false);
    partial_.erase(0, newline + 1);
    if (record.is_object()) records.push_back(std::move(record));
  }
  return records;
}

}  // namespace lb::hparam
