#include "runtime/train/progress.hpp"

#include <cmath>
#include <cstdio>
#include <ostream>

namespace lb {

std::string format_duration(double seconds) {
  const auto total = static_cast<long>(std::lround(std::max(seconds, 0.0)));
  char buf[32];
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", total / 60, total % 60);
  }
  return buf;
}

void Progress::report(const ProgressReport& r) {
  if (quiet_) return;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "epoch %.2f/%d  step %lld/%lld  loss %.4f  lr %.4g  scale %g  %.0f img/s  ETA %s",
                r.epoch, r.total_epochs, static_cast<long long>(r.step),
                static_cast<long long>(r.total_steps), r.loss, r.lr, r.loss_scale, r.images_per_s,
                format_duration(r.eta_s).c_str());
  if (terminal_) {
    out_ << "\r\033[K" << buf << std::flush;
    line_open_ = true;
  } else {
    out_ << buf << '\n' << std::flush;
  }
}

void Progress::message(const std::string& line) {
  if (line_open_) out_ << '\n';
  line_open_ = false;
  out_ << line << '\n' << std::flush;
}

}  // namespace lb
