#include "runtime/train/metrics_log.hpp"

#include <stdexcept>

namespace lb {

MetricsLog::MetricsLog(const std::filesystem::path& file, bool append)
    : out_(file, append ? std::ios::app : std::ios::trunc) {
  if (!out_) throw std::runtime_error("cannot open " + file.string() + " for writing");
}

void MetricsLog::write(const nlohmann::json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
}

}  // namespace lb
