#include "runtime/core/spec.hpp"

#include <cmath>
#include <string_view>

#include "runtime/core/comm_algorithm.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/json_reader.hpp"
#include "runtime/core/stop_at.hpp"

namespace lb {
namespace {

using json = nlohmann::json;

// Bounds that keep every count derived from a spec far from overflow (steps
// = epochs x steps per epoch, image sizes, buffers) and refuse values no
// machine could run, before anything is allocated.
constexpr double kMaxEpochs = 1e6;
constexpr std::int64_t kMaxImageSide = 65535;
constexpr std::int64_t kMaxChannels = 4096;
constexpr std::int64_t kMaxClasses = 1'000'000;
constexpr std::int64_t kMaxThreads = 4096;
constexpr std::int64_t kMaxPrefetch = 1024;
constexpr std::int64_t kMaxImages = std::int64_t(1) << 40;

// --- parsing: one function per JSON object, keys in the struct's order -------

void read_model(ObjectReader r, ModelSpec& m) {
  r.read_choice("name", m.name, {"lenet_bn", "resnet20", "alexnet_bn", "resnet50"});
  r.read("dropout", m.dropout, NumberRange::closed_open(0, 1));
  r.finish();
}

void read_augment(ObjectReader r, AugmentSpec& a) {
  r.read("crop_padding", a.crop_padding, IntRange::between(0, kMaxImageSide));
  r.read("horizontal_flip", a.horizontal_flip);
  r.finish();
}

void read_synthetic(ObjectReader r, SyntheticSpec& s) {
  r.read("train_images", s.train_images, IntRange::between(1, kMaxImages));
  r.read("test_images", s.test_images, IntRange::between(1, kMaxImages));
  r.read("channels", s.channels, IntRange::between(1, kMaxChannels));
  r.read("height", s.height, IntRange::between(1, kMaxImageSide));
  r.read("width", s.width, IntRange::between(1, kMaxImageSide));
  r.read("classes", s.classes, IntRange::between(1, kMaxClasses));
  r.finish();
}

// A [low, high] pair of numbers, low <= high, each in `range`.
void read_interval(ObjectReader& r, std::string_view key, std::vector<double>& out,
                   const NumberRange& range) {
  r.read(key, out, range);
  if (out.size() != 2 || out[0] > out[1]) {
    throw SpecError(r.path_of(key),
                    "expected [low, high] with low <= high, got " + brief(json(out)));
  }
}

// Exactly one number per RGB channel.
void read_per_channel(ObjectReader& r, std::string_view key, std::vector<double>& out,
                      const NumberRange& range) {
  r.read(key, out, range);
  if (out.size() != 3) {
    throw SpecError(r.path_of(key), "expected 3 numbers (R, G, B), got " + brief(json(out)));
  }
}

void read_image(ObjectReader r, ImageSpec& i) {
  r.read("size", i.size, IntRange::at_least(1));
  r.read("resize", i.resize, IntRange::at_least(1));
  read_interval(r, "scale", i.scale, NumberRange::open_closed(0, 1));
  read_interval(r, "ratio", i.ratio, NumberRange::greater(0));
  read_per_channel(r, "mean", i.mean, NumberRange::any());
  read_per_channel(r, "std", i.std, NumberRange::greater(0));
  r.finish();
}

void read_data(ObjectReader r, DataSpec& d) {
  r.read_choice("dataset", d.dataset);
  r.read("dir", d.dir);
  r.read("train_subset", d.train_subset, IntRange::between(0, kMaxImages));
  r.read("validation_images", d.validation_images, IntRange::between(0, kMaxImages));
  r.read("validation_seed", d.validation_seed, IntRange::at_least(0));
  r.read("prefetch", d.prefetch, IntRange::between(1, kMaxPrefetch));
  r.read("workers", d.workers, IntRange::between(1, kMaxThreads));
  read_augment(r.child("augment"), d.augment);
  read_synthetic(r.child("synthetic"), d.synthetic);
  r.read("root", d.root);
  r.read("train_shards", d.train_shards);
  r.read("val_shards", d.val_shards);
  r.read("skip_corrupt", d.skip_corrupt);
  read_image(r.child("image"), d.image);
  r.finish();
}

void read_loss_scale(ObjectReader r, LossScaleSpec& s) {
  r.read_choice("mode", s.mode);
  const NumberRange scale = NumberRange::open_closed(0, kMaxLossScale);
  r.read("init", s.init, scale);
  r.read("growth_interval", s.growth_interval, IntRange::at_least(1));
  r.read("growth_factor", s.growth_factor, NumberRange::greater(1));
  r.read("backoff_factor", s.backoff_factor, NumberRange::open(0, 1));
  r.read("min", s.min, scale);
  r.read("max", s.max, scale);
  r.finish();
  if (s.max < s.min) {  // checked after both keys so either order of keys works
    throw SpecError(r.path_of("max"), "expected a number >= min (" + format_number(s.min) +
                                          "), got " + format_number(s.max));
  }
}

}  // namespace

// {"validation_accuracy": 0.9}: at most one metric and its target (stop_at.hpp).
void read_stop_at(ObjectReader r, StopAtSpec& stop) {
  struct Metric {
    const char* name;
    NumberRange range;
  };
  const Metric metrics[] = {{"validation_accuracy", NumberRange::open_closed(0, 1)},
                            {"validation_loss", NumberRange::greater(0)},
                            {"test_accuracy", NumberRange::open_closed(0, 1)},
                            {"test_loss", NumberRange::greater(0)}};
  int given = 0;
  for (const Metric& m : metrics) {
    double value = -1;
    r.read(m.name, value, m.range);
    if (value < 0) continue;
    if (++given > 1) throw SpecError(r.path(), "expected one metric to stop at, got several");
    stop = {m.name, value};
  }
  r.finish();
}

namespace {

void read_train(ObjectReader r, TrainSpec& t) {
  const NumberRange epochs = NumberRange::open_closed(0, kMaxEpochs);
  r.read("epochs", t.epochs, epochs);
  r.read("global_batch", t.global_batch, IntRange::between(1, kMaxImages));
  r.read_choice("precision", t.precision);
  r.read("seed", t.seed, IntRange::at_least(0));
  r.read("threads", t.threads, IntRange::between(0, kMaxThreads));
  r.read_choice("conv_algorithm", t.conv_algorithm);
  r.read("label_smoothing", t.label_smoothing, NumberRange::closed_open(0, 1));
  r.read("log_every_steps", t.log_every_steps, IntRange::at_least(1));
  r.read("eval_every_epochs", t.eval_every_epochs, epochs);
  r.read("bn_recalibration_images", t.bn_recalibration_images, IntRange::between(0, kMaxImages));
  r.read("bn_ghost_batch", t.bn_ghost_batch, IntRange::between(0, kMaxImages));
  r.read("checkpoint_every_epochs", t.checkpoint_every_epochs, NumberRange::closed(0, kMaxEpochs));
  read_stop_at(r.child("stop_at"), t.stop_at);
  r.read("noise_scale_every", t.noise_scale_every, IntRange::at_least(0));
  r.read("noise_scale_ema", t.noise_scale_ema, NumberRange::closed_open(0, 1));
  read_loss_scale(r.child("loss_scale"), t.loss_scale);
  r.read("init_from", t.init_from);
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
  r.read("warmup_epochs", lr.warmup_epochs, NumberRange::closed(0, kMaxEpochs));
  r.read("warmup_start", lr.warmup_start, NumberRange::closed(0, 1));
  r.read_choice("decay", lr.decay);
  r.read("poly_power", lr.poly_power, NumberRange::greater(0));
  r.read("step_epochs", lr.step_epochs, NumberRange::closed(0, kMaxEpochs));
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
  r.read_choice("name", o.name);
  r.read("momentum", o.momentum, NumberRange::closed_open(0, 1));
  r.read("nesterov", o.nesterov);
  r.read("weight_decay", o.weight_decay, NumberRange::at_least(0));
  r.read("decay_bias_and_norm", o.decay_bias_and_norm);
  read_lr(r.child("lr"), o.lr);
  read_lars(r.child("lars"), o.lars);
  r.finish();
}

// comm.fusion_bytes: "auto" (nullopt) or an integer of at least 0.
void read_fusion_bytes(ObjectReader& r, std::optional<std::int64_t>& out) {
  const json* value = r.take("fusion_bytes");
  if (value == nullptr) return;
  if (value->is_string()) {
    if (*value != "auto") {
      throw SpecError(r.path_of("fusion_bytes"),
                      "expected \"auto\" or a size in bytes, got " + value->dump());
    }
    out.reset();
    return;
  }
  const json alone{{"fusion_bytes", *value}};  // the integer getter's checks and messages
  std::int64_t bytes = 0;
  ObjectReader(alone, r.path()).read("fusion_bytes", bytes, IntRange::at_least(0));
  out = bytes;
}

void read_comm(ObjectReader r, CommSpec& c) {
  r.read_choice("algorithm", c.algorithm);
  r.read("group_size", c.group_size, IntRange::at_least(0));
  read_fusion_bytes(r, c.fusion_bytes);
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
  if (c.torus_dims.size() > 3 || (c.topology == Topology::torus && c.torus_dims.empty())) {
    throw SpecError(r.path_of("torus_dims"),
                    "expected 1 to 3 dimensions for topology \"torus\", got " +
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
    throw SpecError(r.path_of(key),
                    "expected 0 or a rate >= 0.001 images/s, got " + format_number(out));
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
  r.read_choice("nic_path", c.nic_path);
  r.read_choice("topology", c.topology);
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
      {"dataset", to_string(d.dataset)},
      {"dir", d.dir},
      {"train_subset", d.train_subset},
      {"validation_images", d.validation_images},
      {"validation_seed", d.validation_seed},
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
        {"classes", s.classes}}},
      {"root", d.root},
      {"train_shards", d.train_shards},
      {"val_shards", d.val_shards},
      {"skip_corrupt", d.skip_corrupt},
      {"image",
       {{"size", d.image.size},
        {"resize", d.image.resize},
        {"scale", json(d.image.scale)},
        {"ratio", json(d.image.ratio)},
        {"mean", json(d.image.mean)},
        {"std", json(d.image.std)}}}};
}

json train_json(const TrainSpec& t) {
  const LossScaleSpec& s = t.loss_scale;
  return {
      {"epochs", t.epochs},
      {"global_batch", t.global_batch},
      {"precision", std::string(to_string(t.precision))},
      {"seed", t.seed},
      {"threads", t.threads},
      {"conv_algorithm", to_string(t.conv_algorithm)},
      {"label_smoothing", t.label_smoothing},
      {"log_every_steps", t.log_every_steps},
      {"eval_every_epochs", t.eval_every_epochs},
      {"bn_recalibration_images", t.bn_recalibration_images},
      {"bn_ghost_batch", t.bn_ghost_batch},
      {"checkpoint_every_epochs", t.checkpoint_every_epochs},
      {"stop_at", t.stop_at.enabled() ? json{{t.stop_at.metric, t.stop_at.value}} : json::object()},
      {"noise_scale_every", t.noise_scale_every},
      {"noise_scale_ema", t.noise_scale_ema},
      {"init_from", t.init_from},
      {"loss_scale",
       {{"mode", to_string(s.mode)},
        {"init", s.init},
        {"growth_interval", s.growth_interval},
        {"growth_factor", s.growth_factor},
        {"backoff_factor", s.backoff_factor},
        {"min", s.min},
        {"max", s.max}}}};
}

json optimizer_json(const OptimizerSpec& o) {
  const LrSpec& lr = o.lr;
  return {{"name", to_string(o.name)},
          {"momentum", o.momentum},
          {"nesterov", o.nesterov},
          {"weight_decay", o.weight_decay},
          {"decay_bias_and_norm", o.decay_bias_and_norm},
          {"lr",
           {{"base", lr.base},
            {"scale_with_batch", lr.scale_with_batch},
            {"warmup_epochs", lr.warmup_epochs},
            {"warmup_start", lr.warmup_start},
            {"decay", to_string(lr.decay)},
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
      {"algorithm", to_string(c.algorithm)},
      {"group_size", c.group_size},
      {"fusion_bytes", c.fusion_bytes ? json(*c.fusion_bytes) : json("auto")},
      {"overlap", c.overlap},
      {"fp16_gradients", c.fp16_gradients},
      {"timeout_s", c.timeout_s},
      {"auto_small_bytes", c.auto_small_bytes},
      {"auto_calibration", c.auto_calibration},
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
          {"nic_path", to_string(c.nic_path)},
          {"topology", to_string(c.topology)},
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

json read_spec_document(const std::filesystem::path& file) {
  json document = read_json_file(file, "spec");
  if (!document.is_object()) {
    throw InputError("spec error: " + file.string() +
                     ": expected a JSON object at the top level, got " + brief(document));
  }
  return document;
}

// An override's VALUE: JSON when it is JSON (held to parse_json's rules, with
// the nesting its key path already adds), else the text as a string.
json override_value(const std::string& assignment, const std::string& text, std::size_t key_depth) {
  if (!json::accept(text)) return text;
  try {
    return parse_json(text, kMaxJsonDepth - int(key_depth));
  } catch (const JsonTextError& e) {
    throw InputError("--set " + brief(json(assignment)) + ": " + e.what());
  }
}

// Strings end up in summary.json and in messages, which must be valid UTF-8;
// a spec file is checked by the JSON parser, the command line only here.
void check_utf8(const std::string& assignment) {
  try {
    (void)json(assignment).dump();
  } catch (const json::type_error&) {
    throw InputError("--set " + brief(json(assignment)) + ": not valid UTF-8");
  }
}

}  // namespace

Algorithm parse_algorithm(const std::string& name) {
  if (const auto a = parse_choice<Algorithm>(name)) return *a;
  std::string names;
  for (std::string_view n : choice_names<Algorithm>())
    names += (names.empty() ? "" : ", ") + std::string(n);
  throw SpecError("comm.algorithm", "expected one of " + names + ", got \"" + name + "\"");
}

Spec parse_spec(const nlohmann::json& document) {
  Spec spec;
  ObjectReader root(document, "");
  root.read("name", spec.name);
  root.read_choice("device", spec.device);
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
  check_utf8(assignment);
  const std::size_t eq = assignment.find('=');
  if (eq == std::string::npos) malformed_override(assignment);
  const std::vector<std::string> keys =
      split_key_path(assignment, std::string_view(assignment).substr(0, eq));
  if (keys.size() >= std::size_t(kMaxJsonDepth)) {
    throw InputError("--set " + brief(json(assignment)) + ": KEY.PATH nests deeper than " +
                     std::to_string(kMaxJsonDepth) + " levels");
  }
  // Numbers, booleans, arrays and quoted strings parse as JSON; anything else
  // (fp16, lars, a path) is meant as a bare string.
  json value = override_value(assignment, assignment.substr(eq + 1), keys.size());

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
  json document = read_spec_document(file);
  for (const std::string& assignment : overrides) apply_override(document, assignment);
  return parse_spec(document);
}

nlohmann::json to_json(const Spec& spec) {
  return {{"name", spec.name},
          {"device", to_string(spec.device)},
          {"model", model_json(spec.model)},
          {"data", data_json(spec.data)},
          {"train", train_json(spec.train)},
          {"optimizer", optimizer_json(spec.optimizer)},
          {"comm", comm_json(spec.comm)},
          {"cluster", cluster_json(spec.cluster)}};
}

}  // namespace lb
