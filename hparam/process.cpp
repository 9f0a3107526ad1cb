#include "hparam/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace lb::hparam {
namespace {

ExitStatus decode(int status) {
  if (WIFSIGNALED(status)) return {0, WTERMSIG(status)};
  return {WEXITSTATUS(status), 0};
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(char* const* argv, const char* out, const char* err, pid_t parent) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);     // a kill -9 of the sweep must not leave trials running
  if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
  const int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (o >= 0) dup2(o, STDOUT_FILENO);
  if (e >= 0) dup2(e, STDERR_FILENO);
  const int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  execvp(argv[0], argv);
  const char* msg = "hparam-sweep: cannot run ";
  (void)!write(STDERR_FILENO, msg, strlen(msg));
  (void)!write(STDERR_FILENO, argv[0], strlen(argv[0]));
  (void)!write(STDERR_FILENO, ": ", 2);
  const char* why = strerror(errno);
  (void)!write(STDERR_FILENO, why, strlen(why));
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(127);
}

}  // namespace

std::string ExitStatus::describe() const {
  if (signal != 0) return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit " + std::to_string(code);
}

Process::Process(const std::vector<std::string>& argv, const std::filesystem::path& stdout_file,
                 const std::filesystem::path& stderr_file) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string out = stdout_file.string(), err = stderr_file.string();
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork failed: ") + strerror(errno));
  if (pid_ == 0) exec_child(args.data(), out.c_str(), err.c_str(), parent);
  setpgid(pid_, pid_);  // also here, so the group exists before we might signal it
}

Process::~Process() {
  if (pid_ > 0) kill_and_wait();
}

std::optional<ExitStatus> Process::poll() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r != pid_) return std::nullopt;
  kill(-pid_, SIGKILL);  // anything the trial left behind in its group
  pid_ = -1;
  return decode(status);
}

ExitStatus Process::kill_and_wait() {
  kill(-pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return decode(status);
}

ExitStatus run_to_completion(const std::vector<std::string>& argv,
                             const std::filesystem::path& stdout_file,
                             const std::filesystem::path& stderr_file, double timeout_s) {
  Process p(argv, stdout_file, stderr_file);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    if (auto status = p.poll()) return *status;
    if (std::chrono::steady_clock::now() > deadline) return p.kill_and_wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string shell_quote(const std::string& arg) {
  if (!arg.empty() &&
      arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                            "_-./=:,+@%") == std::string::npos) {
    return arg;
  }
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'')
      out.append("'\\''");
    else
      out.push_back(c);
  }
  return out + "'";
}

std::string shell_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out.push_back(' ');
    out += shell_quote(a);
  }
  return out;
}

std::string last_line(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  if (last.size() > 200) last = last.substr(0, 200) + "...";
  return last;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace lb::hparam
