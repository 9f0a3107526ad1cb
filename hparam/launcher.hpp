#pragma once
// Where a trial attempt runs: a local subprocess (the default) or a Slurm
// batch job (slurm.hpp). The runner starts, polls and stops attempts
// through these two interfaces only, so the scheduling is the same for both.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hparam/process.hpp"

namespace lb::hparam {

// How an attempt ended, as its launcher saw it.
struct JobEnd {
  ExitStatus exit;
  std::string scheduler_verdict;  // why the scheduler ended it, e.g. "slurm: job 12 TIMEOUT"
};

class TrialJob {
 public:
  virtual ~TrialJob() = default;
  virtual std::int64_t pid() const { return 0; }     // a local process
  virtual std::int64_t job_id() const { return 0; }  // a Slurm job
  // False while the attempt waits in a queue: the trial's timeout and its
  // progress count from when it runs.
  virtual bool running() { return true; }
  virtual std::optional<JobEnd> poll() = 0;  // the ending, once it has ended
  virtual JobEnd stop() = 0;                 // ends it now and waits for that
};

// One attempt: trial `id`'s command, run in its directory with stdout.log
// and stderr.log there.
struct Attempt {
  std::int64_t trial_id = 0;
  std::vector<std::string> argv;  // the trainer's command line
  std::filesystem::path dir;
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  virtual std::unique_ptr<TrialJob> start(const Attempt& attempt) = 0;
  // The command as recorded in the store (and shown by `status`).
  virtual std::string describe(const Attempt& attempt) const = 0;
  // Several jobs end at once (SIGINT/SIGTERM): faster than one stop() each.
  virtual void stop_all(std::vector<TrialJob*> jobs);
};

// Each attempt is `prefix... argv...` as a child process of the sweep.
class LocalLauncher : public Launcher {
 public:
  explicit LocalLauncher(std::vector<std::string> prefix) : prefix_(std::move(prefix)) {}
  std::unique_ptr<TrialJob> start(const Attempt& attempt) override;
  std::string describe(const Attempt& attempt) const override;

 private:
  std::vector<std::string> command(const Attempt& attempt) const;
  std::vector<std::string> prefix_;
};

}  // namespace lb::hparam
