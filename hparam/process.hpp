#pragma once
// A child process in its own process group (so a timeout also ends what it
// started, e.g. mpirun's ranks), killed by the kernel if the sweep dies, with
// stdout and stderr sent to files.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lb::hparam {

struct ExitStatus {
  int code = 0;                  // exit code when the process exited
  int signal = 0;                // the signal that ended it, else 0
  std::string describe() const;  // "exit 1", "signal 9 (Killed)"
};

class Process {
 public:
  // Throws std::runtime_error when fork fails. An exec failure shows as exit 127
  // with the reason in `stderr_file`.
  Process(const std::vector<std::string>& argv, const std::filesystem::path& stdout_file,
          const std::filesystem::path& stderr_file);
  Process(Process&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();  // kills and reaps a process still running

  pid_t pid() const { return pid_; }
  std::optional<ExitStatus> poll();  // the status once it has ended, without blocking
  ExitStatus kill_and_wait();        // SIGKILL to the whole group

 private:
  pid_t pid_ = -1;
};

// Runs argv to completion (or kills it after timeout_s); for short helpers like the simulator.
ExitStatus run_to_completion(const std::vector<std::string>& argv,
                             const std::filesystem::path& stdout_file,
                             const std::filesystem::path& stderr_file, double timeout_s);

// Quotes an argument for display as a shell command.
std::string shell_quote(const std::string& arg);
std::string shell_command(const std::vector<std::string>& argv);

// The last non-empty line of a text file ("" if none), cut to 200 characters.
std::string last_line(const std::filesystem::path& file);

double unix_now();

}  // namespace lb::hparam
