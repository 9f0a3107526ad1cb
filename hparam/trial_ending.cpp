#include "hparam/trial_ending.hpp"

#include <cmath>

#include "runtime/core/errors.hpp"

namespace lb::hparam {
namespace {

using json = nlohmann::json;

Classified ending(Ending kind, bool retry, std::string reason) {
  Classified c;
  c.ending = kind;
  c.retry = retry;
  c.reason = std::move(reason);
  return c;
}

// "exit 3: lb-train: error: ..." (the stderr line only when there is one).
std::string with_line(const std::string& what, const std::string& line) {
  return line.empty() ? what : what + ": " + line;
}

// Exit 0: the result is whatever summary.json says.
Classified from_summary(const AttemptEnd& end, const std::string& objective) {
  if (!end.summary) return ending(Ending::no_summary, false, "exit 0 but no summary.json");
  Classified c;
  try {
    c.summary = json::parse(*end.summary);
    const json& v = c.summary.at(objective);
    c.objective = v.is_number() ? v.get<double>() : std::nan("");
  } catch (const std::exception& e) {
    return ending(Ending::no_summary, false,
                  "exit 0 but no usable summary.json (" + std::string(e.what()) + ")");
  }
  if (!std::isfinite(*c.objective)) {
    c.ending = Ending::diverged;
    c.reason = "diverged: " + objective + " is not finite";
    return c;
  }
  c.ending = Ending::finished;
  return c;
}

}  // namespace

Classified classify_ending(const AttemptEnd& end, const std::string& objective) {
  if (!end.stopped_by_sweep.empty()) return ending(Ending::stopped, true, end.stopped_by_sweep);
  if (!end.scheduler_verdict.empty()) return ending(Ending::scheduler, true, end.scheduler_verdict);
  if (end.exit.signal != 0) return ending(Ending::crashed, true, "crashed: " + end.exit.describe());
  switch (end.exit.code) {
    case 0:
      return from_summary(end, objective);
    case kDivergedExitCode:
      return ending(Ending::diverged, false, with_line("diverged", end.stderr_line));
    case 2:
      return ending(Ending::bad_input, false, with_line("bad input", end.stderr_line));
    case 127:
      return ending(Ending::cannot_run, false, with_line("cannot run", end.stderr_line));
    default:
      return ending(Ending::failed, true, with_line(end.exit.describe(), end.stderr_line));
  }
}

}  // namespace lb::hparam
