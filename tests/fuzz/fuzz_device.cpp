// The simulator's GPU profile reader (experiments/devices/NAME.json).
#include "fuzz_common.hpp"
#include "simulator/device.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  lb::fuzz::scratch_file("fuzzgpu.json",
                         std::string_view(reinterpret_cast<const char*>(data), size));
  lb::fuzz::expect_clean_rejection(
      [&] { (void)lb::sim::load_device({lb::fuzz::scratch_dir()}, "fuzzgpu"); },
      lb::fuzz::Contract::no_crash);
  return 0;
}
