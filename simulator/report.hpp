#pragma once
// What simulate-scaling tells its user: the notes on how each term of the
// step was estimated and from what, the warnings (extrapolation, memory,
// capped fits, partial nodes, inputs it could not use), the table, and the
// scaling.json / scaling.csv documents.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "simulator/scaling.hpp"

namespace lb::sim {

struct Report {
  std::vector<std::string> notes;     // how each term is estimated, always printed
  std::vector<std::string> warnings;  // what the user must know before trusting a row
};

Report make_report(const Scenario& s, const std::vector<ScalingRow>& rows);

// The header (notes, warnings) and one line per row, as printed on stdout.
std::string table(const Scenario& s, const std::vector<ScalingRow>& rows, const Report& report,
                  double price_per_gpu_hour);
std::string csv(const std::vector<ScalingRow>& rows);
nlohmann::json scaling_document(const Scenario& s, const std::vector<ScalingRow>& rows,
                                const Report& report, double price_per_gpu_hour);

}  // namespace lb::sim
