// The simulator's reader of lb-train's profile.json.
#include "fuzz_common.hpp"
#include "simulator/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const auto file = lb::fuzz::scratch_file(
      "profile.json", std::string_view(reinterpret_cast<const char*>(data), size));
  lb::fuzz::expect_clean_rejection([&] { (void)lb::sim::load_profile(file); },
                                   lb::fuzz::Contract::no_crash);
  return 0;
}
