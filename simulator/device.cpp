#include "simulator/device.hpp"

#include <algorithm>
#include <set>

#include "runtime/core/errors.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb::sim {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A profile name is a file stem: letters, digits, '-' and '_' (so
// "../name" or "/etc/x" can never reach a file outside the directories).
bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

std::string known_devices(const std::vector<std::filesystem::path>& dirs) {
  std::set<std::string> names;
  for (const auto& dir : dirs) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".json") names.insert(entry.path().stem().string());
    }
  }
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text.empty() ? "none" : text;
}

MeasuredThroughput read_measured(ObjectReader r) {
  MeasuredThroughput m;
  r.read("model", m.model);
  r.read_choice("precision", m.precision, {"fp32", "fp16"});
  r.read("images_per_s", m.images_per_s, NumberRange::closed(1e-3, 1e9));
  r.read("per_gpu_batch", m.per_gpu_batch, NumberRange::closed(1, 1e9));
  r.read("source", m.source);
  r.finish();
  return m;
}

DeviceProfile parse_device(const nlohmann::json& doc) {
  DeviceProfile d;
  ObjectReader r(doc, "");
  r.read("name", d.name);
  const NumberRange tflops = NumberRange::closed(1e-3, 1e6);
  r.read("fp32_tflops", d.fp32_tflops, tflops);
  r.read("fp16_tflops", d.fp16_tflops, tflops);
  r.read("tf32_tflops", d.tf32_tflops, NumberRange::closed(0, 1e6));
  r.read("memory_gbps", d.memory_gbps, NumberRange::closed(1e-3, 1e7));
  r.read("memory_gib", d.memory_gib, NumberRange::closed(1e-3, 1e6));
  r.read("efficiency", d.efficiency, NumberRange::open_closed(0, 1));
  r.read("kernel_overhead_us", d.kernel_overhead_us, NumberRange::closed(0, 1e6));
  if (const auto* list = r.take("measured")) {
    if (!list->is_array()) throw SpecError(r.path_of("measured"), "expected an array");
    for (std::size_t i = 0; i < list->size(); ++i) {
      d.measured.push_back(
          read_measured(ObjectReader((*list)[i], index_path(r.path_of("measured"), i))));
    }
  }
  r.take("notes");
  r.finish();
  if (d.fp32_tflops == 0 || d.fp16_tflops == 0 || d.memory_gbps == 0 || d.memory_gib == 0) {
    throw SpecError("fp32_tflops",
                    "fp32_tflops, fp16_tflops, memory_gbps and memory_gib are required");
  }
  return d;
}

}  // namespace

std::filesystem::path default_devices_dir() { return LB_DEVICES_DIR; }

DeviceProfile load_device(const std::vector<std::filesystem::path>& dirs, const std::string& name) {
  if (!plain_name(name)) {
    throw SpecError("cluster.gpu", "expected a device name (letters, digits, '-', '_'), got \"" +
                                       name.substr(0, 60) + "\"");
  }
  for (const auto& dir : dirs) {
    const auto file = dir / (lower(name) + ".json");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) continue;
    DeviceProfile d;
    try {
      d = parse_device(read_json_file(file, "device"));
    } catch (const SpecError& e) {
      throw InputError("device error: " + file.string() + ": " + spec_error_detail(e));
    }
    d.file = file.string();
    return d;
  }
  throw SpecError("cluster.gpu", "unknown GPU \"" + name + "\"; known: " + known_devices(dirs));
}

}  // namespace lb::sim
