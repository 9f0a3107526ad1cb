#include "runtime/core/spec.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/core/errors.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb {
namespace {

using json = nlohmann::json;

const std::filesystem::path kDefaultExperiment =
    std::filesystem::path(LB_SOURCE_DIR) / "experiments" / "fmnist-lenet-lars-fp16.json";

// A document built from overrides, so each case reads like a command line.
json document_with(const std::vector<std::string>& assignments) {
  json document = json::object();
  for (const std::string& a : assignments) apply_override(document, a);
  return document;
}

struct Failure {
  std::string path;
  std::string message;
};

// The SpecError parse_spec throws, or an empty Failure when it accepts.
Failure spec_failure(const json& document) {
  try {
    parse_spec(document);
  } catch (const SpecError& e) {
    return {e.path(), e.what()};
  }
  return {};
}

// The failure for a spec that is all defaults except one --set assignment.
Failure set_failure(const std::string& assignment) {
  return spec_failure(document_with({assignment}));
}

// A file under the test temp dir that is removed when the test ends.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& content)
      : path_(std::filesystem::path(::testing::TempDir()) /
              (std::to_string(::getpid()) + "-" + name)) {
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string input_error(const std::filesystem::path& file,
                        const std::vector<std::string>& overrides = {}) {
  try {
    load_spec(file, overrides);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Spec, EmptyDocumentGivesTheStructDefaults) {
  const Spec spec = parse_spec(json::object());
  EXPECT_EQ(to_json(spec), to_json(Spec{}));
  EXPECT_EQ(spec.model.name, "lenet_bn");
  EXPECT_EQ(spec.train.global_batch, 256);
  EXPECT_EQ(spec.train.precision, Precision::fp16);
  EXPECT_EQ(spec.optimizer.name, OptimizerKind::lars);
  EXPECT_DOUBLE_EQ(spec.optimizer.lars.eta, 0.001);
  EXPECT_FALSE(spec.comm.fusion_bytes.has_value());  // "auto"
  EXPECT_EQ(to_json(spec)["comm"]["fusion_bytes"], "auto");
  EXPECT_TRUE(spec.optimizer.lr.step_epochs.empty());
  EXPECT_EQ(spec.source, json::object());
}

// Every field differs from its default, so a key that to_json forgot or that
// parse_spec does not read shows up as a mismatch.
Spec spec_with_no_defaults() {
  Spec s;
  s.name = "all-changed";
  s.device = DeviceKind::cuda;
  s.model = {"resnet20", 0.25};
  s.data = {Dataset::synthetic,
            "/tmp/data",
            1000,
            500,
            9,
            2,
            3,
            {0, false},
            {100, 50, 3, 32, 30, 7},
            "/tmp/images",
            "/tmp/train-{0..9}.tar",
            "/tmp/val-0.tar",
            true,
            {160, 192, {0.25, 0.9}, {0.5, 2.0}, {0.5, 0.5, 0.5}, {0.25, 0.3, 0.35}}};
  s.train.epochs = 2.5;
  s.train.global_batch = 8192;
  s.train.precision = Precision::fp32;
  s.train.seed = 18446744073709551615ull;
  s.train.threads = 2;
  s.train.conv_algorithm = ConvAlgorithm::direct;
  s.train.label_smoothing = 0.1;
  s.train.log_every_steps = 5;
  s.train.eval_every_epochs = 0.5;
  s.train.checkpoint_every_epochs = 0;
  s.train.stop_at = {"validation_loss", 0.25};
  s.train.noise_scale_every = 3;
  s.train.noise_scale_ema = 0.5;
  s.train.loss_scale = {LossScaleMode::fixed, 1024, 100, 4, 0.25, 2, 4096};
  s.train.init_from = "runs/coarse";
  s.optimizer.name = OptimizerKind::sgd;
  s.optimizer.momentum = 0.8;
  s.optimizer.nesterov = true;
  s.optimizer.weight_decay = 1e-4;
  s.optimizer.decay_bias_and_norm = true;
  s.optimizer.lr = {3.2, false, 5, 0.1, LrDecay::step, 1.5, {30, 60.5, 80}, 0.2, 1e-5};
  s.optimizer.lars = {0.02, 1e-6, true, false};
  s.comm = {Algorithm::hierarchical, 4, 1 << 20, false, true, 12.5, 1 << 12, "auto-np4.json"};
  s.cluster = {"P40",
               4,
               64,
               {32, 3},
               {200, 1.5},
               2,
               NicPath::direct,
               Topology::torus,
               8,
               2,
               0.5,
               {4, 4, 4},
               5000,
               20000,
               16,
               0.002,
               0.02,
               2.5,
               3.25,
               true};
  return s;
}

TEST(Spec, ToJsonRoundTripsEveryField) {
  const Spec original = spec_with_no_defaults();
  const json emitted = to_json(original);
  const Spec parsed = parse_spec(emitted);
  EXPECT_EQ(to_json(parsed), emitted);
  EXPECT_EQ(parsed.source, emitted);
  EXPECT_EQ(parsed.train.seed, 18446744073709551615ull);
  EXPECT_EQ(parsed.optimizer.lr.step_epochs, (std::vector<double>{30, 60.5, 80}));
  EXPECT_EQ(to_json(Spec{}), to_json(parse_spec(to_json(Spec{}))));
}

TEST(Spec, ToJsonEmitsEveryKey) {
  const json j = to_json(Spec{});
  EXPECT_EQ(j.at("train").at("loss_scale").at("growth_interval"), 2000);
  EXPECT_EQ(j.at("train").at("precision"), "fp16");
  EXPECT_EQ(j.at("data").at("synthetic").at("classes"), 10);
  EXPECT_EQ(j.at("optimizer").at("lr").at("step_epochs"), json::array());
  EXPECT_EQ(j.at("comm").at("timeout_s"), 300.0);
  EXPECT_EQ(j.at("cluster").at("gpu"), "V100");
}

TEST(Spec, DefaultExperimentFileParses) {
  const Spec spec = load_spec(kDefaultExperiment);
  EXPECT_EQ(spec.model.name, "lenet_bn");
  EXPECT_EQ(spec.data.dataset, Dataset::fashion_mnist);
  EXPECT_EQ(spec.train.precision, Precision::fp16);
  EXPECT_EQ(spec.optimizer.name, OptimizerKind::lars);
  EXPECT_DOUBLE_EQ(spec.train.epochs, 3);
  EXPECT_GT(spec.optimizer.lr.warmup_epochs, 0);
  std::ifstream in(kDefaultExperiment);
  EXPECT_EQ(spec.source, json::parse(in));
}

// The training specs a user runs (the large-batch study and its tuning
// variants among them) all parse. Sweep, device and convergence-model files
// are other formats, and results/ holds what runs wrote.
TEST(Spec, EveryExperimentSpecParses) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(LB_SOURCE_DIR) / "experiments";
  int parsed = 0;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const fs::path& file = it->path();
    const std::string name = file.filename().string();
    if (it->is_directory() &&
        (name == "sweeps" || name == "devices" || name == "results" || name == "convergence")) {
      it.disable_recursion_pending();
      continue;
    }
    if (file.extension() != ".json") continue;
    EXPECT_NO_THROW(load_spec(file)) << file;
    ++parsed;
  }
  EXPECT_GE(parsed, 12);  // 2 at the top, 5 in the study, 5 tuning variants
}

TEST(Spec, UnknownTopLevelKey) {
  const Failure f = spec_failure(json{{"larss", 1}});
  EXPECT_EQ(f.path, "larss");
  EXPECT_EQ(f.message,
            "spec error: larss: unknown key (expected one of: name, device, model, data, train, "
            "optimizer, comm, cluster)");
}

TEST(Spec, UnknownNestedKeys) {
  EXPECT_EQ(set_failure("optimizer.larss=1").message,
            "spec error: optimizer.larss: unknown key (expected one of: name, momentum, "
            "nesterov, weight_decay, decay_bias_and_norm, lr, lars)");
  EXPECT_EQ(set_failure("data.augment.flip=true").path, "data.augment.flip");
  EXPECT_EQ(set_failure("train.loss_scale.scale=2").path, "train.loss_scale.scale");
  EXPECT_EQ(set_failure("optimizer.lr.warmup=1").path, "optimizer.lr.warmup");
  EXPECT_EQ(set_failure("comm.algo=ring").path, "comm.algo");
}

TEST(Spec, WrongTypeExactMessages) {
  EXPECT_EQ(set_failure(R"(optimizer.lars.eta="x")").message,
            R"(spec error: optimizer.lars.eta: expected a number > 0, got "x")");
  EXPECT_EQ(set_failure("train.global_batch=2.5").message,
            "spec error: train.global_batch: expected an integer in [1, 1099511627776], got 2.5");
  EXPECT_EQ(set_failure("comm.overlap=1").message,
            "spec error: comm.overlap: expected true or false, got 1");
  EXPECT_EQ(set_failure("name=3").message, "spec error: name: expected a string, got 3");
  EXPECT_EQ(set_failure("model=3").message, "spec error: model: expected an object, got 3");
  EXPECT_EQ(set_failure("optimizer.lr.step_epochs=30").message,
            "spec error: optimizer.lr.step_epochs: expected an array of numbers, got 30");
}

TEST(Spec, WrongTypeForEveryKind) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"train.epochs=true", "train.epochs"},                               // number
      {"train.epochs=null", "train.epochs"},                               // number
      {"optimizer.lr.base=[1]", "optimizer.lr.base"},                      // number
      {"train.threads=two", "train.threads"},                              // int
      {"data.train_subset=1.5", "data.train_subset"},                      // int64
      {"train.seed=0.5", "train.seed"},                                    // uint64
      {"train.seed=false", "train.seed"},                                  // uint64
      {"optimizer.nesterov=\"true\"", "optimizer.nesterov"},               // bool
      {"data.augment.horizontal_flip=0", "data.augment.horizontal_flip"},  // bool
      {"data.dir=7", "data.dir"},                                          // string
      {"device=1", "device"},                                              // enum
      {"optimizer.lr.step_epochs={}", "optimizer.lr.step_epochs"},         // array
      {"train.loss_scale=[]", "train.loss_scale"},                         // object
      {"data.synthetic=\"big\"", "data.synthetic"},                        // object
  };
  for (const auto& [assignment, path] : cases) {
    const Failure f = set_failure(assignment);
    EXPECT_EQ(f.path, path) << assignment;
    EXPECT_NE(f.message.find("spec error: " + path + ": expected "), std::string::npos)
        << assignment << " -> " << f.message;
  }
}

TEST(Spec, TopLevelMustBeAnObject) {
  EXPECT_EQ(spec_failure(json::array({1, 2})).message,
            "spec error: (top level): expected an object, got [1,2]");
}

TEST(Spec, OutOfRangeValuesNameTheirPath) {
  const std::vector<std::string> cases = {
      "train.epochs=0",
      "train.global_batch=0",
      "train.seed=-1",
      "train.threads=-1",
      "train.label_smoothing=1",
      "train.log_every_steps=0",
      "train.eval_every_epochs=0",
      "train.checkpoint_every_epochs=-0.5",
      "model.dropout=1",
      "data.train_subset=-1",
      "data.prefetch=0",
      "data.workers=0",
      "data.augment.crop_padding=-1",
      "data.synthetic.train_images=0",
      "data.synthetic.classes=0",
      "train.loss_scale.init=0",
      "train.loss_scale.growth_interval=0",
      "train.loss_scale.growth_factor=1",
      "train.loss_scale.backoff_factor=1",
      "train.loss_scale.backoff_factor=0",
      "train.loss_scale.min=0",
      "optimizer.lr.base=0",
      "optimizer.lr.warmup_epochs=-1",
      "optimizer.lr.warmup_start=1.5",
      "optimizer.lr.poly_power=0",
      "optimizer.lr.step_gamma=0",
      "optimizer.lr.step_gamma=1.5",
      "optimizer.lr.min=-1",
      "optimizer.momentum=1",
      "optimizer.weight_decay=-1e-4",
      "optimizer.lars.eta=0",
      "optimizer.lars.epsilon=-1",
      "comm.group_size=-1",
      "comm.fusion_bytes=-1",
      "comm.fusion_bytes=fast",
      "comm.timeout_s=0",
      "train.threads=3000000000",
      "data.image.size=0",
      "data.image.scale=[0.5,0.1]",
      "data.image.ratio=[1]",
      "data.image.mean=[0.5,0.5]",
      "data.image.resize=0",
      "data.skip_corrupt=1",
  };
  for (const std::string& assignment : cases) {
    const std::string path = assignment.substr(0, assignment.find('='));
    const Failure f = set_failure(assignment);
    EXPECT_EQ(f.path, path) << assignment;
    EXPECT_EQ(f.message.rfind("spec error: " + path + ": expected ", 0), 0u)
        << assignment << " -> " << f.message;
    EXPECT_EQ(f.message.find('\n'), std::string::npos) << f.message;
  }
}

TEST(Spec, OutOfRangeExactMessages) {
  EXPECT_EQ(set_failure("train.label_smoothing=1").message,
            "spec error: train.label_smoothing: expected a number in [0, 1), got 1");
  EXPECT_EQ(set_failure("train.loss_scale.backoff_factor=1.5").message,
            "spec error: train.loss_scale.backoff_factor: expected a number in (0, 1), got 1.5");
  EXPECT_EQ(set_failure("train.threads=3000000000").message,
            "spec error: train.threads: expected an integer in [0, 4096], got 3000000000");
  EXPECT_EQ(set_failure("train.seed=-1").message,
            "spec error: train.seed: expected an integer >= 0, got -1");
}

TEST(Spec, ImageIntervalsAndChannelsExactMessages) {
  EXPECT_EQ(set_failure("data.image.scale=[0.5,0.1]").message,
            "spec error: data.image.scale: expected [low, high] with low <= high, got [0.5,0.1]");
  EXPECT_EQ(set_failure("data.image.mean=[0.5]").message,
            "spec error: data.image.mean: expected 3 numbers (R, G, B), got [0.5]");
}

TEST(Spec, LossScaleMaxBelowMin) {
  const Failure f = spec_failure(document_with({"train.loss_scale.max=0.5"}));
  EXPECT_EQ(f.message, "spec error: train.loss_scale.max: expected a number >= min (1), got 0.5");
}

TEST(Spec, BoundaryValuesAreAccepted) {
  const Spec s = parse_spec(document_with({
      "train.label_smoothing=0",
      "optimizer.lr.warmup_start=1",
      "optimizer.lr.step_gamma=1",
      "optimizer.momentum=0",
      "train.checkpoint_every_epochs=0",
      "comm.fusion_bytes=1e6",
      "train.seed=18446744073709551615",
      "train.loss_scale.max=1",
      "train.epochs=0.01",
  }));
  EXPECT_EQ(s.comm.fusion_bytes, 1000000);  // an integral float is an integer
  EXPECT_FALSE(parse_spec(document_with({"comm.fusion_bytes=0", "comm.fusion_bytes=auto"}))
                   .comm.fusion_bytes.has_value());
  EXPECT_EQ(s.train.seed, 18446744073709551615ull);
  EXPECT_DOUBLE_EQ(s.train.loss_scale.max, 1);
}

TEST(Spec, BadEnumValues) {
  EXPECT_EQ(set_failure("train.precision=fp8").message,
            R"(spec error: train.precision: expected one of "fp32", "fp16", got "fp8")");
  EXPECT_EQ(
      set_failure("comm.algorithm=tree").message,
      R"(spec error: comm.algorithm: expected one of "mpi", "ring", "hierarchical", )"
      R"("torus2d", "auto", "halving_doubling", "nccl_ring", "nccl_tree", "nccl", got "tree")");
  const std::vector<std::string> keys = {"device",
                                         "model.name",
                                         "data.dataset",
                                         "train.loss_scale.mode",
                                         "optimizer.lr.decay",
                                         "optimizer.name",
                                         "train.conv_algorithm"};
  for (const std::string& key : keys) {
    EXPECT_EQ(set_failure(key + "=bogus").path, key);
    EXPECT_NE(set_failure(key + "=bogus").message.find(R"(got "bogus")"), std::string::npos);
  }
}

TEST(Spec, BadArrayElementNamesItsIndex) {
  EXPECT_EQ(set_failure("optimizer.lr.step_epochs=[10, 20, -1]").message,
            "spec error: optimizer.lr.step_epochs[2]: expected a number in [0, 1000000], got -1");
  EXPECT_EQ(set_failure(R"(optimizer.lr.step_epochs=["a"])").path, "optimizer.lr.step_epochs[0]");
  EXPECT_EQ(set_failure("optimizer.lr.step_epochs=[30, 20]").message,
            "spec error: optimizer.lr.step_epochs[1]: expected a number > the previous element "
            "(30), got 20");
  EXPECT_EQ(set_failure("optimizer.lr.step_epochs=[30, 30]").path, "optimizer.lr.step_epochs[1]");
}

TEST(Override, MalformedAssignments) {
  json document = json::object();
  try {
    apply_override(document, "abc");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), R"(--set "abc": expected KEY.PATH=VALUE)");
  }
  for (const std::string bad : {"=3", "a..b=1", ".a=1", "a.=1", ""}) {
    try {
      apply_override(document, bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()), "--set " + json(bad).dump() + ": expected KEY.PATH=VALUE");
    }
  }
  EXPECT_EQ(document, json::object());
}

TEST(Override, ThroughANonObjectIsAnInputError) {
  json document = {{"train", {{"epochs", 3}}}};
  EXPECT_THROW(apply_override(document, "train.epochs.x=1"), InputError);
  try {
    apply_override(document, "train.epochs.x=1");
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("train.epochs"), std::string::npos) << e.what();
  }
}

TEST(Override, ValuesParseAsJsonElseAsStrings) {
  json document = {{"train", {{"epochs", 3}}}};
  apply_override(document, "train.epochs=2.5");
  apply_override(document, "optimizer.name=sgd");
  apply_override(document, R"(name="123")");
  apply_override(document, "comm.overlap=false");
  apply_override(document, "optimizer.lr.step_epochs=[1,2]");
  apply_override(document, "data.dir=/a=b");
  EXPECT_EQ(document["train"]["epochs"], 2.5);
  EXPECT_EQ(document["optimizer"]["name"], "sgd");
  EXPECT_EQ(document["name"], "123");
  EXPECT_EQ(document["comm"]["overlap"], false);
  EXPECT_EQ(document["optimizer"]["lr"]["step_epochs"], json::array({1, 2}));
  EXPECT_EQ(document["data"]["dir"], "/a=b");
  const Spec spec = parse_spec(document);
  EXPECT_DOUBLE_EQ(spec.train.epochs, 2.5);
  EXPECT_EQ(spec.name, "123");
}

TEST(Override, AppliedByLoadSpecAndRecordedInSource) {
  const Spec spec =
      load_spec(kDefaultExperiment, {"train.global_batch=1024", "optimizer.lars.clip=true"});
  EXPECT_EQ(spec.train.global_batch, 1024);
  EXPECT_TRUE(spec.optimizer.lars.clip);
  EXPECT_EQ(spec.source["train"]["global_batch"], 1024);
  EXPECT_EQ(spec.model.name, "lenet_bn");  // the file's other keys survive
}

TEST(Override, UnknownKeyIsRejectedByTheParser) {
  try {
    load_spec(kDefaultExperiment, {"train.epoch=3"});
    FAIL() << "no error";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "train.epoch");
    EXPECT_EQ(std::string(e.what()).rfind("spec error: train.epoch: unknown key", 0), 0u);
  }
}

TEST(LoadSpec, MissingFile) {
  EXPECT_EQ(input_error("/nonexistent/spec.json"),
            "spec error: /nonexistent/spec.json: cannot open");
  EXPECT_EQ(input_error(::testing::TempDir()),
            "spec error: " + ::testing::TempDir() + ": cannot open");
}

TEST(LoadSpec, InvalidJsonNamesFileAndPosition) {
  const TempFile file("bad.json", "{\n  \"train\": {\"epochs\": }\n}\n");
  const std::string message = input_error(file.path());
  EXPECT_EQ(message.rfind("spec error: " + file.path().string() + ": invalid JSON: ", 0), 0u)
      << message;
  EXPECT_NE(message.find("line 2, column"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(message.find("json.exception"), std::string::npos) << message;
}

TEST(LoadSpec, TopLevelMustBeAnObject) {
  const TempFile file("array.json", "[1, 2]");
  EXPECT_EQ(input_error(file.path()), "spec error: " + file.path().string() +
                                          ": expected a JSON object at the top level, got [1,2]");
}

TEST(LoadSpec, BadValueInFileIsASpecError) {
  const TempFile file("range.json", R"({"train": {"epochs": -1}})");
  EXPECT_THROW(load_spec(file.path()), SpecError);
  EXPECT_EQ(input_error(file.path()),
            "spec error: train.epochs: expected a number in (0, 1000000], got -1");
}

// Issue 17, items 3, 9, 13 and 15: every count a run derives from a spec
// (steps, intervals, image and buffer sizes, threads) is bounded, so none can
// overflow, and the loss scale stays finite as a float.
TEST(Spec, CountsAreBoundedSoDerivedIntegersCannotOverflow) {
  const std::pair<std::string, std::string> cases[] = {
      {"train.epochs=1e308", "train.epochs"},
      {"train.eval_every_epochs=1e308", "train.eval_every_epochs"},
      {"train.checkpoint_every_epochs=1e308", "train.checkpoint_every_epochs"},
      {"optimizer.lr.warmup_epochs=1e308", "optimizer.lr.warmup_epochs"},
      {"optimizer.lr.step_epochs=[1,1e308]", "optimizer.lr.step_epochs[1]"},
      {"train.threads=100000", "train.threads"},
      {"data.workers=100000", "data.workers"},
      {"data.prefetch=2000000000", "data.prefetch"},
      {"data.synthetic.height=1000000000", "data.synthetic.height"},
      {"data.synthetic.channels=100000", "data.synthetic.channels"},
      {"data.synthetic.classes=2000000000", "data.synthetic.classes"},
      {"data.synthetic.train_images=9e18", "data.synthetic.train_images"},
      {"data.augment.crop_padding=2000000000", "data.augment.crop_padding"},
      {"train.global_batch=9e18", "train.global_batch"},
      {"train.bn_recalibration_images=9e18", "train.bn_recalibration_images"},
      {"train.loss_scale.init=1e39", "train.loss_scale.init"},
      {"train.loss_scale.max=1e300", "train.loss_scale.max"},
  };
  for (const auto& [assignment, path] : cases)
    EXPECT_EQ(set_failure(assignment).path, path) << assignment;
  for (const char* ok :
       {"train.epochs=1000000", "train.threads=4096", "train.loss_scale.init=1.8446744073709552e19",
        "data.prefetch=1024", "data.synthetic.height=65535"}) {
    EXPECT_EQ(set_failure(ok).path, "") << ok;
  }
}

// The reader is shared with other config sections; pin its contract directly.
TEST(ObjectReader, TakeAndChildOfAbsentKeys) {
  const json object = {{"a", {{"b", 1}}}, {"raw", {1, "x"}}};
  ObjectReader reader(object, "cluster");
  EXPECT_EQ(*reader.take("raw"), json({1, "x"}));
  EXPECT_EQ(reader.take("missing"), nullptr);
  ObjectReader absent = reader.child("absent");
  EXPECT_EQ(absent.path(), "cluster.absent");
  absent.finish();  // an absent section is an empty object
  ObjectReader a = reader.child("a");
  EXPECT_THROW(a.finish(), SpecError);  // nobody asked for "b"
  reader.finish();
}

TEST(ObjectReader, LongValuesAreCutInMessages) {
  const json object = {{"x", std::string(200, 'z')}};
  ObjectReader reader(object, "");
  try {
    double value = 0;
    reader.read("x", value);
    FAIL() << "no error";
  } catch (const SpecError& e) {
    EXPECT_LT(std::string(e.what()).size(), 120u) << e.what();
    EXPECT_NE(std::string(e.what()).find("..."), std::string::npos);
  }
}

}  // namespace
}  // namespace lb
