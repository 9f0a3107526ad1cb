#pragma once
// Reading the simulator's JSON inputs (device profiles, calibration files,
// profile.json) so that any problem is one line naming the file:
// "KIND error: FILE: cannot be read" or "... invalid JSON: <where, what>".
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace lb::sim {

// Throws InputError("<kind> error: FILE: ...") for an unreadable file or
// invalid JSON (including numbers out of range, such as 1e400).
nlohmann::json read_json_document(const std::filesystem::path& file, const std::string& kind);

}  // namespace lb::sim
