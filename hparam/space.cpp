#include "hparam/space.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/core/json_reader.hpp"

namespace lb::hparam {

double round_significant(double value, int digits) {
  if (value == 0 || !std::isfinite(value)) return value;
  const double magnitude = std::floor(std::log10(std::fabs(value)));
  const double factor = std::pow(10.0, digits - 1 - magnitude);
  if (!std::isfinite(factor) || factor == 0) return value;  // subnormal or near the float limits
  return std::round(value * factor) / factor;
}

double Param::to_unit(const nlohmann::json& value) const {
  if (kind == Kind::choice) {
    const auto it = std::find(choices.begin(), choices.end(), value);
    const auto index = static_cast<double>(it - choices.begin());
    return (index + 0.5) / static_cast<double>(choices.size());
  }
  const double v = value.get<double>();
  if (max == min) return 0.5;
  // Logs of the ends, not of max / min: a range over more than ~308
  // decades (1e-300 to 1e300) would overflow the ratio to inf; halves for
  // the same reason on a linear range as wide as [-1e308, 1e308].
  const double u = kind == Kind::log
                       ? (std::log(v) - std::log(min)) / (std::log(max) - std::log(min))
                       : (v / 2 - min / 2) / (max / 2 - min / 2);
  return std::clamp(u, 0.0, 1.0);
}

nlohmann::json Param::from_unit(double u) const {
  u = std::clamp(u, 0.0, 1.0);
  if (kind == Kind::choice) {
    const auto n = choices.size();
    return choices[std::min(n - 1, static_cast<std::size_t>(u * static_cast<double>(n)))];
  }
  double v = kind == Kind::log ? std::exp(std::log(min) + u * (std::log(max) - std::log(min)))
                               : min * (1 - u) + max * u;
  v = std::clamp(v, min, max);  // exp may land a hair outside
  if (integer) return static_cast<std::int64_t>(std::llround(v));
  return std::clamp(round_significant(v, 4), min, max);
}

std::string Param::describe() const {
  if (kind == Kind::choice) return "choice " + nlohmann::json(choices).dump();
  return std::string(kind == Kind::log ? "log" : "linear") + (integer ? " integer" : "") + " [" +
         format_number(min) + ", " + format_number(max) + "]";
}

}  // namespace lb::hparam
