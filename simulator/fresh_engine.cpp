#include "simulator/fresh_engine.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "runtime/core/errors.hpp"

namespace lb::sim {
namespace {

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += std::size_t(n);
  }
}

[[noreturn]] void child(int fd, const std::function<nlohmann::json()>& body) {
  nlohmann::json reply;
  try {
    reply = {{"result", body()}};
  } catch (const InputError& e) {
    reply = {{"input_error", e.what()}};
  } catch (const std::exception& e) {
    reply = {{"error", e.what()}};
  }
  write_all(fd, reply.dump());
  ::close(fd);
  std::fflush(nullptr);
  ::_exit(0);  // no atexit handlers: they belong to the parent
}

}  // namespace

nlohmann::json in_fresh_engine(const std::function<nlohmann::json()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("simulator: pipe() failed");
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("simulator: fork() failed");
  if (pid == 0) {
    ::close(fds[0]);
    child(fds[1], body);
  }
  ::close(fds[1]);
  std::string text;
  char buffer[1 << 16];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
    text.append(buffer, std::size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const auto reply = nlohmann::json::parse(text, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) {
    throw std::runtime_error("simulator: the simulation process died (status " +
                             std::to_string(status) + ")");
  }
  if (reply.contains("input_error")) throw InputError(reply["input_error"].get<std::string>());
  if (reply.contains("error")) throw std::runtime_error(reply["error"].get<std::string>());
  return reply["result"];
}

}  // namespace lb::sim
