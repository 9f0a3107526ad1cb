#include "hparam/launcher.hpp"

namespace lb::hparam {
namespace {

class LocalJob : public TrialJob {
 public:
  explicit LocalJob(std::unique_ptr<Process> process) : process_(std::move(process)) {}
  std::int64_t pid() const override { return process_->pid(); }
  std::optional<JobEnd> poll() override {
    const auto status = process_->poll();
    if (!status) return std::nullopt;
    return JobEnd{*status, ""};
  }
  JobEnd stop() override { return {process_->kill_and_wait(), ""}; }

 private:
  std::unique_ptr<Process> process_;
};

}  // namespace

void Launcher::stop_all(std::vector<TrialJob*> jobs) {
  for (TrialJob* job : jobs) job->stop();
}

std::vector<std::string> LocalLauncher::command(const Attempt& attempt) const {
  std::vector<std::string> argv = prefix_;
  argv.insert(argv.end(), attempt.argv.begin(), attempt.argv.end());
  return argv;
}

std::unique_ptr<TrialJob> LocalLauncher::start(const Attempt& attempt) {
  return std::make_unique<LocalJob>(std::make_unique<Process>(
      command(attempt), attempt.dir / "stdout.log", attempt.dir / "stderr.log"));
}

std::string LocalLauncher::describe(const Attempt& attempt) const {
  return shell_command(command(attempt));
}

}  // namespace lb::hparam
