#include "runtime/trace/trace_writer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace lb {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const fs::path& file) {
  std::ifstream in(file);
  return nlohmann::json::parse(in);  // throws if the file is not valid JSON
}

TEST(TraceWriter, FileIsAValidEventArrayAfterEveryFlush) {
  const fs::path file =
      fs::temp_directory_path() / ("lb_trace_" + std::to_string(::getpid()) + ".json");
  {
    TraceWriter trace(file, 3);
    EXPECT_TRUE(read_json(file).is_array());
    trace.complete("conv1 forward", "forward", 10, 5, 0);
    trace.complete("bucket 0", "allreduce", 12, 7, 1, {{"bytes", 4096}, {"algorithm", "ring"}});
    trace.flush();
    auto events = read_json(file);
    ASSERT_EQ(events.size(), 6u);  // the process name, 3 thread names, 2 events
    EXPECT_EQ(events[4]["name"], "conv1 forward");
    EXPECT_EQ(events[4]["pid"], 3);
    EXPECT_EQ(events[5]["args"]["algorithm"], "ring");
    trace.complete("step", "train", 30, 1, 0);
    trace.flush();
    EXPECT_EQ(read_json(file).size(), 7u);
    trace.complete("unflushed", "train", 40, 1, 0);
    EXPECT_EQ(read_json(file).size(), 7u);  // a kill here loses only this event
  }
  EXPECT_EQ(read_json(file).size(), 8u);  // the destructor flushes
  fs::remove(file);
}

// Two writers of one host (two ranks) share the steady clock: an event's
// ts plus its file's clock_origin_ns / 1000 is one time line for both.
TEST(TraceWriter, ProcessNameCarriesTheHostAndWhereItsTimesStart) {
  const fs::path a =
      fs::temp_directory_path() / ("lb_trace_a_" + std::to_string(::getpid()) + ".json");
  const fs::path b =
      fs::temp_directory_path() / ("lb_trace_b_" + std::to_string(::getpid()) + ".json");
  std::int64_t origin_a = 0, origin_b = 0;
  double b_now_us = 0, a_now_us = 0;
  {
    TraceWriter first(a, 0);
    ::usleep(20'000);
    TraceWriter second(b, 1);
    a_now_us = first.now_us();
    b_now_us = second.now_us();
  }
  const auto ea = read_json(a)[0], eb = read_json(b)[0];
  EXPECT_EQ(ea["name"], "process_name");
  EXPECT_EQ(ea["ph"], "M");
  EXPECT_EQ(ea["args"]["name"], "rank 0");
  EXPECT_EQ(eb["args"]["name"], "rank 1");
  EXPECT_FALSE(ea["args"]["host"].get<std::string>().empty());
  EXPECT_EQ(ea["args"]["host"], eb["args"]["host"]);
  origin_a = ea["args"]["clock_origin_ns"].get<std::int64_t>();
  origin_b = eb["args"]["clock_origin_ns"].get<std::int64_t>();
  EXPECT_GE(origin_b - origin_a, 20'000'000);  // the second began at least 20 ms later
  // The same instant read through both writers lines up on the shared clock.
  EXPECT_NEAR(a_now_us + double(origin_a) / 1e3, b_now_us + double(origin_b) / 1e3, 1'000);
  fs::remove(a);
  fs::remove(b);
}

}  // namespace
}  // namespace lb
