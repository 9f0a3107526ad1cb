// The LayerObserver hook that the trainer's profile, per-layer traces and
// communication overlap rely on, checked on the zoo's models.
#include <gtest/gtest.h>

#include <map>

#include "runtime/models/model.hpp"

namespace lb {
namespace {

struct Recorder : LayerObserver {
  std::map<std::string, int> forwards, backwards;
  std::vector<const Layer*> backward_order;
  void forward_done(const Layer& l, TimePoint begin, TimePoint end) override {
    EXPECT_LE(begin, end);
    ++forwards[row(l)];
  }
  void backward_done(const Layer& l, TimePoint begin, TimePoint end) override {
    EXPECT_LE(begin, end);
    ++backwards[row(l)];
    backward_order.push_back(&l);
  }
  static std::string row(const Layer& l) { return l.is_composite() ? l.name() + ".add" : l.name(); }
};

class LayerObserverTest : public ::testing::TestWithParam<const char*> {
 protected:
  // One forward and backward of the zoo model GetParam() at `batch`, observed.
  Recorder observe_step(Model& model, std::int64_t batch) {
    Rng rng(7);
    model.net->init(rng);
    Recorder rec;
    Context ctx;
    ctx.observer = &rec;
    const Tensor x(model.input_shape(batch), 0.5f);  // layers keep their input for backward
    const Tensor& y = model.net->forward(x, ctx);
    model.net->backward(Tensor(y.shape(), 0.1f), ctx);
    return rec;
  }
};

// Every row of the cost table is reported once by forward; backward reports
// every leaf once and a residual block's own work in its two parts (the
// gradient through its ReLU, and the sum of both paths' input gradients).
TEST_P(LayerObserverTest, EveryCostTableRowIsReported) {
  auto model = make_model(GetParam(), {1, 28, 28}, 10);
  Recorder rec = observe_step(*model, 4);
  const auto rows = model->layer_table(4);
  std::size_t reported = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const LayerInfo& r = rows[i];
    // A ReLU fused into the BatchNorm before it has a row (for its FLOPs)
    // but no work of its own: the BatchNorm's time includes it.
    const bool fused = r.kind == "relu" && i > 0 && rows[i - 1].kind == "batch_norm";
    EXPECT_EQ(rec.forwards[r.name], fused ? 0 : 1) << r.name;
    EXPECT_EQ(rec.backwards[r.name], fused ? 0 : r.kind == "add" ? 2 : 1) << r.name;
    if (!fused) ++reported;
  }
  EXPECT_GT(reported, rows.size() / 2);
}

// The gradient buckets are planned in the reverse of the parameters' forward
// order; backward must finish the layers in that order, or a bucket's
// all-reduce would wait for a layer that comes later.
TEST_P(LayerObserverTest, BackwardFinishesParametersInReverseForwardOrder) {
  auto model = make_model(GetParam(), {1, 28, 28}, 10);
  const Recorder rec = observe_step(*model, 2);
  std::vector<const Param*> finished;
  for (const Layer* l : rec.backward_order) {
    if (l->is_composite()) continue;
    for (Param* p : const_cast<Layer*>(l)->params()) finished.push_back(p);
  }
  const auto params = model->net->params();
  ASSERT_EQ(finished.size(), params.size());
  // Within a layer the order does not matter (its gradients are final together).
  std::vector<const Param*> expected(params.rbegin(), params.rend());
  auto layer_of = [](const Param* p) { return p->name.substr(0, p->name.rfind('.')); };
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(layer_of(finished[i]), layer_of(expected[i])) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, LayerObserverTest, ::testing::Values("lenet_bn", "resnet20"));

}  // namespace
}  // namespace lb
