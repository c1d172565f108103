// CycleGAN's parts: the nets (names, parameter counts against the reference's, shapes,
// receptive field, init), the image pool's statistics, the LR schedule's values, and
// one step's losses against the same losses computed by hand from the nets.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "gan/data/dataset.hpp"
#include "gan/eval/cyclegan_metrics.hpp"
#include "gan/train/image_pool.hpp"
#include "gan/train/lr_schedule.hpp"
#include "gan/zoo/cyclegan_step.hpp"
#include "test_util.hpp"

using namespace gantry;
using namespace gantry::gan;
using gantry::testing::error_of;

namespace {
bool has_param(const nn::Module& m, const std::string& name) {
  for (const auto& [n, t] : m.named_parameters())
    if (n == name) return true;
  return false;
}
}  // namespace

TEST_CASE("the ResNet generator and PatchGAN have the reference's names and parameter counts") {
  // The reference prints 11.378 M for resnet_9blocks and 2.765 M for the 70x70 PatchGAN
  // (RGB, ngf = ndf = 64); these are its exact counts.
  ResnetGenerator g9({3, 3, 64, 9});
  PatchDiscriminator d3({3, 64, 3});
  CHECK(g9.parameter_count() == 11378179);
  CHECK(d3.parameter_count() == 2764737);
  CHECK(has_param(g9, "model.1.weight"));
  CHECK(has_param(g9, "model.1.bias"));
  CHECK(has_param(g9, "model.10.conv_block.1.weight"));
  CHECK(has_param(g9, "model.10.conv_block.5.weight"));
  CHECK(has_param(g9, "model.18.conv_block.5.bias"));
  CHECK(has_param(g9, "model.19.weight"));  // the first transposed conv
  CHECK(has_param(g9, "model.26.weight"));  // the last conv
  for (const char* n : {"model.0.weight", "model.2.weight", "model.5.weight", "model.8.weight", "model.11.weight"})
    CHECK(has_param(d3, n));
  CHECK(d3.named_parameters().size() == 10);  // 5 convs with biases; instance norm has none
  ResnetGenerator g6({3, 3, 64, resnet_blocks_from_name("resnet_6blocks")});
  CHECK(g6.parameter_count() == 7837699);  // the reference's 7.838 M
}

TEST_CASE("resnet_<n>blocks names") {
  CHECK(resnet_blocks_from_name("resnet_9blocks") == 9);
  CHECK(resnet_blocks_from_name("resnet_3blocks") == 3);
  for (const char* bad : {"unet_256", "resnet_blocks", "resnet_0blocks", "resnet_x9blocks", "resnet_9"})
    CHECK(error_of([&] { resnet_blocks_from_name(bad); }).find(bad) != std::string::npos);
}

TEST_CASE("shapes, receptive field and output map of the CycleGAN nets") {
  ResnetGenerator g({1, 1, 4, 2});
  PatchDiscriminator d({1, 4, 3});
  for (int64_t s : {28, 32}) {
    Tensor y = g.forward(rand({2, 1, s, s}, DType::f32, nullptr, -1, 1));
    CHECK(y.shape() == Shape{2, 1, s, s});
    for (float v : y.to_vector<float>()) CHECK((v > -1 && v < 1));
  }
  CHECK(d.forward(zeros({2, 1, 28, 28})).shape() == Shape{2, 1, 1, 1});
  CHECK(d.forward(zeros({2, 1, 32, 32})).shape() == Shape{2, 1, 2, 2});
  CHECK(PatchDiscriminator({3, 4, 3}).forward(zeros({1, 3, 64, 64})).shape() == Shape{1, 1, 6, 6});
  CHECK(patch_output_size(256, 3) == 30);  // the reference's 30x30 map at 256 px
  CHECK(patch_output_size(28, 2) == 5);
  CHECK(patch_receptive_field(3) == 70);
  CHECK(patch_receptive_field(2) == 34);
  CHECK(patch_receptive_field(1) == 16);
  CHECK(error_of([&] { d.forward(zeros({1, 1, 8, 8})); }).find("too small") != std::string::npos);
  CHECK(error_of([&] { g.forward(zeros({1, 1, 30, 30})); }).find("multiples of 4") != std::string::npos);
}

TEST_CASE("a residual block with zero convs is the identity; init is N(0, 0.02) with zero biases") {
  ResnetBlock block(3);
  for (const Tensor& p : block.parameters()) {
    NoGradGuard ng;
    fill_(p, 0);
  }
  Tensor x = rand({2, 3, 5, 5}, DType::f32, nullptr, -1, 1);
  gantry::testing::check_close(block.forward(x).to_vector<float>(), x.to(DType::f64).to_vector<double>(), 1e-6);

  ResnetGenerator g({1, 1, 16, 2});
  Rng gen(3);
  cyclegan_init(g, &gen);
  for (const auto& [name, p] : g.named_parameters()) {
    auto v = p.to(DType::f64).to_vector<double>();
    if (name.ends_with("bias")) {
      CHECK(*std::max_element(v.begin(), v.end()) == 0);
      CHECK(*std::min_element(v.begin(), v.end()) == 0);
    } else if (v.size() > 5000) {
      double s2 = 0;
      for (double a : v) s2 += a * a;
      INFO(name);
      CHECK(std::sqrt(s2 / v.size()) == doctest::Approx(0.02).epsilon(0.05));
    }
  }
}

TEST_CASE("the image pool: pass-through while filling, then a fair coin and a uniform slot") {
  const int64_t cap = 50;
  ImagePool pool(cap, 7);
  // Image k is a 1x2x2 constant k, so every returned image says which input it was.
  auto batch = [](int64_t first, int64_t n) {
    std::vector<double> v;
    for (int64_t k = first; k < first + n; ++k) v.insert(v.end(), 4, (double)k);
    return from_vector(v, {n, 1, 2, 2});
  };
  auto ids = [](const Tensor& t) {
    std::vector<int64_t> out;
    auto v = t.to_vector<float>();
    for (size_t i = 0; i < v.size(); i += 4) out.push_back((int64_t)v[i]);
    return out;
  };
  int64_t next = 0;
  for (int64_t n : {20, 30}) {  // filling: returned unchanged
    std::vector<int64_t> got = ids(pool.query(batch(next, n))), want(n);
    for (int64_t i = 0; i < n; ++i) want[i] = next + i;
    CHECK(got == want);
    next += n;
  }
  CHECK(pool.size() == cap);
  // Full: over 4000 images, about half come back as stored ones; each swap takes a slot
  // uniformly; the pool and the output together are always the old pool plus the input.
  int64_t swapped = 0, total = 0;
  std::map<int64_t, int64_t> slot_hits;
  for (int q = 0; q < 500; ++q) {
    std::multiset<int64_t> before;
    for (const Tensor& t : pool.images()) before.insert(ids(t)[0]);
    std::vector<int64_t> old_slots = [&] {
      std::vector<int64_t> s;
      for (const Tensor& t : pool.images()) s.push_back(ids(t)[0]);
      return s;
    }();
    std::vector<int64_t> got = ids(pool.query(batch(next, 8)));
    std::multiset<int64_t> lhs = before, rhs;
    for (int64_t i = 0; i < 8; ++i) lhs.insert(next + i);
    for (const Tensor& t : pool.images()) rhs.insert(ids(t)[0]);
    rhs.insert(got.begin(), got.end());
    CHECK(lhs == rhs);
    for (int64_t i = 0; i < 8; ++i) swapped += got[i] != next + i, ++total;
    for (int64_t s = 0; s < cap; ++s)
      if (ids(pool.images()[s])[0] != old_slots[s]) ++slot_hits[s];
    next += 8;
  }
  const double share = (double)swapped / total;  // binomial(4000, 0.5): sd 0.008
  CHECK(share > 0.46);
  CHECK(share < 0.54);
  REQUIRE(slot_hits.size() == (size_t)cap);  // every slot was replaced at some point
  int64_t lo = 1 << 30, hi = 0;
  for (auto [s, c] : slot_hits) lo = std::min(lo, c), hi = std::max(hi, c);
  CHECK(lo > 15);  // ~2000 swaps / 50 slots = 40 each (Poisson sd ~6)
  CHECK(hi < 70);

  ImagePool a(cap, 1), b(cap, 1), c(cap, 2), off(0, 1);
  std::vector<int64_t> ra, rb, rc;
  for (int q = 0; q < 20; ++q) {
    Tensor x = batch(1000 + 8 * q, 8);
    auto va = ids(a.query(x)), vb = ids(b.query(x)), vc = ids(c.query(x));
    ra.insert(ra.end(), va.begin(), va.end()), rb.insert(rb.end(), vb.begin(), vb.end());
    rc.insert(rc.end(), vc.begin(), vc.end());
    CHECK(ids(off.query(x)) == ids(x));
  }
  CHECK(ra == rb);
  CHECK(ra != rc);
  CHECK(off.size() == 0);
  // A pool restored from another's images and generator state goes on identically.
  ImagePool resumed(cap, 99);
  resumed.restore(a.images(), a.generator().seed(), a.generator().offset());
  for (int q = 0; q < 5; ++q) {
    Tensor x = batch(5000 + 8 * q, 8);
    CHECK(ids(resumed.query(x)) == ids(a.query(x)));
  }
  CHECK(error_of([&] { ImagePool(1, 0).restore(a.images(), 0, 0); }).find("capacity 1") != std::string::npos);
}

TEST_CASE("the linear LR schedule has the reference's values") {
  LinearDecaySchedule s{100, 100, 1};
  CHECK(s.lambda_rule(0) == 1.0);
  CHECK(s.lambda_rule(99) == 1.0);
  CHECK(s.lambda_rule(100) == doctest::Approx(1 - 1.0 / 101));
  CHECK(s.lambda_rule(150) == doctest::Approx(1 - 51.0 / 101));
  CHECK(s.lambda_rule(200) == doctest::Approx(0.0));
  // train.py steps the scheduler at the start of each epoch: epoch t runs at lambda_rule(t).
  CHECK(s.factor_for_epoch(1) == 1.0);
  CHECK(s.factor_for_epoch(99) == 1.0);
  CHECK(s.factor_for_epoch(100) == doctest::Approx(100.0 / 101));
  CHECK(s.factor_for_epoch(101) == doctest::Approx(99.0 / 101));
  CHECK(s.factor_for_epoch(200) == doctest::Approx(0.0));
  LinearDecaySchedule resumed{100, 100, 40};  // --continue_train --epoch_count 40
  CHECK(resumed.lambda_rule(0) == 1.0);
  for (int64_t t : {40, 99, 100, 150, 200})
    CHECK(resumed.factor_for_epoch(t) == doctest::Approx(s.factor_for_epoch(t)));
  LinearDecaySchedule small{3, 2, 1};
  std::vector<double> f;
  for (int64_t t = 1; t <= small.last_epoch(); ++t) f.push_back(small.factor_for_epoch(t));
  gantry::testing::check_close(f, {1, 1, 2.0 / 3, 1.0 / 3, 0}, 1e-12);
  CHECK(error_of([&] { s.factor_for_epoch(201); }).find("outside 1..200") != std::string::npos);
  CHECK(error_of([&] { s.factor_for_epoch(0); }).find("outside") != std::string::npos);
}

namespace {
CycleganConfig tiny_config() {
  CycleganConfig c;
  c.ngf = 4, c.n_blocks = 1, c.ndf = 4, c.n_layers = 2;
  return c;
}
}  // namespace

TEST_CASE("a CycleGAN step reports the losses the nets give by hand, then trains") {
  CycleganConfig c = tiny_config();
  CycleganStep m(c, 3);
  Rng data(4);
  Tensor a = rand({2, 1, 16, 16}, DType::f32, &data, -1, 1), b = rand({2, 1, 16, 16}, DType::f32, &data, -1, 1);
  // By hand, before the step changes anything: the pools are filling, so D sees these fakes.
  std::map<std::string, double> want;
  {
    NoGradGuard ng;
    auto mse_to = [](const Tensor& p, double t) { return mse_loss(p, full_like(p, t)).item(); };
    Tensor fake_b = m.G_AB->forward(a), fake_a = m.G_BA->forward(b);
    want["G_A"] = mse_to(m.D_A->forward(fake_b), 1);
    want["G_B"] = mse_to(m.D_B->forward(fake_a), 1);
    want["cycle_A"] = 10 * l1_loss(m.G_BA->forward(fake_b), a).item();
    want["cycle_B"] = 10 * l1_loss(m.G_AB->forward(fake_a), b).item();
    want["idt_A"] = 5 * l1_loss(m.G_AB->forward(b), b).item();
    want["idt_B"] = 5 * l1_loss(m.G_BA->forward(a), a).item();
    want["D_A"] = 0.5 * (mse_to(m.D_A->forward(b), 1) + mse_to(m.D_A->forward(fake_b), 0));
    want["D_B"] = 0.5 * (mse_to(m.D_B->forward(a), 1) + mse_to(m.D_B->forward(fake_a), 0));
  }
  std::vector<Tensor> d_before;
  for (const Tensor& p : m.D_A->parameters()) d_before.push_back(clone(p.detach()));
  NamedLosses got = m.step(a, b);
  std::vector<std::string> names;
  for (const auto& [n, v] : got) names.push_back(n);
  CHECK(names == std::vector<std::string>{"D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"});
  for (const auto& [n, v] : got) {
    INFO(n);
    CHECK(v == doctest::Approx(want[n]).epsilon(1e-5));
  }
  CHECK(loss_of(got, "G_A") == doctest::Approx(1.0).epsilon(0.1));  // D's logits start near 0
  CHECK(m.fake_a_pool.size() == 2);
  CHECK(sum(abs(sub(m.D_A->parameters()[0], d_before[0]))).item() > 0);  // D_A took its step
  CHECK(error_of([&] { loss_of(got, "G"); }).find("'G'") != std::string::npos);

  double first = loss_of(got, "cycle_A") + loss_of(got, "cycle_B"), last = 0;
  for (int i = 0; i < 30; ++i) {
    NamedLosses l = m.step(a, b);
    last = loss_of(l, "cycle_A") + loss_of(l, "cycle_B");
  }
  CHECK(last < 0.9 * first);  // 30 steps on one fixed pair of noise batches: 10.3 -> 8.6 measured
}

TEST_CASE("CycleGAN's gan modes, identity off, and bad settings") {
  Rng data(5);
  Tensor a = rand({2, 1, 16, 16}, DType::f32, &data, -1, 1), b = rand({2, 1, 16, 16}, DType::f32, &data, -1, 1);
  CycleganConfig c = tiny_config();
  c.gan_mode = cyclegan_gan_mode("vanilla");
  c.lambda_identity = 0;
  NamedLosses v = CycleganStep(c, 1).step(a, b);
  CHECK(loss_of(v, "G_A") == doctest::Approx(std::log(2.0)).epsilon(0.05));  // BCE at logits near 0
  CHECK(loss_of(v, "D_A") == doctest::Approx(std::log(2.0)).epsilon(0.05));  // (log 2 + log 2) / 2
  CHECK(loss_of(v, "idt_A") == 0);
  c.gan_mode = cyclegan_gan_mode("wgangp");
  NamedLosses w = CycleganStep(c, 1).step(a, b);
  c.gp_lambda = 0;
  NamedLosses w0 = CycleganStep(c, 1).step(a, b);
  for (const auto& [n, x] : w) CHECK(std::isfinite(x));
  // Same seed, same weights: G's losses agree, D's differ by the (positive) penalty.
  CHECK(loss_of(w, "G_A") == doctest::Approx(loss_of(w0, "G_A")));
  CHECK(loss_of(w, "D_A") - loss_of(w0, "D_A") > 0.01);
  CHECK(loss_of(w, "D_B") - loss_of(w0, "D_B") > 0.01);
  CHECK(error_of([] { cyclegan_gan_mode("hinge"); }).find("lsgan, vanilla, wgangp") != std::string::npos);
  CycleganConfig rgb = tiny_config();
  rgb.channels_b = 3;
  CHECK(error_of([&] { CycleganStep(rgb, 1); }).find("identity") != std::string::npos);
  rgb.lambda_identity = 0;
  CycleganStep m(rgb, 1);
  CHECK(error_of([&] { m.step(a, b); }).find("[N, 3, S, S]") != std::string::npos);
  NamedLosses ok = m.step(a, rand({2, 3, 16, 16}, DType::f32, &data, -1, 1));
  CHECK(std::isfinite(loss_of(ok, "cycle_B")));
}

namespace {
struct IdentityNet : nn::Module {
  Tensor forward(const Tensor& x) override { return x; }
};
// Maps each key image to its value image (exact match), like a perfect translator of a fixed set.
struct LookupNet : nn::Module {
  Tensor keys, values;
  LookupNet(Tensor k, Tensor v) : keys(std::move(k)), values(std::move(v)) {}
  Tensor forward(const Tensor& x) override {
    std::vector<Tensor> rows;
    for (int64_t i = 0; i < x.size(0); ++i) {
      Tensor row = narrow(x, 0, i, 1);
      int64_t found = -1;
      for (int64_t k = 0; k < keys.size(0) && found < 0; ++k)
        if (max(abs(sub(narrow(keys, 0, k, 1), row))).item() == 0) found = k;
      REQUIRE(found >= 0);
      rows.push_back(narrow(values, 0, found, 1));
    }
    return cat(rows, 0);
  }
};
}  // namespace

TEST_CASE("silhouette L1 on hand-made images") {
  Tensor in = full({2, 1, 6, 6}, -1.0), out = full({2, 1, 6, 6}, -1.0);
  {
    NoGradGuard ng;
    copy_(narrow(narrow(in, 2, 1, 2), 3, 1, 2), full({2, 1, 2, 2}, 1.0));  // a 2x2 object at 1 in both images
    copy_(narrow(narrow(select(out, 0, 0).unsqueeze(0), 2, 1, 2), 3, 1, 2), full({1, 1, 2, 2}, 0.0));
    copy_(narrow(select(out, 0, 1).unsqueeze(0), 2, 4, 2), full({1, 1, 2, 6}, 1.0));  // off the silhouette
  }
  // Image 0: the object went from 1 to 0 (L1 1 on its 4 pixels); image 1: the object is
  // gone (L1 2), and what was drawn on the background does not count.
  CHECK(silhouette_l1(in, out) == doctest::Approx((1.0 + 2.0) / 2));
  CHECK(silhouette_l1(in, in) == 0);
  Tensor empty_in = full({1, 1, 6, 6}, -1.0);
  CHECK(error_of([&] { silhouette_l1(empty_in, empty_in); }).find("no image") != std::string::npos);
}

TEST_CASE("CycleGAN metrics: the identity fails to translate; a perfect lookup succeeds with zero cycle error") {
  LoadedClassifier c = load_classifier(default_classifier_path());
  Tensor sneakers = load_dataset({"", false, false, {7}, 120}).images;
  Tensor boots = load_dataset({"", false, false, {9}, 120}).images;
  IdentityNet id;
  CycleganEval e = evaluate_cyclegan(*c.model, id, id, sneakers, boots, 7, 9, 50);
  CHECK(e.n_a == 120);
  CHECK(e.success_ab < 0.1);  // sneakers stay sneakers
  CHECK(e.success_ba < 0.1);
  CHECK(e.cycle_l1_a == 0);
  CHECK(e.kept_ab == 0);
  CHECK(e.kept_ab_unpaired > 0.3);
  CHECK(e.fd_ab > 10 * evaluate_cyclegan(*c.model, id, id, sneakers, sneakers, 7, 7).fd_ab + 1);

  // G_AB maps sneaker i to boot i and G_BA back: perfect cycle, success = the classifier's
  // accuracy on boots, FD 0 (the same images), silhouette L1 = its unpaired value.
  LookupNet ab(sneakers, boots), ba(boots, sneakers);
  CycleganEval p = evaluate_cyclegan(*c.model, ab, ba, sneakers, boots, 7, 9, 50);
  CHECK(p.success_ab > 0.9);
  CHECK(p.success_ba > 0.9);
  CHECK(p.fd_ab == doctest::Approx(0).epsilon(1e-6));
  CHECK(p.cycle_l1_a == 0);
  CHECK(p.cycle_l1_b == 0);
  CHECK(p.kept_ab == doctest::Approx(p.kept_ab_unpaired));
  CHECK(format_cyclegan_eval(p, "lookup").find("translation success  A->B") != std::string::npos);
  // 32 x 32 (padded) images are cropped for the classifier: the same numbers.
  Tensor s32 = load_dataset({"", false, true, {7}, 120}).images, b32 = load_dataset({"", false, true, {9}, 120}).images;
  LookupNet ab32(s32, b32), ba32(b32, s32);
  CHECK(evaluate_cyclegan(*c.model, ab32, ba32, s32, b32, 7, 9).success_ab == doctest::Approx(p.success_ab));
}

TEST_CASE("the small 28 px CycleGAN has the measured parameter counts") {
  CycleganStep m(cyclegan_small_config(), 1);
  CHECK(m.G_AB->parameter_count() == 49377);
  CHECK(m.D_A->parameter_count() == 42353);
  CHECK(patch_output_size(28, m.config.n_layers) == 5);
  CHECK(patch_receptive_field(m.config.n_layers) == 34);
}
