#pragma once
// A trial's metrics.jsonl read as it grows: each poll returns the records
// completed since the last (a line still being written waits for its newline).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lb::hparam {

class MetricsTail {
 public:
  explicit MetricsTail(std::filesystem::path file) : file_(std::move(file)) {}

  // Cuts the file back to its records up to `epoch` (an interrupted attempt
  // may have written more) and reads on after them: a trial resuming from a
  // rung whose evaluations are already stored.
  void restart_at(double epoch);
  // The JSON objects of the lines completed since the last call; lines that
  // do not parse as an object are skipped.
  std::vector<nlohmann::json> poll();

 private:
  std::filesystem::path file_;
  std::size_t offset_ = 0;
  std::string partial_;  // an incomplete last line
};

}  // namespace lb::hparam
