#include "runtime/core/spec.hpp"

#include <cmath>
#include <fstream>
#include <string_view>

#include "runtime/core/comm_algorithm.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb {
namespace {

using json = nlohmann::json;

// --- parsing: one function per JSON object, keys in the struct's order -------

void read_model(ObjectReader r, ModelSpec& m) {
  r.read_choice("name", m.name, {"lenet_bn", "resnet20", "alexnet_bn", "resnet50"});
  r.read("dropout", m.dropout, NumberRange::closed_open(0, 1));
  r.finish();
}

void read_augment(ObjectReader r, AugmentSpec& a) {
  r.read("crop_padding", a.crop_padding, IntRange::at_least(0));
  r.read("horizontal_flip", a.horizontal_flip);
  r.finish();
}

void read_synthetic(ObjectReader r, SyntheticSpec& s) {
  const IntRange positive = IntRange::at_least(1);
  r.read("train_images", s.train_images, positive);
  r.read("test_images", s.test_images, positive);
  r.read("channels", s.channels, positive);
  r.read("height", s.height, positive);
  r.read("width", s.width, positive);
  r.read("classes", s.classes, positive);
  r.finish();
}

void read_data(ObjectReader r, DataSpec& d) {
  r.read_choice("dataset", d.dataset, {"fashion_mnist", "synthetic"});
  r.read("dir", d.dir);
  r.read("train_subset", d.train_subset, IntRange::at_least(0));
  r.read("prefetch", d.prefetch, IntRange::at_least(1));
  r.read("workers", d.workers, IntRange::at_least(1));
  read_augment(r.child("augment"), d.augment);
  read_synthetic(r.child("synthetic"), d.synthetic);
  r.finish();
}

void read_loss_scale(ObjectReader r, LossScaleSpec& s) {
  r.read_choice("mode", s.mode, {"dynamic", "static", "none"});
  r.read("init", s.init, NumberRange::greater(0));
  r.read("growth_interval", s.growth_interval, IntRange::at_least(1));
  r.read("growth_factor", s.growth_factor, NumberRange::greater(1));
  r.read("backoff_factor", s.backoff_factor, NumberRange::open(0, 1));
  r.read("min", s.min, NumberRange::greater(0));
  r.read("max", s.max, NumberRange::greater(0));
  r.finish();
  if (s.max < s.min) {  // checked after both keys so either order of keys works
    throw SpecError(r.path_of("max"), "expected a number >= min (" + format_number(s.min) +
                                          "), got " + format_number(s.max));
  }
}

Precision read_precision(ObjectReader& r, Precision current) {
  std::string name(to_string(current));
  r.read_choice("precision", name, {"fp32", "fp16"});
  return name == "fp16" ? Precision::fp16 : Precision::fp32;
}

void read_train(ObjectReader r, TrainSpec& t) {
  r.read("epochs", t.epochs, NumberRange::greater(0));
  r.read("global_batch", t.global_batch, IntRange::at_least(1));
  t.precision = read_precision(r, t.precision);
  r.read("seed", t.seed, IntRange::at_least(0));
  r.read("threads", t.threads, IntRange::at_least(0));
  r.read_choice("conv_algorithm", t.conv_algorithm, {"direct", "winograd", "auto"});
  r.read("label_smoothing", t.label_smoothing, NumberRange::closed_open(0, 1));
  r.read("log_every_steps", t.log_every_steps, IntRange::at_least(1));
  r.read("eval_every_epochs", t.eval_every_epochs, NumberRange::greater(0));
  r.read("bn_recalibration_images", t.bn_recalibration_images, IntRange::at_least(0));
  r.read("bn_ghost_batch", t.bn_ghost_batch, IntRange::at_least(0));
  r.read("checkpoint_every_epochs", t.checkpoint_every_epochs, NumberRange::at_least(0));
  read_loss_scale(r.child("loss_scale"), t.loss_scale);
  r.finish();
}

// Milestones must be strictly ascending: a repeated epoch would silently
// apply step_gamma twice.
void check_ascending(const ObjectReader& r, const std::vector<double>& epochs) {
  for (std::size_t i = 1; i < epochs.size(); ++i) {
    if (epochs[i] > epochs[i - 1]) continue;
    throw SpecError(index_path(r.path_of("step_epochs"), i),
                    "expected a number > the previous element (" + format_number(epochs[i - 1]) +
                        "), got " + format_number(epochs[i]));
  }
}

void read_lr(ObjectReader r, LrSpec& lr) {
  r.read("base", lr.base, NumberRange::greater(0));
  r.read("scale_with_batch", lr.scale_with_batch);
  r.read("warmup_epochs", lr.warmup_epochs, NumberRange::at_least(0));
  r.read("warmup_start", lr.warmup_start, NumberRange::closed(0, 1));
  r.read_choice("decay", lr.decay, {"poly", "cosine", "step", "none"});
  r.read("poly_power", lr.poly_power, NumberRange::greater(0));
  r.read("step_epochs", lr.step_epochs, NumberRange::at_least(0));
  check_ascending(r, lr.step_epochs);
  r.read("step_gamma", lr.step_gamma, NumberRange::open_closed(0, 1));
  r.read("min", lr.min, NumberRange::at_least(0));
  r.finish();
}

void read_lars(ObjectReader r, LarsSpec& l) {
  r.read("eta", l.eta, NumberRange::greater(0));
  r.read("epsilon", l.epsilon, NumberRange::at_least(0));
  r.read("clip", l.clip);
  r.read("skip_bias_and_norm", l.skip_bias_and_norm);
  r.finish();
}

void read_optimizer(ObjectReader r, OptimizerSpec& o) {
  r.read_choice("name", o.name, {"sgd", "lars"});
  r.read("momentum", o.momentum, NumberRange::closed_open(0, 1));
  r.read("nesterov", o.nesterov);
  r.read("weight_decay", o.weight_decay, NumberRange::at_least(0));
  r.read("decay_bias_and_norm", o.decay_bias_and_norm);
  read_lr(r.child("lr"), o.lr);
  read_lars(r.child("lars"), o.lars);
  r.finish();
}

void read_comm(ObjectReader r, CommSpec& c) {
  r.read_choice("algorithm", c.algorithm, algorithm_names());
  r.read("group_size", c.group_size, IntRange::at_least(0));
  r.read("fusion_bytes", c.fusion_bytes, IntRange::at_least(0));
  r.read("overlap", c.overlap);
  r.read("fp16_gradients", c.fp16_gradients);
  r.read("timeout_s", c.timeout_s, NumberRange::greater(0));
  r.read("auto_small_bytes", c.auto_small_bytes, IntRange::at_least(0));
  r.read("auto_calibration", c.auto_calibration);
  r.finish();
}

// Physical ranges: a bandwidth below 1 Mbit/s or a latency above 10 s is a
// typo (or a denormal such as 1e-320 that would stall the simulation).
void read_link(ObjectReader r, LinkSpec& l) {
  r.read("bandwidth_gbps", l.bandwidth_gbps, NumberRange::closed(1e-3, 1e7));
  r.read("latency_us", l.latency_us, NumberRange::closed(0, 1e7));
  r.finish();
}

void check_torus_dims(const ObjectReader& r, const ClusterSpec& c) {
  for (std::size_t i = 0; i < c.torus_dims.size(); ++i) {
    if (c.torus_dims[i] == std::floor(c.torus_dims[i])) continue;
    throw SpecError(index_path(r.path_of("torus_dims"), i),
                    "expected an integer >= 1, got " + format_number(c.torus_dims[i]));
  }
  if (c.torus_dims.size() > 3 || (c.topology == "torus" && c.torus_dims.empty())) {
    throw SpecError(r.path_of("torus_dims"), "expected 1 to 3 dimensions for topology \"torus\", got " +
                                                 std::to_string(c.torus_dims.size()));
  }
  double nodes = 1;  // each dimension <= 2^20, so the product of 3 is exact in a double
  for (double d : c.torus_dims) nodes *= d;
  if (nodes > double(1 << 24)) {
    throw SpecError(r.path_of("torus_dims"),
                    "expected at most 2^24 nodes in the torus, got " + format_number(nodes));
  }
}

// 0 (not modelled) or a rate a real input pipeline could have.
void read_rate(ObjectReader& r, std::string_view key, double& out) {
  r.read(key, out, NumberRange::closed(0, 1e12));
  if (out > 0 && out < 1e-3) {
    throw SpecError(r.path_of(key), "expected 0 or a rate >= 0.001 images/s, got " + format_number(out));
  }
}

void read_cluster_costs(ObjectReader& r, ClusterSpec& c) {
  read_rate(r, "input_images_per_s", c.input_images_per_s);
  read_rate(r, "node_input_images_per_s", c.node_input_images_per_s);
  r.read("cores_per_node", c.cores_per_node, IntRange::between(0, 1 << 20));
  r.read("step_overhead_s", c.step_overhead_s, NumberRange::closed(0, 3600));
  r.read("compute_cv", c.compute_cv, NumberRange::closed(0, 1));
  r.read("comm_memory_passes", c.comm_memory_passes, NumberRange::closed(0, 100));
  r.read("price_per_gpu_hour", c.price_per_gpu_hour, NumberRange::closed(0, 1e6));
}

void read_cluster(ObjectReader r, ClusterSpec& c) {
  r.read("gpu", c.gpu);
  r.read("gpus_per_node", c.gpus_per_node, IntRange::between(1, 1 << 16));
  r.read("nodes", c.nodes, IntRange::between(0, 1 << 24));
  read_link(r.child("intra"), c.intra);
  read_link(r.child("nic"), c.nic);
  r.read("nics_per_node", c.nics_per_node, IntRange::between(1, 1 << 16));
  if (c.gpus_per_node % c.nics_per_node != 0) {
    throw SpecError(r.path_of("nics_per_node"), "expected a divisor of cluster.gpus_per_node (" +
                                                    std::to_string(c.gpus_per_node) + "), got " +
                                                    std::to_string(c.nics_per_node));
  }
  r.read_choice("nic_path", c.nic_path, {"intra", "direct"});
  r.read_choice("topology", c.topology, {"switch", "fat_tree", "rail_fat_tree", "torus"});
  r.read("nodes_per_leaf", c.nodes_per_leaf, IntRange::between(1, 1 << 24));
  r.read("oversubscription", c.oversubscription, NumberRange::closed(1, 1e6));
  r.read("uplink_latency_us", c.uplink_latency_us, NumberRange::closed(0, 1e7));
  r.read("torus_dims", c.torus_dims, NumberRange::closed(1, 1 << 20));
  check_torus_dims(r, c);
  read_cluster_costs(r, c);
  r.finish();
}

// --- emitting: the exact inverse of the readers above ------------------------

json model_json(const ModelSpec& m) { return {{"name", m.name}, {"dropout", m.dropout}}; }

json data_json(const DataSpec& d) {
  const SyntheticSpec& s = d.synthetic;
  return {
      {"dataset", d.dataset},
      {"dir", d.dir},
      {"train_subset", d.train_subset},
      {"prefetch", d.prefetch},
      {"workers", d.workers},
      {"augment",
       {{"crop_padding", d.augment.crop_padding}, {"horizontal_flip", d.augment.horizontal_flip}}},
      {"synthetic",
       {{"train_images", s.train_images},
        {"test_images", s.test_images},
        {"channels", s.channels},
        {"height", s.height},
        {"width", s.width},
        {"classes", s.classes}}}};
}

json train_json(const TrainSpec& t) {
  const LossScaleSpec& s = t.loss_scale;
  return {{"epochs", t.epochs},
          {"global_batch", t.global_batch},
          {"precision", std::string(to_string(t.precision))},
          {"seed", t.seed},
          {"threads", t.threads},
          {"conv_algorithm", t.conv_algorithm},
          {"label_smoothing", t.label_smoothing},
          {"log_every_steps", t.log_every_steps},
          {"eval_every_epochs", t.eval_every_epochs},
          {"bn_recalibration_images", t.bn_recalibration_images},
          {"bn_ghost_batch", t.bn_ghost_batch},
          {"checkpoint_every_epochs", t.checkpoint_every_epochs},
          {"loss_scale",
           {{"mode", s.mode},
            {"init", s.init},
            {"growth_interval", s.growth_interval},
            {"growth_factor", s.growth_factor},
            {"backoff_factor", s.backoff_factor},
            {"min", s.min},
            {"max", s.max}}}};
}

json optimizer_json(const OptimizerSpec& o) {
  const LrSpec& lr = o.lr;
  return {{"name", o.name},
          {"momentum", o.momentum},
          {"nesterov", o.nesterov},
          {"weight_decay", o.weight_decay},
          {"decay_bias_and_norm", o.decay_bias_and_norm},
          {"lr",
           {{"base", lr.base},
            {"scale_with_batch", lr.scale_with_batch},
            {"warmup_epochs", lr.warmup_epochs},
            {"warmup_start", lr.warmup_start},
            {"decay", lr.decay},
            {"poly_power", lr.poly_power},
            {"step_epochs", json(lr.step_epochs)},
            {"step_gamma", lr.step_gamma},
            {"min", lr.min}}},
          {"lars",
           {{"eta", o.lars.eta},
            {"epsilon", o.lars.epsilon},
            {"clip", o.lars.clip},
            {"skip_bias_and_norm", o.lars.skip_bias_and_norm}}}};
}

json comm_json(const CommSpec& c) {
  return {
      {"algorithm", c.algorithm},           {"group_size", c.group_size},
      {"fusion_bytes", c.fusion_bytes},     {"overlap", c.overlap},
      {"fp16_gradients", c.fp16_gradients}, {"timeout_s", c.timeout_s},
      {"auto_small_bytes", c.auto_small_bytes}, {"auto_calibration", c.auto_calibration},
  };
}

json link_json(const LinkSpec& l) {
  return {{"bandwidth_gbps", l.bandwidth_gbps}, {"latency_us", l.latency_us}};
}

json cluster_json(const ClusterSpec& c) {
  return {{"gpu", c.gpu},
          {"gpus_per_node", c.gpus_per_node},
          {"nodes", c.nodes},
          {"intra", link_json(c.intra)},
          {"nic", link_json(c.nic)},
          {"nics_per_node", c.nics_per_node},
          {"nic_path", c.nic_path},
          {"topology", c.topology},
          {"nodes_per_leaf", c.nodes_per_leaf},
          {"oversubscription", c.oversubscription},
          {"uplink_latency_us", c.uplink_latency_us},
          {"torus_dims", json(c.torus_dims)},
          {"input_images_per_s", c.input_images_per_s},
          {"node_input_images_per_s", c.node_input_images_per_s},
          {"cores_per_node", c.cores_per_node},
          {"step_overhead_s", c.step_overhead_s},
          {"compute_cv", c.compute_cv},
          {"comm_memory_passes", c.comm_memory_passes},
          {"price_per_gpu_hour", c.price_per_gpu_hour}};
}

// --- files and overrides ------------------------------------------------------

[[noreturn]] void malformed_override(const std::string& assignment) {
  throw InputError("--set " + brief(json(assignment)) + ": expected KEY.PATH=VALUE");
}

std::vector<std::string> split_key_path(const std::string& assignment, std::string_view path) {
  std::vector<std::string> keys;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    const std::string_view key = path.substr(start, dot - start);
    if (key.empty()) malformed_override(assignment);  // "", "a..b", ".a", "a."
    keys.emplace_back(key);
    if (dot == std::string_view::npos) return keys;
    start = dot + 1;
  }
}

json read_json_file(const std::filesystem::path& file) {
  std::error_code ec;
  std::ifstream in(file);
  if (!in || std::filesystem::is_directory(file, ec)) {
    throw InputError("spec error: " + file.string() + ": cannot open");
  }
  json document;
  try {
    document = json::parse(in);
  } catch (const json::parse_error& e) {
    throw InputError("spec error: " + file.string() + ": invalid JSON: " + json_error_text(e));
  }
  if (!document.is_object()) {
    throw InputError("spec error: " + file.string() +
                     ": expected a JSON object at the top level, got " + brief(document));
  }
  return document;
}

}  // namespace

Spec parse_spec(const nlohmann::json& document) {
  Spec spec;
  ObjectReader root(document, "");
  root.read("name", spec.name);
  root.read_choice("device", spec.device, {"cpu", "cuda"});
  read_model(root.child("model"), spec.model);
  read_data(root.child("data"), spec.data);
  read_train(root.child("train"), spec.train);
  read_optimizer(root.child("optimizer"), spec.optimizer);
  read_comm(root.child("comm"), spec.comm);
  spec.cluster.present = document.contains("cluster");
  read_cluster(root.child("cluster"), spec.cluster);
  root.finish();
  spec.source = document;
  return spec;
}

void apply_override(nlohmann::json& document, const std::string& assignment) {
  const std::size_t eq = assignment.find('=');
  if (eq == std::string::npos) malformed_override(assignment);
  const std::vector<std::string> keys =
      split_key_path(assignment, std::string_view(assignment).substr(0, eq));
  const std::string text = assignment.substr(eq + 1);
  // Numbers, booleans, arrays and quoted strings parse as JSON; anything else
  // (fp16, lars, a path) is meant as a bare string.
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;

  json* node = &document;
  std::string path;
  for (const std::string& key : keys) {
    if (node->is_null()) *node = json::object();  // intermediate objects are created
    if (!node->is_object()) {
      throw InputError("--set " + brief(json(assignment)) + ": " +
                       (path.empty() ? "the spec" : path) + " is " + brief(*node) +
                       ", not an object");
    }
    node = &(*node)[key];
    path = join_path(path, key);
  }
  *node = std::move(value);
}

Spec load_spec(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  json document = read_json_file(file);
  for (const std::string& assignment : overrides) apply_override(document, assignment);
  return parse_spec(document);
}

nlohmann::json to_json(const Spec& spec) {
  return {{"name", spec.name},
          {"device", spec.device},
          {"model", model_json(spec.model)},
          {"data", data_json(spec.data)},
          {"train", train_json(spec.train)},
          {"optimizer", optimizer_json(spec.optimizer)},
          {"comm", comm_json(spec.comm)},
          {"cluster", cluster_json(spec.cluster)}};
}

}  // namespace lb
