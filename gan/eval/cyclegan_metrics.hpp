// gan/eval/cyclegan_metrics.hpp — how well a CycleGAN translates between two Fashion-MNIST
// classes, judged by gantry's classifier (gan/eval/classifier.hpp). For test images a of
// class A and b of class B, and the generators G_AB, G_BA:
//
//   success_ab    the share of G_AB(a) the classifier labels B (success_ba: G_BA(b) labelled A)
//   fd_ab         FD-classifier (gan/eval/metrics.hpp) of G_AB(a) against the real b; fd_ba likewise
//   cycle_l1_a    mean |G_BA(G_AB(a)) - a| over all pixels, in [-1, 1] units (cycle_l1_b likewise)
//   kept_ab       how much of the input survives: the mean over images of the L1 between a
//                 and G_AB(a) on a's silhouette (pixels brighter than the background,
//                 a > kSilhouetteThreshold), in [-1, 1] units
//   kept_ab_unpaired  the same L1 between a and an unrelated real b (b_i for a_i) on a's
//                 silhouette: what a translation that ignores its input would score
//
// Why the silhouette: a sneaker becomes a boot by growing a shaft where the background
// was, so changes off the silhouette are the translation itself; on the silhouette
// (the sole, the toe, the laces) a good translation keeps the input's pixels. Its L1
// alone cannot tell "kept the input" from "did nothing", so it is read with success_ab:
// a good model has high success and kept_ab well below kept_ab_unpaired; the identity
// has kept_ab = 0 and success near 0; a model that ignores its input has kept_ab near
// kept_ab_unpaired.
#pragma once
#include "gan/eval/classifier.hpp"
#include "gan/eval/metrics.hpp"
#include "nn/module.hpp"

namespace gantry::gan {

// Fashion-MNIST's background is 0 (-1 after scaling); a pixel above 25 / 255 is the object.
constexpr double kSilhouetteThreshold = 25 / 127.5 - 1;

struct CycleganEval {
  int64_t n_a = 0, n_b = 0;
  double success_ab = 0, success_ba = 0;
  double fd_ab = 0, fd_ba = 0;
  double cycle_l1_a = 0, cycle_l1_b = 0;
  double kept_ab = 0, kept_ba = 0;
  double kept_ab_unpaired = 0, kept_ba_unpaired = 0;
};

// The mean over images of mean_{p: input_p > threshold} |input_p - output_p| (both
// [N, C, H, W]); images whose silhouette is empty are skipped. Throws if all are.
double silhouette_l1(const Tensor& input, const Tensor& output, double threshold = kSilhouetteThreshold);

// test_a / test_b: [N, 1, S, S] in [-1, 1] (S 28, or 32 as padded by the data loader:
// the centre 28 x 28 is what the classifier sees), N >= 2, on the cpu. The generators
// run on their own device, without grad, `batch` images at a time.
CycleganEval evaluate_cyclegan(Classifier& classifier, nn::Module& g_ab, nn::Module& g_ba, const Tensor& test_a,
                               const Tensor& test_b, int64_t class_a, int64_t class_b, int64_t batch = 250);

// The results as an aligned table, one metric a line, ending with a newline.
std::string format_cyclegan_eval(const CycleganEval& e, const std::string& title);

}  // namespace gantry::gan
