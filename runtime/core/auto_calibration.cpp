#include "runtime/core/auto_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>

#include "runtime/core/choice.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb {
namespace {

std::string fastest(const SizeTimings& t) {
  auto best = t.seconds.begin();
  for (auto it = t.seconds.begin(); it != t.seconds.end(); ++it) {
    if (it->second < best->second) best = it;
  }
  return best->first;
}

[[noreturn]] void bad_file(const std::filesystem::path& file, const std::string& message) {
  throw InputError("comm.auto_calibration: " + file.string() + ": " + message);
}

}  // namespace

std::vector<AutoRule> fastest_rules(const std::vector<SizeTimings>& timings) {
  std::vector<AutoRule> rules;
  for (std::size_t i = 0; i < timings.size(); ++i) {
    const Algorithm winner = parse_algorithm(fastest(timings[i]));
    if (!rules.empty() && rules.back().algorithm == winner) continue;
    if (!rules.empty()) {
      const double low = double(timings[i - 1].bytes), high = double(timings[i].bytes);
      rules.back().below_bytes = std::llround(std::sqrt(low * high));
    }
    rules.push_back({-1, winner});
  }
  return rules;
}

nlohmann::json auto_calibration_json(const AutoCalibration& c,
                                     const std::vector<SizeTimings>& measured) {
  nlohmann::json rules = nlohmann::json::array();
  for (const AutoRule& r : c.rules) {
    nlohmann::json rule{{"algorithm", to_string(r.algorithm)}};
    if (r.below_bytes >= 0) rule["below_bytes"] = r.below_bytes;
    rules.push_back(rule);
  }
  nlohmann::json sizes = nlohmann::json::array();
  for (const SizeTimings& t : measured)
    sizes.push_back({{"bytes", t.bytes}, {"seconds", t.seconds}});
  return {{"format", kAutoCalibrationFormat}, {"ranks", c.ranks}, {"group_size", c.group_size},
          {"fp16_wire", c.fp16_wire},         {"rules", rules},   {"measured", sizes}};
}

bool auto_calibration_fits(AutoCalibrationShape measured, int ranks, int group_size) {
  return measured.ranks == ranks && measured.group_size == group_size;
}

void require_auto_calibration_fits(const std::string& file, AutoCalibrationShape measured,
                                   int ranks, int group_size) {
  if (auto_calibration_fits(measured, ranks, group_size)) return;
  throw InputError("comm.auto_calibration: " + file + ": measured with " +
                   std::to_string(measured.ranks) + " ranks in groups of " +
                   std::to_string(measured.group_size) + ", this job has " + std::to_string(ranks) +
                   " in groups of " + std::to_string(group_size) +
                   "; measure it again under this job's mpirun with allreduce-bench "
                   "--write-auto-calibration");
}

std::optional<AllreduceCost> fit_allreduce_cost(const std::vector<SizeTimings>& timings) {
  if (timings.size() < 2) return std::nullopt;
  const auto fastest_seconds = [](const SizeTimings& t) { return t.seconds.at(fastest(t)); };
  const SizeTimings& small = timings.front();
  const SizeTimings& large = timings.back();
  const SizeTimings& below_large = timings[timings.size() - 2];
  const double per_byte = (fastest_seconds(large) - fastest_seconds(below_large)) /
                          double(large.bytes - below_large.bytes);
  if (!(per_byte > 0) || !std::isfinite(per_byte)) return std::nullopt;
  return AllreduceCost{std::max(0.0, fastest_seconds(small) - per_byte * double(small.bytes)),
                       per_byte};
}

namespace {

// The file's "measured" list: sizes increasing, every time positive.
std::vector<SizeTimings> read_measured(const std::filesystem::path& file,
                                       const nlohmann::json& list) {
  if (!list.is_array()) bad_file(file, "measured: expected an array");
  std::vector<SizeTimings> timings;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = "measured[" + std::to_string(i) + "]";
    SizeTimings t;
    t.bytes = list[i].at("bytes").get<std::int64_t>();
    if (t.bytes <= 0 || (!timings.empty() && t.bytes <= timings.back().bytes)) {
      bad_file(file, where + ".bytes: must be positive and larger than the size before");
    }
    for (const auto& [name, seconds] : list[i].at("seconds").items()) {
      const double s = seconds.get<double>();
      if (!(s > 0) || !std::isfinite(s))
        bad_file(file, where + ".seconds." + name + ": must be a positive time");
      t.seconds[name] = s;
    }
    if (t.seconds.empty()) bad_file(file, where + ".seconds: no algorithm timed");
    timings.push_back(std::move(t));
  }
  return timings;
}

}  // namespace

AutoCalibration load_auto_calibration(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) bad_file(file, "cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  try {
    j = parse_json(text.str());
  } catch (const JsonTextError& e) {
    bad_file(file, std::string("not JSON: ") + e.what());
  }
  if (!j.is_object() || j.value("format", "") != kAutoCalibrationFormat) {
    bad_file(file, std::string("not an auto calibration file (expected \"format\": \"") +
                       kAutoCalibrationFormat +
                       "\"; write one with allreduce-bench --write-auto-calibration)");
  }
  AutoCalibration c;
  try {
    c.ranks = j.at("ranks").get<int>();
    c.group_size = j.at("group_size").get<int>();
    c.fp16_wire = j.value("fp16_wire", false);
    const auto& rules = j.at("rules");
    if (!rules.is_array() || rules.empty()) bad_file(file, "rules: expected a non-empty array");
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const std::string where = "rules[" + std::to_string(i) + "]";
      AutoRule r;
      const std::string name = rules[i].at("algorithm").get<std::string>();
      const std::optional<Algorithm> algorithm = parse_choice<Algorithm>(name);
      if (algorithm == Algorithm::automatic)
        bad_file(file, where + ".algorithm: a rule must name a concrete algorithm");
      if (!algorithm) bad_file(file, where + ".algorithm: unknown algorithm \"" + name + "\"");
      r.algorithm = *algorithm;
      if (!runs_in_runtime(r.algorithm)) {
        bad_file(file,
                 where + ".algorithm: \"" + name + "\" is simulator-only, lb-train cannot run it");
      }
      const bool last = i + 1 == rules.size();
      if (rules[i].contains("below_bytes") == last) {
        bad_file(file, where + (last ? ": the last rule must not have below_bytes"
                                     : ": below_bytes is required on every rule but the last"));
      }
      if (!last) {
        r.below_bytes = rules[i].at("below_bytes").get<std::int64_t>();
        if (r.below_bytes <= 0 ||
            (!c.rules.empty() && r.below_bytes <= c.rules.back().below_bytes)) {
          bad_file(file, where + ".below_bytes: must be positive and larger than the rule before");
        }
      }
      c.rules.push_back(r);
    }
    if (j.contains("measured"))
      c.measured_cost = fit_allreduce_cost(read_measured(file, j["measured"]));
  } catch (const nlohmann::json::exception& e) {
    bad_file(file, std::string("missing or mistyped field: ") + e.what());
  }
  if (c.ranks < 1 || c.group_size < 1) bad_file(file, "ranks and group_size must be at least 1");
  return c;
}

}  // namespace lb
