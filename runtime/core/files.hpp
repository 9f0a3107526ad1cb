#pragma once
// File helpers: atomic writes (crashes never leave a half-written file) and
// SHA-256 digests (OpenSSL).
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace lb {

// Writes `bytes` to `path` through a temporary file in the same directory,
// flushed to disk and renamed over `path`, so readers see the old or the new
// file, never a torn one. The temporary file is created new (mkstemp: never
// through a link planted at its name) as PATH.tmp.HOST.PID.XXXXXX, and those
// of processes that died before their rename are removed first.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

// Removes write_file_atomically's temporary files in `dir` whose process, on
// this host, is gone.
void remove_stale_temporary_files(const std::filesystem::path& dir);

// Checks a directory a program is about to write into (named `option` in
// messages, e.g. "--out"): throws InputError when it is empty, is not a
// directory, lies below something that is not one, or cannot be written.
// Creates nothing.
void check_output_directory(const std::filesystem::path& dir, std::string_view option);

// Reads a whole file; throws InputError naming it when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Hex SHA-256 of raw bytes.
std::string sha256_hex(std::span<const std::byte> bytes);

class Sha256 {  // incremental digest over several buffers
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const std::byte> bytes);
  std::string hex();  // finishes the digest

 private:
  void* ctx_;
};

template <class T>
std::span<const std::byte> bytes_of(std::span<const T> values) {
  return std::as_bytes(values);
}

}  // namespace lb
