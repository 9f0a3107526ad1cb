#pragma once
// SimGrid allows one Engine per process and one platform per engine, but a
// sweep needs a platform per GPU count and a test suite many platforms. So
// each simulation runs in a forked child that builds its own engine; the
// child sends its result back as JSON through a pipe. Errors cross too: an
// InputError in the child is rethrown as an InputError here.
#include <functional>
#include <nlohmann/json.hpp>

namespace lb::sim {

nlohmann::json in_fresh_engine(const std::function<nlohmann::json()>& body);

}  // namespace lb::sim
