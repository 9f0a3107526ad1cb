// lb-input-bench: largebatch's JPEG input pipeline, timed; the largebatch
// side of bench/input_compare.py (torchvision's is bench/input_torch.py).
// One JSON line per run.
//
//   lb-input-bench pipeline --root DIR --workers 2 --batch 64 --batches 40
//   lb-input-bench decode --root DIR --threads 2 --images 1000
//   lb-input-bench index --root DIR
//
// pipeline: ImageFolder DIR/train through JpegSource (decode at the DCT
// scale the crop needs, random-resized crop, flip, normalise to 3x224x224)
// and BatchPrefetcher with N worker threads, as lb-train runs it; the first
// batch is not timed. decode: libjpeg-turbo's bare full-size decode to RGB
// of the same files, read into memory first: the ceiling. index: the time to
// list DIR/train. Exit codes: 0 success, 2 bad input, 1 runtime failure.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/core/errors.hpp"
#include "runtime/data/batch_loader.hpp"
#include "runtime/data/image_index.hpp"
#include "runtime/data/jpeg_decoder.hpp"
#include "runtime/data/jpeg_source.hpp"
#include "runtime/train/batch_prefetcher.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Args {
  std::string root;
  int workers = 1;
  std::int64_t batch = 64;
  std::int64_t batches = 40;
  std::int64_t images = 1000;
  int size = 224;
  std::uint64_t seed = 1;
};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// User + system CPU time of the process (all threads) so far: on a shared
// machine images per CPU-second is steadier than images per second.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto s = [](timeval t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

lb::ImageIndex train_index(const Args& a) {
  return lb::index_image_folder(std::filesystem::path(a.root) / "train", {}, false);
}

json run_pipeline(const Args& a) {
  lb::ImageSpec image;
  image.size = a.size;
  auto source = std::make_shared<lb::JpegSource>(train_index(a),
                                                 lb::JpegSourceOptions{image, true, false, false});
  lb::LoaderOptions options;
  options.global_batch = a.batch;
  options.augment = true;
  options.seed = a.seed;
  lb::BatchLoader loader(source, options);
  lb::BatchPrefetcher prefetcher(loader, 0, a.batches + 1, 4, a.workers);
  double waited = 0;
  prefetcher.next(0, waited);  // threads started, caches warm
  const double cpu_start = cpu_seconds();
  const auto start = Clock::now();
  for (std::int64_t step = 1; step <= a.batches; ++step) prefetcher.next(step, waited);
  const double seconds = seconds_since(start), cpu = cpu_seconds() - cpu_start;
  const double images = double(a.batches * a.batch);
  return {{"mode", "pipeline"}, {"workers", a.workers},
          {"batch", a.batch},   {"images", images},
          {"seconds", seconds}, {"images_per_s", images / seconds},
          {"cpu_s", cpu},       {"images_per_cpu_s", images / cpu}};
}

std::vector<std::vector<std::uint8_t>> read_files(const lb::ImageIndex& index, std::int64_t count) {
  std::vector<std::vector<std::uint8_t>> files;
  for (std::int64_t i = 0; i < count && i < std::int64_t(index.records.size()); ++i) {
    std::ifstream in(index.files[index.records[std::size_t(i)].file], std::ios::binary);
    files.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return files;
}

json run_decode(const Args& a) {
  const auto files = read_files(train_index(a), a.images);
  std::atomic<std::size_t> next{0};
  std::atomic<std::int64_t> pixels{0};
  auto work = [&] {
    lb::JpegDecoder decoder;
    lb::RgbImage image;
    for (std::size_t i; (i = next.fetch_add(1)) < files.size();) {
      decoder.decode(files[i], decoder.header(files[i]), 0, 0, image);
      pixels += std::int64_t(image.width) * image.height;
    }
  };
  const double cpu_start = cpu_seconds();
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < a.workers; ++t) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  const double seconds = seconds_since(start), cpu = cpu_seconds() - cpu_start;
  return {{"mode", "decode"},
          {"workers", a.workers},
          {"images", files.size()},
          {"seconds", seconds},
          {"images_per_s", double(files.size()) / seconds},
          {"cpu_s", cpu},
          {"images_per_cpu_s", double(files.size()) / cpu},
          {"mean_pixels", double(pixels.load()) / double(files.size())}};
}

json run_index(const Args& a) {
  const auto start = Clock::now();
  const lb::ImageIndex index = train_index(a);
  const double seconds = seconds_since(start);
  return {{"mode", "index"},
          {"files", index.records.size()},
          {"classes", index.classes},
          {"seconds", seconds},
          {"files_per_s", double(index.records.size()) / seconds}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lb-input-bench: largebatch's JPEG input pipeline, timed (bench/README.md)"};
  app.require_subcommand(1);
  Args a;
  auto common = [&](CLI::App* c) {
    c->add_option("--root", a.root, "ImageFolder root (ROOT/train/CLASS/*.jpg)")->required();
  };
  CLI::App* pipeline = app.add_subcommand(
      "pipeline", "decode + random-resized crop + flip + normalise, N worker threads");
  common(pipeline);
  pipeline->add_option("--workers", a.workers, "input worker threads")->check(CLI::PositiveNumber);
  pipeline->add_option("--batch", a.batch, "images per batch")->check(CLI::PositiveNumber);
  pipeline->add_option("--batches", a.batches, "timed batches (after one untimed)")
      ->check(CLI::PositiveNumber);
  pipeline->add_option("--size", a.size, "output side in pixels")->check(CLI::PositiveNumber);
  pipeline->add_option("--seed", a.seed, "augmentation seed");
  CLI::App* decode =
      app.add_subcommand("decode", "libjpeg-turbo's bare full-size decode of the same files");
  common(decode);
  decode->add_option("--threads", a.workers, "decoding threads")->check(CLI::PositiveNumber);
  decode->add_option("--images", a.images, "images (the first N of the index)")
      ->check(CLI::PositiveNumber);
  CLI::App* index = app.add_subcommand("index", "time listing ROOT/train");
  common(index);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "lb-input-bench: " << e.what() << " (see --help)\n";
    return 2;
  }
  try {
    json row = pipeline->parsed() ? run_pipeline(a)
               : decode->parsed() ? run_decode(a)
                                  : run_index(a);
    row["impl"] = "largebatch";
    std::cout << row.dump() << std::endl;
    return 0;
  } catch (const lb::InputError& e) {
    std::cerr << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "lb-input-bench: error: " << e.what() << '\n';
    return 1;
  }
}
