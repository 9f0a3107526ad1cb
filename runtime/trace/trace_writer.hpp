#pragma once
// Chrome trace event JSON (opens in Perfetto and chrome://tracing), one file
// per rank. The file is a JSON array that is valid after every flush(): each
// flush overwrites the closing bracket with the new events and a new bracket,
// so a killed process leaves at worst the events since its last flush out.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace lb {

class TraceWriter {
 public:
  // pid = the rank, so several ranks' files can be opened together.
  TraceWriter(const std::filesystem::path& file, int rank);
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // A complete event ("ph":"X"). Times in microseconds since the writer began;
  // `track` becomes the thread id (0 compute, 1 communication, 2 data).
  void complete(std::string_view name, std::string_view category, double start_us,
                double duration_us, int track, const nlohmann::json& args = nullptr);
  double now_us() const;  // microseconds since the writer began
  double us_at(std::chrono::steady_clock::time_point t) const;  // the same, for a past instant
  void flush();

 private:
  void process_metadata();
  void metadata(int track, std::string_view name);
  void append(const nlohmann::json& event);

  std::ofstream out_;
  int rank_;
  std::mutex mutex_;  // the communication thread writes too
  std::string pending_;
  bool first_ = true;
  std::int64_t start_ns_;
};

}  // namespace lb
