#pragma once
// What the libFuzzer targets share. Each target hands the fuzzer's bytes to
// one of the project's readers of user files, as those files: bad input must
// end in an InputError (exit 2, one line); anything else that escapes is a
// bug, and so is every crash, hang or sanitizer report.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "runtime/core/errors.hpp"

namespace lb::fuzz {

// A directory of this process's own, in memory where /dev/shm exists
// (readers take paths, and every run writes its input there).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                           ? "/dev/shm"
                                           : std::filesystem::temp_directory_path();
    auto d = base / ("lb_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

inline std::filesystem::path scratch_file(const std::string& name, std::string_view bytes) {
  const std::filesystem::path file = scratch_dir() / name;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  return file;
}

// Readers this project's fuzzing owns reject bad input with InputError
// only. Readers owned elsewhere (the simulator's) are held to "no crash"
// only, unless LB_FUZZ_STRICT=1, so that a message-only defect there does
// not stop the run; scripts/fuzz --strict reports those.
enum class Contract { input_errors_only, no_crash };

[[noreturn]] inline void escaped(const char* what) {
  std::fprintf(stderr, "fuzz: an exception other than InputError escaped: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

template <class Read>
void expect_clean_rejection(Read&& read, Contract contract = Contract::input_errors_only) {
  static const bool strict = std::getenv("LB_FUZZ_STRICT") != nullptr;
  try {
    read();
  } catch (const InputError&) {
  } catch (const std::exception& e) {
    if (contract == Contract::input_errors_only || strict) escaped(e.what());
  }
}

}  // namespace lb::fuzz
