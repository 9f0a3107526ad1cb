// Issue 17, items 1, 13 and 16: JSON a user hands the project is parsed
// strictly, and no value, however deep or large, crashes an error message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/core/errors.hpp"
#include "runtime/core/json_reader.hpp"
#include "runtime/core/spec.hpp"

namespace lb {
namespace {

using json = nlohmann::json;

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  const auto path =
      std::filesystem::path(::testing::TempDir()) / (std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path;
}

std::string load_error(const std::filesystem::path& file,
                       const std::vector<std::string>& overrides = {}) {
  try {
    load_spec(file, overrides);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

// 50,000 levels: enough to overflow the stack of anything that recurses.
std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(StrictJson, DeeplyNestedSpecFileIsAnInputErrorNotACrash) {
  const auto file = write_temp("deep.json", R"({"name": )" + nested_arrays(50'000) + "}");
  const std::string message = load_error(file);
  EXPECT_EQ(
      message.rfind(
          "spec error: " + file.string() + ": invalid JSON: nested deeper than 256 levels", 0),
      0u)
      << message;
  std::filesystem::remove(file);
}

TEST(StrictJson, DeeplyNestedSetValueOrKeyPathIsAnInputErrorNotACrash) {
  const auto file = write_temp("empty.json", "{}");
  EXPECT_NE(load_error(file, {"name=" + nested_arrays(50'000)}).find("nested deeper than"),
            std::string::npos);
  std::string keys = "a";
  for (int i = 0; i < 50'000; ++i) keys += ".a";
  EXPECT_NE(load_error(file, {keys + "=1"}).find("KEY.PATH nests deeper than 256 levels"),
            std::string::npos);
  // At the limit the value is still a value (and a type error, cut short).
  EXPECT_NE(load_error(file, {"name=" + nested_arrays(200)})
                .find("spec error: name: expected a string, got [[[["),
            std::string::npos);
  std::filesystem::remove(file);
}

TEST(StrictJson, BriefOfAnArbitrarilyDeepValueIsShortAndSafe) {
  json deep = 1;
  for (int i = 0; i < 100'000; ++i) {
    json wrapper = json::array();
    wrapper.push_back(std::move(deep));
    deep = std::move(wrapper);
  }
  EXPECT_EQ(brief(deep), std::string(57, '[') + "...");
  EXPECT_EQ(brief(json{{"a", {1, 2}}, {"b", "x"}}), R"({"a":[1,2],"b":"x"})");
  EXPECT_EQ(brief(json::array()), "[]");
  EXPECT_EQ(brief(json::object()), "{}");
}

TEST(StrictJson, DuplicateKeysAreRejectedNamingTheKey) {
  EXPECT_THROW(parse_json(R"({"a": 1, "a": 2})"), JsonTextError);
  try {
    parse_json(R"({"train": {"epochs": 1, "seed": 2, "epochs": 3}, "x": [{"k": 1, "k": 1}]})");
    FAIL() << "no error";
  } catch (const JsonTextError& e) {
    EXPECT_STREQ(e.what(), "duplicate key train.epochs");
  }
  try {
    parse_json(R"({"x": [0, {"k": 1}, {"k": 1, "k": 1}]})");
    FAIL() << "no error";
  } catch (const JsonTextError& e) {
    EXPECT_STREQ(e.what(), "duplicate key x[2].k");
  }
  // The same key in different objects is fine.
  EXPECT_EQ(parse_json(R"({"a": {"k": 1}, "b": {"k": 2}})")["b"]["k"], 2);
  const auto file = write_temp("dup.json", R"({"train": {"epochs": 1, "epochs": 2}})");
  EXPECT_EQ(load_error(file),
            "spec error: " + file.string() + ": invalid JSON: duplicate key train.epochs");
  std::filesystem::remove(file);
}

TEST(StrictJson, NumberBeyondADoubleIsAnInputErrorNamingTheFile) {
  const auto file = write_temp("huge.json", R"({"train": {"epochs": 1e400}})");
  EXPECT_EQ(load_error(file),
            "spec error: " + file.string() + ": invalid JSON: number overflow parsing '1e400'");
  std::filesystem::remove(file);
  EXPECT_THROW(parse_json("-1e400"), JsonTextError);
  EXPECT_THROW(parse_json(std::string(400, '9')), JsonTextError);
  // A subnormal is a number like any other.
  EXPECT_EQ(parse_json("1e-320").get<double>(), 1e-320);
}

TEST(StrictJson, SetValuesThatAreNotValidUtf8AreAnInputError) {
  const auto file = write_temp("utf8.json", "{}");
  EXPECT_NE(load_error(file, {"name=\xff\xfe"}).find("not valid UTF-8"), std::string::npos);
  EXPECT_EQ(load_spec(file, {"name=\xc3\xa9t\xc3\xa9"}).name, "\xc3\xa9t\xc3\xa9");
  std::filesystem::remove(file);
}

TEST(StrictJson, ErrorsAreOneLineWithoutNlohmannIds) {
  try {
    parse_json("{\n\"a\": }");
    FAIL() << "no error";
  } catch (const JsonTextError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.find("json.exception"), std::string::npos) << message;
    EXPECT_NE(message.find("line 2"), std::string::npos) << message;
  }
}

TEST(StrictJson, FilesAreReadWhole) {
  EXPECT_THROW(read_json_file("/nonexistent.json", "x"), InputError);
  const auto file = write_temp("ok.json", R"({"a": [1, 2.5, "s", true, null]})");
  EXPECT_EQ(read_json_file(file, "x"), json::parse(R"({"a": [1, 2.5, "s", true, null]})"));
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace lb
