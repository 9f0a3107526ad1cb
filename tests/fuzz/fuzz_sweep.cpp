// The sweep-file reader (hparam-sweep SWEEP.json), which also checks every
// spec the sweep can generate.
#include "fuzz_common.hpp"
#include "hparam/sweep_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const auto file = lb::fuzz::scratch_file(
      "sweep.json", std::string_view(reinterpret_cast<const char*>(data), size));
  lb::fuzz::expect_clean_rejection([&] { (void)lb::hparam::parse_sweep_file(file); });
  return 0;
}
