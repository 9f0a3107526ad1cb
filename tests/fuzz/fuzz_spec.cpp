// The experiment spec reader: the file's bytes, then --set assignments, each
// after a NUL byte. An accepted spec must survive its own round trip.
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "runtime/core/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const std::size_t nul = input.find('\0', start);
    parts.push_back(input.substr(start, nul == std::string::npos ? nul : nul - start));
    if (nul == std::string::npos) break;
    start = nul + 1;
  }
  const auto file = lb::fuzz::scratch_file("spec.json", parts[0]);
  const std::vector<std::string> overrides(parts.begin() + 1, parts.end());
  lb::fuzz::expect_clean_rejection([&] {
    const lb::Spec spec = lb::load_spec(file, overrides);
    // summary.json writes the resolved spec, and it must read back.
    const nlohmann::json resolved = lb::to_json(spec);
    (void)resolved.dump();
    try {
      (void)lb::parse_spec(resolved);
    } catch (const std::exception& e) {
      lb::fuzz::escaped((std::string("the resolved spec does not parse: ") + e.what()).c_str());
    }
  });
  return 0;
}
