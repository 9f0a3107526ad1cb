#pragma once
// The files a run keeps in its --out directory, and the rules that keep two
// runs from mixing there: a directory holding a run is continued (--resume)
// or replaced (--overwrite), never silently clobbered.
#include <array>
#include <cstdint>
#include <filesystem>

namespace lb {

inline constexpr const char* kMetricsFile = "metrics.jsonl";
inline constexpr const char* kSummaryFile = "summary.json";
inline constexpr const char* kCheckpointFile = "checkpoint.bin";
inline constexpr const char* kProfileFile = "profile.json";
// Every rank's trace is trace.rankR.json.
inline constexpr const char* kTracePrefix = "trace.rank";

// Checks --out before a run writes anything. Throws InputError when `out`
// is empty, is a file, lies below a file or cannot be created or written,
// and when it holds a run's files but neither `resume` nor `overwrite` says
// what to do with them.
void check_run_directory(const std::filesystem::path& out, bool resume, bool overwrite);

// --overwrite: removes what an earlier run left in `out` (its files above,
// every rank's trace, temporary files); other files stay.
void remove_run_files(const std::filesystem::path& out);

// --resume: metrics.jsonl keeps only records up to `step` (a run killed after
// its last checkpoint had logged steps the resumed run logs again) and drops
// a torn last line. Rewritten atomically; a missing file is left missing.
void trim_metrics_log(const std::filesystem::path& file, std::int64_t step);

}  // namespace lb
