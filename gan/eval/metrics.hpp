// gan/eval/metrics.hpp — how good are a GAN's samples, as judged by gantry's own
// Fashion-MNIST classifier (gan/eval/classifier.hpp). docs/metrics.md explains the numbers.
//
// FD-classifier: the Fréchet distance between Gaussians fitted to the classifier's
// penultimate features [N, 128] of the samples and of the 10k test images,
//   FD = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2}),
// in float64, S the unbiased covariance. FID's formula on our own features, so the
// numbers are not comparable with published FIDs.
//
// Class histogram: argmax of the classifier per sample. A class is *covered* when it
// gets at least a quarter of its uniform share (count >= N / 40); KL(h || uniform)
// = sum_c h_c log(10 h_c) is 0 for a balanced set and log(10) = 2.303 for one class.
#pragma once
#include <Eigen/Dense>
#include <optional>
#include <string>
#include <vector>

#include "gan/eval/classifier.hpp"
#include "gan/data/dataset.hpp"

namespace gantry::gan {

// The mean and unbiased covariance of the rows of a feature matrix.
struct GaussianStats {
  Eigen::VectorXd mu;
  Eigen::MatrixXd sigma;
};
// features [N, F] (N >= 2), any float dtype.
GaussianStats gaussian_stats(const Tensor& features);
GaussianStats gaussian_stats(const Eigen::MatrixXd& rows);

// The square root of a symmetric positive semi-definite matrix, V diag(sqrt(max(l, 0))) V^T
// from a self-adjoint eigensolver (tiny negative eigenvalues from rounding clamp to 0).
Eigen::MatrixXd sqrtm_psd(const Eigen::MatrixXd& a);

// ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2}); clamped at 0.
double frechet_distance(const GaussianStats& a, const GaussianStats& b);

// The class histogram's summaries.
struct ClassHistogram {
  std::vector<int64_t> counts;  // per class
  int64_t covered = 0;          // classes with count >= N / (4 * classes)
  double kl_uniform = 0;        // KL(counts / N || uniform), nats
};
ClassHistogram class_histogram(const std::vector<int64_t>& predicted, int64_t classes = kClassifierClasses);

struct EvalResult {
  int64_t n = 0;
  double fd = 0;  // FD-classifier against the reference statistics
  ClassHistogram histogram;
  std::optional<double> accuracy;  // conditional samples: classifier agrees with the requested class
  double classifier_test_accuracy = 0;
  std::string reference;  // what the samples were compared with, e.g. "test set (10000)"
};

// The results as an aligned table, one metric a line, ending with a newline.
std::string format_eval_table(const EvalResult& r, const std::string& title);

// Loads the classifier and the test set's feature statistics once; then evaluates
// any number of sample sets against them (e.g. every K epochs from a trainer).
class Evaluator {
 public:
  // classifier_path empty: default_classifier_path(); data_dir empty: default_data_dir().
  explicit Evaluator(const std::string& classifier_path = "", const std::string& data_dir = "");
  // images [N, 1, 28, 28] in [-1, 1]; labels int64 [N] (the requested classes of a
  // conditional GAN) or nullptr.
  EvalResult evaluate(const Tensor& images, const Tensor* labels = nullptr);
  // The same against explicit reference statistics.
  EvalResult evaluate(const Tensor& images, const Tensor* labels, const GaussianStats& reference,
                      const std::string& reference_name);

  Classifier& classifier() { return *classifier_.model; }
  const LoadedClassifier& loaded() const { return classifier_; }
  const Dataset& test_set() const { return test_; }
  const GaussianStats& test_stats() const { return test_stats_; }

 private:
  LoadedClassifier classifier_;
  Dataset test_;
  GaussianStats test_stats_;
};

}  // namespace gantry::gan
