#pragma once
// The runtime's DIR/profile.json read for the compute model and for
// calibration. Its schema, writer and validating reader are the runtime's
// own (runtime/core/profile_format.hpp): there is no second copy here.
#include <filesystem>
#include <string>

#include "runtime/core/profile_format.hpp"

namespace lb::sim {

struct RuntimeProfile : Profile {
  std::string file;  // where it came from, for messages
};

// Throws InputError("profile error: FILE: ...") for a missing, malformed or
// wrong-format file. Accepts DIR (reads DIR/profile.json) or the file itself.
RuntimeProfile load_profile(const std::filesystem::path& path);

}  // namespace lb::sim
