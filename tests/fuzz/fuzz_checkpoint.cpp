// The checkpoint reader and the --resume checks behind it. The first byte
// chooses: even, the rest is a checkpoint body whose SHA-256 is appended (so
// the fuzzer gets past the checksum to the header); odd, the rest is the
// file as it is.
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "runtime/train/checkpoint.hpp"
#include "runtime/train/resume_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) bytes += lb::checkpoint_digest(bytes);
  const auto file = lb::fuzz::scratch_file("checkpoint.bin", bytes);
  // The model the fuzz seeds were written for: two small tensors.
  std::vector<float> weight(4), bias(2);
  const std::vector<lb::NamedSpan> tensors{{"fc.weight", weight}, {"fc.bias", bias}};
  lb::fuzz::expect_clean_rejection([&] {
    const lb::LoadedCheckpoint loaded = lb::load_checkpoint(file, tensors);
    (void)lb::check_resume(loaded, lb::Spec{}, 100, file.string());
  });
  return 0;
}
