#include "runtime/train/run_directory.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"

namespace lb {
namespace {

namespace fs = std::filesystem;

bool is_run_file(const fs::path& file) {
  const std::string name = file.filename().string();
  for (const char* fixed : {kMetricsFile, kSummaryFile, kCheckpointFile, kProfileFile}) {
    if (name == fixed) return true;
  }
  return name.starts_with(kTracePrefix) && name.ends_with(".json");
}

// The first run file in `out`, or an empty path.
fs::path first_run_file(const fs::path& out) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(out, ec)) {
    if (is_run_file(entry.path())) return entry.path();
  }
  return {};
}

}  // namespace

void check_run_directory(const fs::path& out, bool resume, bool overwrite) {
  check_output_directory(out, "--out");
  if (resume || overwrite) return;
  const fs::path found = first_run_file(out);
  if (found.empty()) return;
  throw InputError(
      "--out " + out.string() + ": holds a run (" + found.filename().string() +
      "); continue it with --resume, replace it with --overwrite, or use a new directory");
}

void remove_run_files(const fs::path& out) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(out, ec)) {
    if (is_run_file(entry.path())) fs::remove(entry.path(), ec);
  }
  remove_stale_temporary_files(out);
}

void trim_metrics_log(const fs::path& file, std::int64_t step) {
  std::ifstream in(file);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object()) break;  // a torn line: the run died writing it
    const auto at = record.find("step");
    if (at != record.end() && at->is_number() && at->get<double>() > double(step)) break;
    kept += line + "\n";
  }
  write_file_atomically(file, kept);
}

}  // namespace lb
