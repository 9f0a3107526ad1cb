#pragma once
// The search space: one Param per spec key. Every param maps its values to a
// unit coordinate in [0, 1] (log params in log space, choices by index) so
// the samplers and the narrowing around good points work on one shape.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lb::hparam {

struct Param {
  enum class Kind { linear, log, choice };
  std::string key;  // dotted spec key, e.g. "optimizer.lr.base"
  Kind kind = Kind::linear;
  double min = 0, max = 0;              // linear and log
  bool integer = false;                 // values rounded (the spec key is an integer)
  std::vector<nlohmann::json> choices;  // choice

  bool continuous() const { return kind != Kind::choice; }
  // Unit coordinate of a value: linear/log position in [min, max]; for a
  // choice the centre of its cell, (index + 0.5) / n.
  double to_unit(const nlohmann::json& value) const;
  // The value at unit coordinate u (clamped to [0, 1]); floats are rounded
  // to 4 significant digits so generated values read well in tables.
  nlohmann::json from_unit(double u) const;
  std::string describe() const;  // "log [0.01, 1]", "choice [4096, 8192]"
};

struct SearchSpace {
  std::vector<Param> params;  // sorted by key (the order of JSON objects)
  std::size_t size() const { return params.size(); }
};

// Rounds to `digits` significant digits.
double round_significant(double value, int digits);

}  // namespace lb::hparam
