#include "runtime/train/resume_check.hpp"

#include <array>
#include <cmath>
#include <limits>

#include "runtime/core/errors.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb {
namespace {

using json = nlohmann::json;

// Keys that change how fast or where a run trains, or what it logs, but not
// what it trains. A prefix ending in '.' covers a whole section.
constexpr std::array kMayChange = {
    "name",
    "device",
    "data.dir",
    "data.prefetch",
    "data.workers",
    "train.epochs",  // upwards only; checked separately
    "train.threads",
    "train.conv_algorithm",
    "train.log_every_steps",
    "train.eval_every_epochs",
    "train.checkpoint_every_epochs",
    "train.noise_scale_every",  // measuring leaves training bit-identical
    "train.noise_scale_ema",
    "comm.algorithm",
    "comm.group_size",
    "comm.fusion_bytes",
    "comm.overlap",
    "comm.timeout_s",
    "comm.auto_small_bytes",
    "comm.auto_calibration",
    "cluster.",
};

// The value at dotted `key` in `doc`, or nullptr.
const json* find_key(const json& doc, const std::string& key) {
  const json* node = &doc;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? dot : dot - start);
    if (!node->is_object()) return nullptr;
    const auto it = node->find(part);
    if (it == node->end()) return nullptr;
    node = &*it;
    if (dot == std::string::npos) return node;
    start = dot + 1;
  }
}

// Dotted keys of every leaf of `doc` (arrays are leaves), in document order.
void leaf_keys(const json& doc, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& [key, value] : doc.items()) {
    const std::string path = join_path(prefix, key);
    if (value.is_object()) {
      leaf_keys(value, path, out);
    } else {
      out.push_back(path);
    }
  }
}

// The first key whose value in `spec` differs from the checkpoint's and may
// not change. A key the checkpoint lacks (written before the key existed)
// compares with its default, which is what that run trained with.
void check_same_experiment(const json& recorded, const Spec& spec, std::int64_t step) {
  const json current = to_json(spec);
  const json defaults = to_json(Spec{});
  std::vector<std::string> keys;
  leaf_keys(current, "", keys);
  for (const std::string& key : keys) {
    const json* before = find_key(recorded, key);
    if (before == nullptr) before = find_key(defaults, key);
    const json& now = *find_key(current, key);
    if (key == "train.epochs" && before != nullptr && before->is_number() &&
        now.get<double>() < before->get<double>()) {
      throw SpecError(
          key, "expected at least the checkpoint's " + format_number(before->get<double>()) +
                   " epochs on --resume (it is at step " + std::to_string(step) +
                   "; --max-epochs stops a run early), got " + format_number(now.get<double>()));
    }
    if (may_change_on_resume(key) || (before != nullptr && *before == now)) continue;
    throw SpecError(key, "the checkpoint was trained with " +
                             (before == nullptr ? std::string("no such key") : brief(*before)) +
                             ", got " + brief(now) +
                             " (--resume must train the same experiment; use a new --out)");
  }
}

void read_scaler(ObjectReader r, ResumePoint& p) {
  r.read("scale", p.scaler.scale, NumberRange::open_closed(0, kMaxLossScale));
  r.read("clean_steps", p.scaler.clean_steps, IntRange::between(0, p.step));
  r.read("skipped", p.scaler.skipped, IntRange::between(0, p.step));
}

void read_totals(ObjectReader r, ResumePoint& p, int log_every_steps) {
  const double forever = std::numeric_limits<double>::max();
  r.read("train_time_s", p.train_time_s, NumberRange::closed(0, forever));
  r.read("data_wait_s", p.data_wait_s, NumberRange::closed(0, forever));
  r.read("images_trained", p.images_trained, IntRange::at_least(0));
  r.read("data_prepare_s", p.data_prepare_s, NumberRange::closed(0, forever));
  r.read("images_prepared", p.images_prepared, IntRange::at_least(0));
  r.read("recent_losses", p.recent_losses, NumberRange::closed(-forever, forever));
  const std::size_t keep = std::size_t(log_every_steps);
  if (p.recent_losses.size() > keep) {
    p.recent_losses.erase(p.recent_losses.begin(), p.recent_losses.end() - std::ptrdiff_t(keep));
  }
}

void read_noise_scale(ObjectReader r, ResumePoint& p) {
  const double forever = std::numeric_limits<double>::max();
  ObjectReader averages = r.child("estimator");
  averages.read("g2_sum", p.noise_scale.g2_sum, NumberRange::closed(-forever, forever));
  averages.read("trace_sum", p.noise_scale.trace_sum, NumberRange::closed(-forever, forever));
  averages.read("weight", p.noise_scale.weight, NumberRange::closed(0, 1));
  averages.read("count", p.noise_scale.count, IntRange::between(0, p.step));
  if (p.noise_scale.count > 0 && p.noise_scale.weight <= 0) {
    throw SpecError(averages.path_of("weight"), "expected > 0 after a measurement, got 0");
  }
  r.read("step", p.noise_scale_step, IntRange::between(-1, p.step));
}

// train.init_from's record: null, or {path, file, step, weights_sha256}.
void read_init_from(const json& record, ResumePoint& p) {
  if (record.is_null()) return;
  ObjectReader r(record, "meta.init_from");
  std::string path, file, sha;
  std::int64_t step = 0;
  r.read("path", path);
  r.read("file", file);
  r.read("step", step, IntRange::at_least(0));
  r.read("weights_sha256", sha);
  r.finish();
  p.init_from = {{"path", path}, {"file", file}, {"step", step}, {"weights_sha256", sha}};
}

}  // namespace

bool may_change_on_resume(std::string_view key) {
  for (std::string_view allowed : kMayChange) {
    if (allowed.ends_with('.') ? key.starts_with(allowed) : key == allowed) return true;
  }
  return false;
}

ResumePoint check_resume(const LoadedCheckpoint& loaded, const Spec& spec, std::int64_t total_steps,
                         const std::string& file) {
  ResumePoint p;
  p.step = loaded.step;
  // Checkpoints written before the spec was recorded cannot be compared.
  if (const auto recorded = loaded.meta.find("spec"); recorded != loaded.meta.end()) {
    if (!recorded->is_object()) {
      throw CheckpointError(file, "meta.spec: expected an object, got " + brief(*recorded));
    }
    check_same_experiment(*recorded, spec, p.step);
  }
  if (p.step > total_steps) {
    throw CheckpointError(file, "step " + std::to_string(p.step) + " is past the run's " +
                                    std::to_string(total_steps) + " steps");
  }
  try {
    ObjectReader meta(loaded.meta, "meta");
    const json* scaler = meta.take("loss_scaler");
    if (scaler == nullptr) throw SpecError("meta.loss_scaler", "missing");
    read_scaler(ObjectReader(*scaler, "meta.loss_scaler"), p);
    if (meta.take("totals") != nullptr) {
      read_totals(meta.child("totals"), p, spec.train.log_every_steps);
    }
    if (meta.take("noise_scale") != nullptr) read_noise_scale(meta.child("noise_scale"), p);
    if (const json* target = meta.take("target_step"); target != nullptr && !target->is_null()) {
      std::int64_t at = 0;
      ObjectReader(json{{"target_step", *target}}, "meta")
          .read("target_step", at, IntRange::between(1, p.step));
      p.target_step = at;
    }
    if (const json* init_from = meta.take("init_from"); init_from != nullptr)
      read_init_from(*init_from, p);
  } catch (const SpecError& e) {
    throw CheckpointError(file, e.path() + ": " + e.message());
  }
  return p;
}

nlohmann::json resume_meta(const Spec& spec, int ranks, const LossScaler::State& scaler,
                           const ResumePoint& totals) {
  return {
      {"model", spec.model.name},
      {"ranks", ranks},
      {"spec", to_json(spec)},
      {"loss_scaler",
       {{"scale", scaler.scale}, {"clean_steps", scaler.clean_steps}, {"skipped", scaler.skipped}}},
      {"totals",
       {{"train_time_s", totals.train_time_s},
        {"data_wait_s", totals.data_wait_s},
        {"images_trained", totals.images_trained},
        {"data_prepare_s", totals.data_prepare_s},
        {"images_prepared", totals.images_prepared},
        {"recent_losses", totals.recent_losses}}},
      {"noise_scale",
       {{"estimator",
         {{"g2_sum", totals.noise_scale.g2_sum},
          {"trace_sum", totals.noise_scale.trace_sum},
          {"weight", totals.noise_scale.weight},
          {"count", totals.noise_scale.count}}},
        {"step", totals.noise_scale_step}}},
      {"target_step", totals.target_step ? json(*totals.target_step) : json(nullptr)},
      {"init_from", totals.init_from}};
}

}  // namespace lb
