#pragma once
// Number formatting shared by the sweep's progress lines, reasons and reports.
#include <cstdio>
#include <string>

namespace lb::hparam {

// `v` with `digits` digits after the point ("nan", "inf" as printf writes them).
inline std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace lb::hparam
