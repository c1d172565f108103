// gan/eval/cyclegan_metrics.cpp — translation success, FD-classifier, cycle L1 and
// silhouette L1 of a CycleGAN's two generators.
#include "gan/eval/cyclegan_metrics.hpp"

#include <cstdio>

namespace gantry::gan {

namespace {

// g applied to x (cpu) on g's device, in batches, without grad; the result on the cpu.
Tensor translate(nn::Module& g, const Tensor& x, int64_t batch) {
  NoGradGuard no_grad;
  const std::vector<Tensor> params = g.parameters();
  const Device d = params.empty() ? Device::cpu() : params[0].device();
  std::vector<Tensor> out;
  for (int64_t i = 0; i < x.size(0); i += batch) {
    Tensor chunk = narrow(x, 0, i, std::min(batch, x.size(0) - i)).to(d);
    out.push_back(g.forward(chunk).to(Device::cpu()));
  }
  return cat(out, 0);
}

// What the classifier sees: [N, 1, 28, 28], the centre of a 32 x 32 image.
Tensor classifier_view(const Tensor& x) {
  GANTRY_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) == x.size(3) && (x.size(2) == 28 || x.size(2) == 32),
               "evaluate_cyclegan: images must be [N, 1, 28, 28] or [N, 1, 32, 32], got ", shape_str(x.shape()));
  if (x.size(2) == 28) return x;
  return contiguous(narrow(narrow(x, 2, 2, 28), 3, 2, 28));
}

double share_labelled(Classifier& c, const Tensor& images, int64_t cls) {
  std::vector<int64_t> predicted = argmax(c.predict(classifier_view(images)), 1).to_vector<int64_t>();
  int64_t hits = 0;
  for (int64_t p : predicted) hits += p == cls;
  return (double)hits / (double)predicted.size();
}

double fd(Classifier& c, const Tensor& x, const Tensor& ref) {
  return frechet_distance(gaussian_stats(c.features(classifier_view(x))),
                          gaussian_stats(c.features(classifier_view(ref))));
}

// b's images repeated or cut to n rows: the unrelated partner of each a.
Tensor partners(const Tensor& b, int64_t n) {
  std::vector<Tensor> rows;
  for (int64_t i = 0; i < n; i += b.size(0)) rows.push_back(narrow(b, 0, 0, std::min(b.size(0), n - i)));
  return cat(rows, 0);
}

}  // namespace

double silhouette_l1(const Tensor& input, const Tensor& output, double threshold) {
  GANTRY_CHECK(input.dim() == 4 && input.shape() == output.shape(), "silhouette_l1: input ", shape_str(input.shape()),
               " and output ", shape_str(output.shape()), " must be the same [N, C, H, W]");
  const std::vector<float> in = input.to(Device::cpu()).to(DType::f32).to_vector<float>();
  const std::vector<float> out = output.to(Device::cpu()).to(DType::f32).to_vector<float>();
  const int64_t n = input.size(0), per = input.numel() / std::max<int64_t>(n, 1);
  double total = 0;
  int64_t counted = 0;
  for (int64_t i = 0; i < n; ++i) {
    double l1 = 0;
    int64_t m = 0;
    for (int64_t p = i * per; p < (i + 1) * per; ++p)
      if (in[p] > threshold) l1 += std::abs(in[p] - out[p]), ++m;
    if (m > 0) total += l1 / (double)m, ++counted;
  }
  GANTRY_CHECK(counted > 0, "silhouette_l1: no image of ", n, " has a pixel above ", threshold);
  return total / (double)counted;
}

CycleganEval evaluate_cyclegan(Classifier& classifier, nn::Module& g_ab, nn::Module& g_ba, const Tensor& test_a,
                               const Tensor& test_b, int64_t class_a, int64_t class_b, int64_t batch) {
  GANTRY_CHECK(test_a.dim() == 4 && test_b.dim() == 4 && test_a.size(0) >= 2 && test_b.size(0) >= 2,
               "evaluate_cyclegan: need at least 2 images of each domain, got ", shape_str(test_a.shape()), " and ",
               shape_str(test_b.shape()));
  GANTRY_CHECK(batch >= 1, "evaluate_cyclegan: batch must be >= 1, got ", batch);
  classifier.eval();
  CycleganEval e;
  e.n_a = test_a.size(0), e.n_b = test_b.size(0);
  const Tensor fake_b = translate(g_ab, test_a, batch), fake_a = translate(g_ba, test_b, batch);
  e.success_ab = share_labelled(classifier, fake_b, class_b);
  e.success_ba = share_labelled(classifier, fake_a, class_a);
  e.fd_ab = fd(classifier, fake_b, test_b);
  e.fd_ba = fd(classifier, fake_a, test_a);
  e.cycle_l1_a = l1_loss(translate(g_ba, fake_b, batch), test_a).item();
  e.cycle_l1_b = l1_loss(translate(g_ab, fake_a, batch), test_b).item();
  e.kept_ab = silhouette_l1(test_a, fake_b);
  e.kept_ba = silhouette_l1(test_b, fake_a);
  e.kept_ab_unpaired = silhouette_l1(test_a, partners(test_b, e.n_a));
  e.kept_ba_unpaired = silhouette_l1(test_b, partners(test_a, e.n_b));
  return e;
}

std::string format_cyclegan_eval(const CycleganEval& e, const std::string& title) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "%s (%lld A, %lld B test images)\n"
                "  translation success  A->B %.3f   B->A %.3f   (share the classifier labels as the target class)\n"
                "  FD-classifier        A->B %.2f   B->A %.2f   (against the real target test images)\n"
                "  cycle L1             A    %.4f   B    %.4f\n"
                "  silhouette L1        A->B %.4f   B->A %.4f   (unrelated real target: %.4f, %.4f)\n",
                title.c_str(), (long long)e.n_a, (long long)e.n_b, e.success_ab, e.success_ba, e.fd_ab, e.fd_ba,
                e.cycle_l1_a, e.cycle_l1_b, e.kept_ab, e.kept_ba, e.kept_ab_unpaired, e.kept_ba_unpaired);
  return buf;
}

}  // namespace gantry::gan
