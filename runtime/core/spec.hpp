#pragma once
// The experiment spec: experiments/*.json parsed once into typed structs.
// Every key is documented in experiments/SPEC.md; defaults live here and in
// spec.cpp only. Parsing rejects unknown keys, wrong types and out-of-range
// values with a SpecError naming the JSON path (e.g. "optimizer.lars.eta").
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/precision.hpp"
#include "runtime/core/spec_choices.hpp"

namespace lb {

// A choice written into JSON (summary.json, profile.json) is its name, never
// its number: nlohmann::json finds this by argument-dependent lookup.
template <NamedChoice E>
void to_json(nlohmann::json& j, E value) {
  j = std::string(choice_name(value));
}

struct ModelSpec {
  std::string name = "lenet_bn";  // lenet_bn | resnet20 | alexnet_bn | resnet50
  double dropout = 0.0;           // dropout before the classifier (alexnet_bn: 0.5)
};

struct AugmentSpec {
  int crop_padding = 2;  // random crop after zero padding by this many pixels; 0 = off
  bool horizontal_flip = true;
};

struct SyntheticSpec {  // data.dataset synthetic: random images, for benchmarks
  std::int64_t train_images = 4096;
  std::int64_t test_images = 1024;
  int channels = 1;
  int height = 28;
  int width = 28;
  int classes = 10;
};

// imagefolder and shards: how JPEGs become the network's input (ImageNet
// training's transforms, as torchvision's RandomResizedCrop and CenterCrop).
struct ImageSpec {
  int size = 224;    // output height and width
  int resize = 256;  // evaluation: shorter side resized to this, then a center crop of `size`
  std::vector<double> scale{0.08, 1.0};           // random-resized crop: area fraction range
  std::vector<double> ratio{0.75, 4.0 / 3.0};     // random-resized crop: aspect ratio range
  std::vector<double> mean{0.485, 0.456, 0.406};  // per-channel (R, G, B), of x / 255
  std::vector<double> std{0.229, 0.224, 0.225};
};

struct DataSpec {
  Dataset dataset = Dataset::fashion_mnist;
  std::string dir = "/usr/share/datasets/fashion-mnist";
  std::int64_t train_subset = 0;  // use only the first N training images; 0 = all
  // Training images held out as a validation set (never trained on), chosen
  // by validation_seed alone so that every run of a study holds out the same.
  std::int64_t validation_images = 0;
  std::uint64_t validation_seed = 1;
  int prefetch = 4;  // depth of the prefetch queue, in batches
  int workers = 1;   // input pipeline threads
  AugmentSpec augment;
  SyntheticSpec synthetic;
  std::string root;          // imagefolder: ROOT/{train,val}/CLASS/*.jpg
  std::string train_shards;  // shards: tar files, brace pattern (train-{000000..000146}.tar)
  std::string val_shards;
  bool skip_corrupt = false;  // skip (and count) unreadable images instead of stopping
  ImageSpec image;
};

// The largest loss scale a spec or checkpoint may hold: every gradient would
// overflow binary16 far below it, and it stays finite as a float.
inline constexpr double kMaxLossScale = 0x1p64;

struct LossScaleSpec {
  LossScaleMode mode = LossScaleMode::dynamic;  // none: fp16 without scaling
  double init = 65536.0;                        // starting scale (dynamic) or the scale (static)
  int growth_interval = 2000;                   // clean steps before the scale doubles
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  double min = 1.0;
  double max = 16777216.0;  // 2^24
};

// train.stop_at: end the run at the first evaluation whose `metric` reaches
// `value` (at least it for accuracies, at most it for losses).
struct StopAtSpec {
  std::string
      metric;  // "" = never | validation_accuracy | validation_loss | test_accuracy | test_loss
  double value = 0;
  bool enabled() const { return !metric.empty(); }
};

struct TrainSpec {
  double epochs = 5;  // may be fractional; steps = round(epochs * steps_per_epoch)
  std::int64_t global_batch = 256;
  Precision precision = Precision::fp16;
  std::uint64_t seed = 1;
  int threads = 0;                                         // CPU threads; 0 = all cores
  ConvAlgorithm conv_algorithm = ConvAlgorithm::winograd;  // CPU backend
  double label_smoothing = 0.0;
  int log_every_steps = 20;
  double eval_every_epochs = 1;
  // Before each evaluation, BatchNorm running statistics are recomputed over
  // this many training images with the current weights (0 = off: the usual
  // exponential average).
  std::int64_t bn_recalibration_images = 0;
  // Training-mode BatchNorm statistics over groups of this many images of a
  // rank's batch (ghost batch normalisation); 0 = over the whole rank batch.
  std::int64_t bn_ghost_batch = 0;
  double checkpoint_every_epochs = 1;  // 0 = only at the end
  StopAtSpec stop_at;
  // Gradient noise scale (McCandlish et al. 2018) every this many steps; 0 = off.
  int noise_scale_every = 10;
  double noise_scale_ema = 0.95;  // smoothing of |G|^2 and tr(Sigma) per measurement
  LossScaleSpec loss_scale;
  // Progressive initialization: a run directory or checkpoint whose fp32
  // master weights and BatchNorm statistics this run starts from, with a
  // fresh optimizer state ("" = the seed's random initialization).
  std::string init_from;
};

struct LrSpec {
  double base = 0.1;  // learning rate per 256 images (scaled linearly with the global batch)
  bool scale_with_batch = true;
  double warmup_epochs = 0;
  double warmup_start = 0;  // warm-up starts at this fraction of the peak lr
  LrDecay decay = LrDecay::poly;
  double poly_power = 2.0;
  std::vector<double> step_epochs;  // decay == step: epochs at which lr *= step_gamma
  double step_gamma = 0.1;
  double min = 0.0;  // floor of the decayed lr
};

struct LarsSpec {
  double eta = 0.001;              // trust coefficient
  double epsilon = 1e-9;           // guards ||g|| + beta*||w|| against 0
  bool clip = false;               // LARC clipping: effective lr = min(local lr, lr)
  bool skip_bias_and_norm = true;  // bias and BatchNorm parameters use plain SGD
};

struct OptimizerSpec {
  OptimizerKind name = OptimizerKind::lars;
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 5e-4;
  bool decay_bias_and_norm = false;  // the seed's selective regularisation: off by default
  LrSpec lr;
  LarsSpec lars;
};

struct CommSpec {  // used by multi-rank runs (issue 4); validated now
  Algorithm algorithm = Algorithm::automatic;
  int group_size = 0;  // ranks per group for hierarchical; 0 = ranks per node
  // Gradient bucket size in fp32 bytes, 0 = one tensor per bucket; nullopt =
  // "auto" (core/fusion_rule.hpp, resolved by lb-train and the simulator).
  std::optional<std::int64_t> fusion_bytes;
  bool overlap = true;
  bool fp16_gradients = false;
  double timeout_s = 300;
  // auto: buckets smaller than this use MPI_Allreduce (latency-bound), larger
  // ones hierarchical when there are several groups, else ring.
  std::int64_t auto_small_bytes = 64 << 10;
  // auto: the choice by size from this file (allreduce-bench
  // --write-auto-calibration) instead of auto_small_bytes; "" = none.
  std::string auto_calibration;
};

struct LinkSpec {               // one class of link in the simulated cluster
  double bandwidth_gbps = 100;  // per direction (links are full duplex)
  double latency_us = 5;        // one-way latency a message sees crossing this class
};

// The cluster simulate-scaling models. Never read by lb-train. Every key is
// documented in experiments/SPEC.md ("cluster"), with the sources of the defaults.
struct ClusterSpec {
  std::string gpu = "V100";  // a profile in experiments/devices/ (case-insensitive)
  int gpus_per_node = 8;
  int nodes = 0;  // 0 = as many as the GPU count asks for
  // GPU <-> node switch; intra-node messages cross two. V100 SXM2 NVLink 2:
  // 6 links x 25 GB/s = 150 GB/s = 1,200 Gbit/s per direction.
  LinkSpec intra{1200, 2};
  LinkSpec nic{100, 5};               // one network interface
  int nics_per_node = 1;              // divides gpus_per_node; GPUs share them in blocks
  NicPath nic_path = NicPath::intra;  // does NIC traffic cross the GPU's intra link
  Topology topology = Topology::single_switch;
  int nodes_per_leaf = 16;             // fat trees: nodes under one leaf switch
  double oversubscription = 1;         // fat trees: leaf down-link / up-link bandwidth
  double uplink_latency_us = 1;        // fat trees: extra latency through the core; torus: per hop
  std::vector<double> torus_dims{};    // torus: nodes along each dimension (1-3 integers)
  double input_images_per_s = 0;       // per-GPU input pipeline rate; 0 = not modelled
  double node_input_images_per_s = 0;  // per-node input pipeline rate (shared); 0 = not modelled
  // CPU clusters: the cores a node's ranks share (each using train.threads);
  // 0 = every rank has its own processor (GPUs).
  int cores_per_node = 0;
  double step_overhead_s = 0;     // fixed host time per step beyond the device's fitted curve
  double compute_cv = 0.01;       // GPU-to-GPU relative std of compute time (stragglers)
  double comm_memory_passes = 3;  // device-memory bytes moved per byte an all-reduce sends
  double price_per_gpu_hour = 0;  // 0 = no money column
  bool present = false;           // false: the spec had no "cluster" (defaults in use)
};

struct Spec {
  std::string name = "experiment";
  DeviceKind device = DeviceKind::cpu;
  ModelSpec model;
  DataSpec data;
  TrainSpec train;
  OptimizerSpec optimizer;
  CommSpec comm;
  ClusterSpec cluster;
  nlohmann::json source;  // the merged JSON the spec was parsed from (for summary.json)
};

// Parses and validates; throws SpecError on any problem.
Spec parse_spec(const nlohmann::json& document);

// Reads a JSON file, applies "a.b.c=VALUE" overrides (VALUE is parsed as JSON
// when it parses, else taken as a string), then parses. Throws InputError if the
// file is missing or not JSON, SpecError for a bad key or value.
Spec load_spec(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});

// Applies one "a.b.c=VALUE" override to a JSON document.
void apply_override(nlohmann::json& document, const std::string& assignment);

// The spec as JSON with every default filled in.
nlohmann::json to_json(const Spec& spec);

}  // namespace lb
