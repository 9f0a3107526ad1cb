#include "simulator/iteration.hpp"

#include <limits>
#include <simgrid/s4u.hpp>
#include <vector>

#include "simulator/network_sim.hpp"

namespace lb::sim {
namespace s4u = simgrid::s4u;
namespace {

// State shared by the two actors of the step.
struct Step {
  const StepPlan& plan;
  StepResult& result;
  s4u::MutexPtr mutex = s4u::Mutex::create();
  s4u::ConditionVariablePtr changed = s4u::ConditionVariable::create();
  std::size_t ready = 0, done = 0;
  double start = 0;
  std::vector<double> ready_at;  // when each bucket became ready on this rank
  double last_ready = 0;         // the last bucket's ready time (the step's start before any)
  double lead = 0;               // the slowest rank's lead there, seconds

  void publish_ready(std::size_t count);
};

double now() { return s4u::Engine::get_clock(); }

void Step::publish_ready(std::size_t count) {
  std::unique_lock lock(*mutex);
  while (ready_at.size() < count) ready_at.push_back(now());
  ready = std::max(ready, count);
  changed->notify_all();
}

// Runs `amount` of host work (the host's speed is 1 flop/s) at most at
// `rate`, slower while an all-reduce takes its share (`weight` against its
// CPU work's 1); returns the wall time it took.
double work(double amount, double rate = 1, double weight = 1) {
  const double t0 = now();
  if (amount > 0) {
    s4u::ExecPtr exec = s4u::this_actor::exec_init(amount);
    if (rate < 1) exec->set_bound(rate);
    exec->set_priority(weight)->wait();
  }
  return now() - t0;
}

void compute_actor(Step* s) {
  const StepPlan& p = s->plan;
  StepResult& r = s->result;
  s->start = s->last_ready = now();
  if (p.host_overhead_s > 0) {
    r.events.push_back({"step overhead", "overhead", 0, now(), p.host_overhead_s, 0, ""});
    s4u::this_actor::sleep_for(p.host_overhead_s);
  }
  r.host_overhead_s = p.host_overhead_s;
  const double forward_start = now();
  for (std::size_t i = 0; i < p.layers.size(); ++i) {
    const double t0 = now();
    r.events.push_back({p.layers[i], "forward", 0, t0,
                        work(p.forward_s[i], p.compute_rate, p.compute_weight), 0, ""});
  }
  r.forward_s = now() - forward_start;
  std::size_t ready = 0;
  for (int i = int(p.layers.size()) - 1; i >= 0; --i) {
    const double t0 = now();
    r.events.push_back({p.layers[std::size_t(i)], "backward", 0, t0,
                        work(p.backward_s[std::size_t(i)], p.compute_rate, p.compute_weight), 0,
                        ""});
    while (ready < p.buckets.size() && p.bucket_ready_after[ready] >= i) ++ready;
    if (p.overlap) s->publish_ready(ready);
  }
  const double backward_end = now();
  r.backward_s = backward_end - forward_start - r.forward_s;
  s->publish_ready(p.buckets.size());
  {
    std::unique_lock lock(*s->mutex);
    while (s->done < p.buckets.size()) s->changed->wait(lock);
  }
  r.exposed_comm_s = now() - backward_end;
  r.events.push_back({"optimizer", "optimizer", 0, now(), p.optimizer_s, 0, ""});
  r.optimizer_s = work(p.optimizer_s, p.compute_rate, p.compute_weight);
  r.iteration_s = now() - s->start;
}

// Holds `share` of the host while the all-reduce runs: the compute actor's
// executions get the rest (SimGrid shares a host max-min fairly, and a
// bounded execution takes no more than its bound).
double allreduce(const BucketComm& b) {
  const double t0 = now();
  s4u::ExecPtr load, cpu;
  if (b.interference > 0) {
    load = s4u::this_actor::exec_init(std::numeric_limits<double>::max() / 4);
    load->set_bound(b.interference)->start();
  }
  if (b.cpu_work > 0) {
    cpu = s4u::this_actor::exec_init(b.cpu_work);
    if (b.cpu_rate < 1) cpu->set_bound(b.cpu_rate);
    cpu->start();
  }
  s4u::this_actor::sleep_for(b.seconds);
  if (load) load->cancel();
  if (cpu) cpu->wait();
  return now() - t0;
}

void comm_actor(Step* s) {
  const StepPlan& p = s->plan;
  for (std::size_t b = 0; b < p.buckets.size(); ++b) {
    {
      std::unique_lock lock(*s->mutex);
      while (s->ready <= b) s->changed->wait(lock);
    }
    // The collective needs every rank's bucket: the slowest rank's comes
    // later, by the lead it kept from the last all-reduce and the lead it
    // has grown since.
    s->lead = s->lead * (b > 0 ? p.lead_kept_at_allreduce : 1) +
              (s->ready_at[b] - s->last_ready) * p.straggle;
    s->last_ready = s->ready_at[b];
    const double slowest_ready = s->ready_at[b] + s->lead;
    if (slowest_ready > now()) s4u::this_actor::sleep_until(slowest_ready);
    const double start = now();
    const double t = allreduce(p.buckets[b]);
    s->result.events.push_back({"allreduce bucket " + std::to_string(b), "allreduce", 1, start, t,
                                p.buckets[b].bytes, p.buckets[b].algorithm});
    s->result.comm_s += t;
    std::unique_lock lock(*s->mutex);
    ++s->done;
    s->changed->notify_all();
  }
}

s4u::Host* the_host() {
  static s4u::Host* host = [] {
    auto* zone = s4u::create_full_zone("device");
    s4u::Host* h = zone->create_host("gpu", 1.0)->seal();
    zone->seal();
    return h;
  }();
  return host;
}

}  // namespace

double StepPlan::compute_work_s() const {
  double work = 0;
  for (std::size_t i = 0; i < forward_s.size(); ++i) work += forward_s[i] + backward_s[i];
  return work;
}

StepResult simulate_step(const StepPlan& plan) {
  s4u::Engine& engine = start_engine();
  s4u::Host* host = the_host();
  StepResult result;
  Step step{plan, result};
  const double t0 = now();
  s4u::Actor::create("compute", host, compute_actor, &step);
  s4u::Actor::create("comm", host, comm_actor, &step);
  engine.run();
  for (auto& e : result.events) e.start_s -= t0;
  // The input pipeline prefetches while the step runs; the step waits only
  // for what the pipeline cannot hide.
  result.data_wait_s = std::max(0.0, plan.data_s - result.iteration_s);
  if (result.data_wait_s > 0) {
    result.events.push_back(
        {"data wait", "data", 0, result.iteration_s, result.data_wait_s, 0, ""});
  }
  result.iteration_s += result.data_wait_s;
  return result;
}

}  // namespace lb::sim
