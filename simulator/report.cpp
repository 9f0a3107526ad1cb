#include "simulator/report.hpp"

#include <cstdio>
#include <sstream>

namespace lb::sim {
namespace {

std::string format(const char* pattern, double a, double b = 0, double c = 0, double d = 0) {
  char text[512];
  std::snprintf(text, sizeof text, pattern, a, b, c, d);
  return text;
}

std::string network_note(const Scenario& s) {
  const ClusterSpec& c = s.spec.cluster;
  return "network: " + to_string(c.topology) + ", " + std::to_string(c.gpus_per_node) +
         " GPUs and " + std::to_string(c.nics_per_node) + " NIC(s) per node (NIC traffic via " +
         to_string(c.nic_path) + "), intra " +
         format("%g Gbit/s %g us", c.intra.bandwidth_gbps, c.intra.latency_us) + ", NIC " +
         format("%g Gbit/s %g us", c.nic.bandwidth_gbps, c.nic.latency_us) +
         "; flows share links max-min (flow model)";
}

std::string input_note(const Scenario& s) {
  const ClusterModel& c = s.cluster;
  if (c.input_images_per_s <= 0 && c.node_input_images_per_s <= 0) {
    return "input pipeline: not modelled (data is never late)";
  }
  return "input pipeline: " + format("%g images/s per GPU, %g per node (0 = no limit)",
                                     c.input_images_per_s, c.node_input_images_per_s);
}

std::string straggler_note(const Scenario& s) {
  std::string note =
      "stragglers: compute cv " + format("%.3f", s.compute_cv) + " (" + s.compute_cv_source + ")";
  if (s.compute_cv_measured && s.compute.shared_cores_load > 1) {
    if (s.compute.shared_cores_wait_s > 0) {
      note += format(
          ", or a measured wait of %.1f ms a step above one thread per core (ranks "
          "time-sliced on shared cores; measured at %.2f)",
          s.compute.shared_cores_wait_s * 1e3, s.compute.shared_cores_load);
    } else {
      note += format(
          ", or %.3f above one thread per core (ranks time-sliced on shared cores; "
          "measured at %.2f)",
          s.compute.shared_cores_cv, s.compute.shared_cores_load);
    }
  }
  return note + " x E[max of N normals]";
}

std::vector<std::string> notes(const Scenario& s) {
  std::vector<std::string> n{
      "compute: " + s.compute.source,
      "overhead: " + format("%.2f ms/step fixed inside compute", 1e3 * s.compute.fixed_s()) +
          " (the compute model's batch-independent part: kernel launches, "
          "framework) + cluster.step_overhead_s " +
          format("%g s", s.spec.cluster.step_overhead_s),
      "optimizer: " + format("%.2f ms/step", 1e3 * s.compute.optimizer_s),
      straggler_note(s),
      network_note(s),
      input_note(s)};
  if (s.cluster.is_gpu_cluster()) {
    n.push_back("interference: an all-reduce takes cluster.comm_memory_passes " +
                format("(%g) x the bytes a GPU sends and receives / %g GB/s of device memory, "
                       "at most half the device, while it runs (estimated)",
                       s.spec.cluster.comm_memory_passes, s.device.memory_gbps));
  } else if (s.cluster.comm_cpu.modelled()) {
    n.push_back(
        format("interference: each all-reduce's CPU work (%g us + %g ns per byte, "
               "and %g us of compute its wakes disturb; calibrated) shares the rank's "
               "cores with compute; co-run factor %g",
               s.cluster.comm_cpu.per_call_s * 1e6, s.cluster.comm_cpu.per_byte_s * 1e9,
               s.cluster.comm_cpu.disturbance_s * 1e6, s.compute.co_run_factor));
  } else {
    n.push_back(
        "interference: none modelled (CPU ranks without a calibrated communication CPU "
        "cost: the co-run factor of the calibration)");
  }
  return n;
}

void row_warnings(const Scenario& s, const ScalingRow& r, std::vector<std::string>& w) {
  const int g = s.cluster.gpus_per_node;
  if (r.gpus % g != 0 && r.gpus > g) {
    w.push_back(std::to_string(r.gpus) + " GPUs: " + std::to_string(r.gpus / g) +
                " full nodes of " + std::to_string(g) + " and a partial one of " +
                std::to_string(r.gpus % g));
  }
  if (r.extrapolated && s.compute.measured_min_batch > 0) {
    w.push_back(std::to_string(r.gpus) + " GPUs: " + std::to_string(r.per_gpu_batch) +
                " images per GPU is far outside the measured batches " +
                format("%g-%g", s.compute.measured_min_batch, s.compute.measured_max_batch) +
                ": the compute time is extrapolated");
  }
  if (!r.fits_memory) {
    w.push_back(
        std::to_string(r.gpus) + " GPUs: " + std::to_string(r.per_gpu_batch) +
        " images per GPU need about " + format("%.1f GiB, the ", r.memory_gib) + s.device.name +
        format(" has %g GiB: does not fit (--require-fit refuses it)", s.device.memory_gib));
  }
  if (!s.auto_rules.empty() && !r.auto_calibrated && r.gpus > 1) {
    w.push_back(std::to_string(r.gpus) + " GPUs: comm.auto_calibration " + s.auto_calibration_file +
                " was measured with " + std::to_string(s.auto_ranks) + " ranks in groups of " +
                std::to_string(s.auto_group_size) + ": auto uses comm.auto_small_bytes here");
  }
}

}  // namespace

Report make_report(const Scenario& s, const std::vector<ScalingRow>& rows) {
  Report r{notes(s), s.compute.warnings};
  if (s.compute.measured_min_batch <= 0) {
    r.warnings.push_back("no measured throughput of " + s.model.name + " " +
                         std::string(to_string(s.spec.train.precision)) + " on " + s.device.name +
                         ": every row rests on an assumed efficiency");
  }
  if (!s.spec.cluster.present)
    r.warnings.push_back("the spec has no cluster section: defaults in use");
  if (s.cluster.is_gpu_cluster() && s.cluster.input_images_per_s <= 0 &&
      s.cluster.node_input_images_per_s <= 0) {
    r.warnings.push_back(
        "cluster.input_images_per_s and cluster.node_input_images_per_s are unset: "
        "a real input pipeline (JPEG decode, augmentation) may be slower than the GPUs");
  }
  for (const auto& row : rows) row_warnings(s, row, r.warnings);
  return r;
}

std::string table(const Scenario& s, const std::vector<ScalingRow>& rows, const Report& report,
                  double price) {
  std::ostringstream out;
  out << "# " << s.spec.name << ": " << s.model.name << ", global batch "
      << s.spec.train.global_batch << ", " << s.spec.train.epochs << " epochs, " << s.device.name
      << ", " << to_string(s.spec.comm.algorithm) << " all-reduce, fusion "
      << (s.spec.comm.fusion_bytes
              ? std::to_string(*s.spec.comm.fusion_bytes) + " B"
              : std::string("auto (per GPU count: fusion_bytes in the JSON rows)"))
      << "\n";
  for (const auto& n : report.notes) out << "# " << n << "\n";
  for (const auto& w : report.warnings) out << "# warning: " << w << "\n";
  char line[512];
  std::snprintf(line, sizeof line,
                "%7s %8s %11s %12s %6s %9s %9s %9s %9s %9s %9s %9s %9s %10s %10s%s\n", "gpus",
                "batch/gpu", "iteration_s", "images/s", "eff", "compute_s", "exposed_s", "overhd_s",
                "strag_s", "intf_s", "optim_s", "data_s", "mem_GiB", "train_min", "gpu_hours",
                price > 0 ? "       cost" : "");
  std::string text = out.str() + line;
  for (const auto& r : rows) {
    std::snprintf(
        line, sizeof line,
        "%7d %8lld %11.5f %12.1f %5.1f%% %9.5f %9.5f %9.5f %9.5f %9.5f %9.5f %9.5f %8.1f%s "
        "%10.2f %10.1f",
        r.gpus, (long long)r.per_gpu_batch, r.iteration_s, r.images_per_s, 100 * r.efficiency,
        r.compute_s, r.exposed_comm_s, r.overhead_s, r.straggler_s, r.interference_s, r.optimizer_s,
        r.data_wait_s, r.memory_gib, r.fits_memory ? " " : "!", r.time_to_train_s / 60,
        r.gpu_hours);
    text += line;
    if (price > 0) {
      std::snprintf(line, sizeof line, " %10.0f", r.cost);
      text += line;
    }
    text += r.extrapolated ? "  (extrapolated)\n" : "\n";
  }
  return text;
}

std::string csv(const std::vector<ScalingRow>& rows) {
  std::ostringstream out;
  out << "gpus,global_batch,per_gpu_batch,iteration_s,images_per_s,efficiency,compute_s,comm_s,"
         "exposed_comm_s,data_wait_s,optimizer_s,overhead_s,straggler_s,interference_s,steps,"
         "time_to_train_s,gpu_hours,cost,memory_gib,fits_memory,extrapolated,buckets\n";
  for (const auto& r : rows) {
    out << r.gpus << ',' << r.global_batch << ',' << r.per_gpu_batch << ',' << r.iteration_s << ','
        << r.images_per_s << ',' << r.efficiency << ',' << r.compute_s << ',' << r.comm_s << ','
        << r.exposed_comm_s << ',' << r.data_wait_s << ',' << r.optimizer_s << ',' << r.overhead_s
        << ',' << r.straggler_s << ',' << r.interference_s << ',' << r.steps << ','
        << r.time_to_train_s << ',' << r.gpu_hours << ',' << r.cost << ',' << r.memory_gib << ','
        << (r.fits_memory ? "true" : "false") << ',' << (r.extrapolated ? "true" : "false") << ','
        << r.buckets << '\n';
  }
  return out.str();
}

nlohmann::json scaling_document(const Scenario& s, const std::vector<ScalingRow>& rows,
                                const Report& report, double price) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : rows) results.push_back(to_json(r));
  const nlohmann::json spec = to_json(s.spec);
  return {{"model", s.model.name},
          {"global_batch", s.spec.train.global_batch},
          {"epochs", s.spec.train.epochs},
          {"train_images", s.model.train_images},
          {"precision", to_string(s.spec.train.precision)},
          {"comm", spec.at("comm")},
          {"cluster", spec.at("cluster")},
          {"cluster_is_default", !s.spec.cluster.present},
          {"device",
           {{"name", s.device.name}, {"file", s.device.file}, {"memory_gib", s.device.memory_gib}}},
          {"compute_model", s.compute.source},
          {"price_per_gpu_hour", price},
          {"notes", report.notes},
          {"warnings", report.warnings},
          {"results", results}};
}

}  // namespace lb::sim
