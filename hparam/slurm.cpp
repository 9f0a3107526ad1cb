#include "hparam/slurm.hpp"

#include <signal.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <thread>

#include "runtime/core/files.hpp"

namespace lb::hparam {
namespace {

namespace fs = std::filesystem;

constexpr double kCommandTimeoutS = 120;  // one sbatch/squeue/sacct/scancel call

std::string trim(std::string s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

// The first token of a state: "CANCELLED by 0" -> "CANCELLED".
std::string state_word(const std::string& state) {
  const std::string t = trim(state);
  return t.substr(0, t.find(' '));
}

// The last line of a command's error output, for messages.
std::string last_err_line(const std::string& err) {
  std::istringstream in(err);
  std::string line, last;
  while (std::getline(in, line))
    if (!trim(line).empty()) last = trim(line);
  return last;
}

class SlurmJob : public TrialJob {
 public:
  SlurmJob(SlurmLauncher& launcher, std::int64_t id, fs::path dir, double submitted)
      : launcher_(launcher), id_(id), dir_(std::move(dir)), submitted_(submitted) {}
  std::int64_t job_id() const override { return id_; }
  bool running() override { return running_; }
  std::optional<JobEnd> poll() override {
    const auto state = launcher_.queue_state(id_, submitted_);
    if (!state) return std::nullopt;  // squeue failed: ask again later
    if (state->empty()) return launcher_.ending(id_, dir_);
    running_ = *state != "PENDING" && *state != "CONFIGURING";
    return std::nullopt;
  }
  JobEnd stop() override {
    launcher_.cancel({id_});
    launcher_.wait_gone({id_});
    return {{0, SIGKILL}, ""};
  }

 private:
  SlurmLauncher& launcher_;
  std::int64_t id_;
  fs::path dir_;
  double submitted_;
  bool running_ = false;
};

}  // namespace

int slurm_time_limit_min(const SlurmSettings& slurm, double timeout_s) {
  if (slurm.time_limit_min > 0) return slurm.time_limit_min;
  return int(std::min(1e6, std::ceil(timeout_s / 60))) + 1;
}

std::string batch_script(const SlurmSettings& slurm, int time_limit_min,
                         const std::string& job_name, const Attempt& attempt) {
  std::ostringstream s;
  s << "#!/bin/sh\n# hparam-sweep trial " << attempt.trial_id << ": written for each attempt\n";
  auto option = [&](const std::string& text) { s << "#SBATCH " << text << "\n"; };
  option("--job-name=" + job_name);
  option("--output=" + (attempt.dir / "stdout.log").string());
  option("--error=" + (attempt.dir / "stderr.log").string());
  option("--ntasks=" + std::to_string(slurm.ranks));
  if (slurm.nodes > 0) option("--nodes=" + std::to_string(slurm.nodes));
  if (slurm.cpus_per_rank > 0) option("--cpus-per-task=" + std::to_string(slurm.cpus_per_rank));
  if (slurm.gpus_per_rank > 0) option("--gpus-per-task=" + std::to_string(slurm.gpus_per_rank));
  if (!slurm.partition.empty()) option("--partition=" + slurm.partition);
  option("--time=" + std::to_string(time_limit_min));
  for (const std::string& line : slurm.sbatch) option(line);
  std::vector<std::string> run{"srun"};
  run.insert(run.end(), slurm.srun.begin(), slurm.srun.end());
  run.insert(run.end(), attempt.argv.begin(), attempt.argv.end());
  // The exit code also goes to a file: Slurm forgets a job some minutes after
  // it ended unless accounting is on, and a restarted sweep may ask later.
  s << shell_command(run) << "\ncode=$?\necho $code > "
    << shell_quote((attempt.dir / "job.exit").string()) << "\nexit $code\n";
  return s.str();
}

JobEnd slurm_job_end(std::int64_t job_id, const std::string& state, const std::string& exit_code) {
  ExitStatus exit;
  const auto colon = exit_code.find(':');
  try {
    exit.code = std::stoi(exit_code.substr(0, colon));
    if (colon != std::string::npos) exit.signal = std::stoi(exit_code.substr(colon + 1));
  } catch (const std::exception&) {
    exit = {1, 0};
  }
  const std::string word = state_word(state);
  if (word == "COMPLETED" || word == "FAILED") return {exit, ""};
  return {exit, "slurm: job " + std::to_string(job_id) + " ended " + trim(state)};
}

std::map<std::int64_t, std::string> parse_squeue(const std::string& text) {
  std::map<std::int64_t, std::string> jobs;
  std::istringstream in(text);
  std::string id, state;
  while (in >> id >> state) {
    // An array task ("12_3") or a header is not one of ours.
    if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos)
      continue;
    jobs[std::stoll(id)] = state;
  }
  return jobs;
}

std::optional<std::pair<std::string, std::string>> parse_scontrol_job(const std::string& text) {
  std::istringstream in(text);
  std::string token, state, exit;
  while (in >> token) {
    if (token.starts_with("JobState=")) state = token.substr(9);
    if (token.starts_with("ExitCode=")) exit = token.substr(9);
  }
  if (state.empty() || exit.empty()) return std::nullopt;
  return std::make_pair(state, exit);
}

std::optional<std::pair<std::string, std::string>> parse_sacct(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto bar = line.find('|');
    if (bar == std::string::npos) continue;
    return std::make_pair(trim(line.substr(0, bar)), trim(line.substr(bar + 1)));
  }
  return std::nullopt;
}

SlurmLauncher::SlurmLauncher(const SlurmSettings& slurm, double timeout_s,
                             const fs::path& sweep_dir)
    : slurm_(slurm),
      time_limit_min_(slurm_time_limit_min(slurm, timeout_s)),
      scratch_(sweep_dir / "slurm") {
  fs::create_directories(scratch_);
  char hash[16];
  std::snprintf(hash, sizeof hash, "%08zx",
                std::hash<std::string>{}(sweep_dir.string()) & 0xffffffffu);
  name_prefix_ = std::string("hp-") + hash + "-";
  const Output version = call({"sbatch", "--version"});
  if (!version.ok())
    throw std::runtime_error("--launcher slurm: cannot run sbatch (" + version.status.describe() +
                             ": " + last_err_line(version.err) + ")");
}

std::string SlurmLauncher::job_name(std::int64_t trial_id) const {
  return name_prefix_ + std::to_string(trial_id);
}

SlurmLauncher::Output SlurmLauncher::call(const std::vector<std::string>& argv) {
  Output o;
  o.status = run_to_completion(argv, scratch_ / "out", scratch_ / "err", kCommandTimeoutS);
  o.out = fs::exists(scratch_ / "out") ? read_file(scratch_ / "out") : "";
  o.err = fs::exists(scratch_ / "err") ? read_file(scratch_ / "err") : "";
  return o;
}

std::unique_ptr<TrialJob> SlurmLauncher::start(const Attempt& attempt) {
  const fs::path script = attempt.dir / "job.sh";
  write_file_atomically(script,
                        batch_script(slurm_, time_limit_min_, job_name(attempt.trial_id), attempt));
  const double submitted = unix_now();
  const Output o = call({"sbatch", "--parsable", script.string()});
  std::int64_t id = 0;
  try {
    id = std::stoll(trim(o.out));  // "ID" or "ID;cluster"
  } catch (const std::exception&) {
  }
  if (!o.ok() || id <= 0) {
    throw std::runtime_error("sbatch " + script.string() + ": " + o.status.describe() + ": " +
                             last_err_line(o.err + "\n" + o.out));
  }
  return std::make_unique<SlurmJob>(*this, id, attempt.dir, submitted);
}

std::string SlurmLauncher::describe(const Attempt& attempt) const {
  std::vector<std::string> run{"srun"};
  run.insert(run.end(), slurm_.srun.begin(), slurm_.srun.end());
  run.insert(run.end(), attempt.argv.begin(), attempt.argv.end());
  return "sbatch " + (attempt.dir / "job.sh").string() + ": " + shell_command(run);
}

std::unique_ptr<TrialJob> SlurmLauncher::reattach(std::int64_t job_id, const fs::path& dir) {
  return std::make_unique<SlurmJob>(*this, job_id, dir, unix_now());
}

bool SlurmLauncher::refresh_queue() {
  const Output o = call({"squeue", "--me", "-h", "-o", "%i %T"});
  queue_ok_ = o.ok();
  if (queue_ok_) queue_ = parse_squeue(o.out);
  queue_time_ = unix_now();
  return queue_ok_;
}

std::optional<std::string> SlurmLauncher::queue_state(std::int64_t job_id, double not_before) {
  if (queue_time_ < not_before || unix_now() - queue_time_ >= slurm_.poll_s) refresh_queue();
  if (!queue_ok_) return std::nullopt;
  const auto it = queue_.find(job_id);
  return it == queue_.end() ? std::string() : it->second;
}

JobEnd SlurmLauncher::ending(std::int64_t job_id, const fs::path& dir) {
  const std::string id = std::to_string(job_id);
  const Output sacct = call({"sacct", "-n", "-P", "-X", "-o", "State,ExitCode", "-j", id});
  if (sacct.ok()) {
    if (const auto row = parse_sacct(sacct.out))
      return slurm_job_end(job_id, row->first, row->second);
  }
  const Output scontrol = call({"scontrol", "show", "job", "-o", id});
  if (scontrol.ok()) {
    if (const auto row = parse_scontrol_job(scontrol.out))
      return slurm_job_end(job_id, row->first, row->second);
  }
  if (fs::exists(dir / "job.exit")) {
    try {
      return {{std::stoi(read_file(dir / "job.exit")), 0}, ""};
    } catch (const std::exception&) {
    }
  }
  return {
      {1, 0},
      "slurm: job " + id + " left the queue, and neither sacct nor scontrol knows how it ended"};
}

void SlurmLauncher::cancel(const std::vector<std::int64_t>& job_ids) {
  if (job_ids.empty()) return;
  std::vector<std::string> argv{"scancel"};
  for (std::int64_t id : job_ids) argv.push_back(std::to_string(id));
  call(argv);
}

void SlurmLauncher::wait_gone(const std::vector<std::int64_t>& job_ids) {
  const double deadline = unix_now() + kCommandTimeoutS;
  while (unix_now() < deadline) {
    if (refresh_queue()) {
      bool any = false;
      for (std::int64_t id : job_ids) any |= queue_.count(id) > 0;
      if (!any) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

void SlurmLauncher::stop_all(std::vector<TrialJob*> jobs) {
  std::vector<std::int64_t> ids;
  for (TrialJob* job : jobs) ids.push_back(job->job_id());
  cancel(ids);
  wait_gone(ids);
}

std::vector<std::int64_t> SlurmLauncher::cancel_untracked(const std::vector<std::int64_t>& known) {
  const Output o = call({"squeue", "--me", "-h", "-o", "%i %j"});
  if (!o.ok()) return {};
  std::vector<std::int64_t> stray;
  for (const auto& [id, name] : parse_squeue(o.out)) {
    if (name.starts_with(name_prefix_) && std::find(known.begin(), known.end(), id) == known.end())
      stray.push_back(id);
  }
  cancel(stray);
  wait_gone(stray);
  return stray;
}

}  // namespace lb::hparam
