// The simulator's calibration reader (simulate-scaling --calibration cal.json).
#include "fuzz_common.hpp"
#include "simulator/calibration.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const auto file = lb::fuzz::scratch_file(
      "cal.json", std::string_view(reinterpret_cast<const char*>(data), size));
  lb::fuzz::expect_clean_rejection([&] { (void)lb::sim::load_calibration(file); },
                                   lb::fuzz::Contract::no_crash);
  return 0;
}
