#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/trace/trace_writer.hpp"

namespace lb {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const fs::path& file) {
  std::ifstream in(file);
  return nlohmann::json::parse(in);  // throws if the file is not valid JSON
}

TEST(TraceWriter, FileIsAValidEventArrayAfterEveryFlush) {
  const fs::path file = fs::temp_directory_path() / ("lb_trace_" + std::to_string(::getpid()) + ".json");
  {
    TraceWriter trace(file, 3);
    EXPECT_TRUE(read_json(file).is_array());
    trace.complete("conv1 forward", "forward", 10, 5, 0);
    trace.complete("bucket 0", "allreduce", 12, 7, 1, {{"bytes", 4096}, {"algorithm", "ring"}});
    trace.flush();
    auto events = read_json(file);
    ASSERT_EQ(events.size(), 5u);  // 3 thread names + 2 events
    EXPECT_EQ(events[3]["name"], "conv1 forward");
    EXPECT_EQ(events[3]["pid"], 3);
    EXPECT_EQ(events[4]["args"]["algorithm"], "ring");
    trace.complete("step", "train", 30, 1, 0);
    trace.flush();
    EXPECT_EQ(read_json(file).size(), 6u);
    trace.complete("unflushed", "train", 40, 1, 0);
    EXPECT_EQ(read_json(file).size(), 6u);  // a kill here loses only this event
  }
  EXPECT_EQ(read_json(file).size(), 7u);  // the destructor flushes
  fs::remove(file);
}

}  // namespace
}  // namespace lb
