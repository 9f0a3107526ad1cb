#pragma once
// The progress line: rewritten in place on a terminal, one line per report
// otherwise (so logs stay readable).
#include <cstdint>
#include <iosfwd>
#include <string>

namespace lb {

struct ProgressReport {
  std::int64_t step = 0, total_steps = 0;
  double epoch = 0;
  int total_epochs = 0;
  double loss = 0, lr = 0, loss_scale = 0, images_per_s = 0, eta_s = 0;
};

class Progress {
 public:
  Progress(std::ostream& out, bool terminal, bool quiet)
      : out_(out), terminal_(terminal), quiet_(quiet) {}
  void report(const ProgressReport& r);
  void message(const std::string& line);  // ends an in-place line first

 private:
  std::ostream& out_;
  bool terminal_;
  bool quiet_;
  bool line_open_ = false;
};

std::string format_duration(double seconds);  // "1:02:03" or "2:03"

}  // namespace lb
