#include "runtime/core/files.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "runtime/core/errors.hpp"
#include "runtime/core/host.hpp"

namespace lb {
namespace {

void write_all(int fd, std::string_view bytes, const std::string& where) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("cannot write " + where + ": " + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

namespace {

// The host's name in a file name: no '.' or '/' (keeps the temporary name parseable).
std::string file_safe_host_name() {
  std::string name = host_name();
  for (char& c : name) {
    if (c == '.' || c == '/') c = '_';
  }
  return name;
}

// "NAME.tmp.HOST." + pid: what write_file_atomically's temporary names start with.
std::string temporary_prefix(const std::string& name, pid_t pid) {
  return name + ".tmp." + file_safe_host_name() + "." + std::to_string(pid) + ".";
}

// The pid in a temporary file name of this host, or 0.
pid_t temporary_owner(const std::string& name) {
  const std::string marker = ".tmp." + file_safe_host_name() + ".";
  const std::size_t at = name.rfind(marker);
  if (at == std::string::npos) return 0;
  const std::size_t start = at + marker.size(), dot = name.find('.', start);
  if (dot == std::string::npos || dot == start || name.size() - dot != 7) return 0;
  pid_t pid = 0;
  for (std::size_t i = start; i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9' || pid > 1'000'000'000) return 0;
    pid = pid * 10 + (name[i] - '0');
  }
  return pid;
}

}  // namespace

void remove_stale_temporary_files(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const pid_t pid = temporary_owner(entry.path().filename().string());
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove(entry.path(), ec);
  }
}

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  remove_stale_temporary_files(dir);
  std::string tmp = temporary_prefix(path.string(), ::getpid()) + "XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
  try {
    if (::fchmod(fd, 0644) != 0)
      throw std::runtime_error("cannot chmod " + tmp + ": " + std::strerror(errno));
    write_all(fd, bytes, tmp);
    if (::fsync(fd) != 0)
      throw std::runtime_error("cannot sync " + tmp + ": " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + path.string() + ": " +
                             std::strerror(saved));
  }
}

void check_output_directory(const std::filesystem::path& dir, std::string_view option) {
  const std::string name = std::string(option) + " " + dir.string();
  if (dir.empty()) throw InputError(std::string(option) + ": expected a directory, got \"\"");
  std::error_code ec;
  // The directory itself, or the nearest ancestor that exists: it is created there.
  std::filesystem::path existing = dir;
  while (!std::filesystem::exists(existing, ec)) {
    const std::filesystem::path parent = existing.parent_path();
    if (parent.empty()) {
      existing = ".";
      break;
    }
    if (parent == existing) break;  // the root
    existing = parent;
  }
  if (!std::filesystem::is_directory(existing, ec)) {
    throw InputError(
        name + ": " +
        (existing == dir ? "is not a directory" : existing.string() + " is not a directory"));
  }
  if (::access(existing.c_str(), W_OK | X_OK) != 0) {
    throw InputError(name + ": cannot write in " + existing.string() + " (" + std::strerror(errno) +
                     ")");
  }
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 initialisation failed");
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::update(std::span<const std::byte> bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), digest, &length);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string sha256_hex(std::span<const std::byte> bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex();
}

}  // namespace lb
