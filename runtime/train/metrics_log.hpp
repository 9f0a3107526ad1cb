#pragma once
// DIR/metrics.jsonl: one JSON object per line, flushed after each, so a
// crashed run keeps everything it logged.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace lb {

class MetricsLog {
 public:
  // append = true continues an existing log (resume).
  MetricsLog(const std::filesystem::path& file, bool append);
  void write(const nlohmann::json& record);

 private:
  std::ofstream out_;
};

}  // namespace lb
