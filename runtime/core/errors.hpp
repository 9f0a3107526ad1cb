#pragma once
// Typed errors. Libraries throw; only main() prints and chooses the exit code:
// InputError (bad spec, command line or data file) exits 2, DivergedError 3,
// anything else 1.
#include <stdexcept>
#include <string>

namespace lb {

// The user gave us something wrong. what() is one line naming where and what.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A spec value is missing, mistyped or out of range; `path` is the JSON path.
class SpecError : public InputError {
 public:
  SpecError(const std::string& path, const std::string& message)
      : InputError("spec error: " + path + ": " + message), path_(path), message_(message) {}
  const std::string& path() const { return path_; }
  const std::string& message() const { return message_; }  // what is wrong at path()

 private:
  std::string path_;
  std::string message_;
};

// A data file is missing, truncated or corrupt; `file` names it.
class DataError : public InputError {
 public:
  DataError(const std::string& file, const std::string& message)
      : InputError("data error: " + file + ": " + message) {}
};

// A checkpoint cannot be read back (bad magic, version or checksum).
class CheckpointError : public InputError {
 public:
  CheckpointError(const std::string& file, const std::string& message)
      : InputError("checkpoint error: " + file + ": " + message) {}
};

// The loss became inf or NaN: a property of the configuration, not a fault of
// the machine, so rerunning it would diverge again. lb-train exits with
// kDivergedExitCode, which hparam-sweep reads instead of the message's words.
class DivergedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
inline constexpr int kDivergedExitCode = 3;

}  // namespace lb
