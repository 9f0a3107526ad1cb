#include "runtime/trace/trace_writer.hpp"

#include <chrono>
#include <stdexcept>

#include "runtime/core/host.hpp"

namespace lb {
namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TraceWriter::TraceWriter(const std::filesystem::path& file, int rank)
    : out_(file, std::ios::binary | std::ios::trunc), rank_(rank), start_ns_(steady_ns()) {
  if (!out_) throw std::runtime_error("cannot open " + file.string() + " for writing");
  out_ << "[]";
  out_.flush();
  process_metadata();
  metadata(0, "compute");
  metadata(1, "communication");
  metadata(2, "data");
  flush();
}

TraceWriter::~TraceWriter() {
  try {
    flush();
  } catch (...) {  // never throw from a destructor; the file stays valid
  }
}

double TraceWriter::now_us() const { return double(steady_ns() - start_ns_) / 1e3; }

double TraceWriter::us_at(std::chrono::steady_clock::time_point t) const {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return double(ns - start_ns_) / 1e3;
}

// The process's name, with where its times start: the steady clock
// (CLOCK_MONOTONIC on Linux) is one clock for every process of a host, so
// ranks on one host line up exactly (simulator/rank_skew.py).
void TraceWriter::process_metadata() {
  const nlohmann::json e{{"name", "process_name"},
                         {"ph", "M"},
                         {"pid", rank_},
                         {"args",
                          {{"name", "rank " + std::to_string(rank_)},
                           {"host", host_name()},
                           {"clock_origin_ns", start_ns_}}}};
  append(e);
}

void TraceWriter::metadata(int track, std::string_view name) {
  const nlohmann::json e{{"name", "thread_name"},
                         {"ph", "M"},
                         {"pid", rank_},
                         {"tid", track},
                         {"args", {{"name", name}}}};
  append(e);
}

void TraceWriter::complete(std::string_view name, std::string_view category, double start_us,
                           double duration_us, int track, const nlohmann::json& args) {
  nlohmann::json e{{"name", name}, {"cat", category}, {"ph", "X"},         {"pid", rank_},
                   {"tid", track}, {"ts", start_us},  {"dur", duration_us}};
  if (!args.is_null()) e["args"] = args;
  append(e);
}

// Queues one event for the next flush (the communication thread writes too).
void TraceWriter::append(const nlohmann::json& event) {
  const std::string text = event.dump();
  std::lock_guard lock(mutex_);
  pending_ += (first_ ? "\n" : ",\n") + text;
  first_ = false;
}

void TraceWriter::flush() {
  std::lock_guard lock(mutex_);
  if (pending_.empty()) return;
  out_.seekp(-1, std::ios::end);  // over the closing bracket
  out_ << pending_ << "\n]";
  out_.flush();
  pending_.clear();
}

}  // namespace lb
