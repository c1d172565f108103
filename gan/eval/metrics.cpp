// gan/eval/metrics.cpp — the sample-quality metrics of gan/eval/metrics.hpp on the classifier's features.
#include "gan/eval/metrics.hpp"

#include <Eigen/Eigenvalues>
#include <cmath>
#include <cstdio>

namespace gantry::gan {

GaussianStats gaussian_stats(const Eigen::MatrixXd& rows) {
  GANTRY_CHECK(rows.rows() >= 2, "gaussian_stats: need at least 2 samples, got ", rows.rows());
  GaussianStats s;
  s.mu = rows.colwise().mean().transpose();
  Eigen::MatrixXd centered = rows.rowwise() - s.mu.transpose();
  s.sigma = (centered.transpose() * centered) / (double)(rows.rows() - 1);
  return s;
}

GaussianStats gaussian_stats(const Tensor& features) {
  GANTRY_CHECK(features.dim() == 2, "gaussian_stats: features must be [N, F], got ", shape_str(features.shape()));
  const std::vector<double> v = features.to(DType::f64).to_vector<double>();
  Eigen::MatrixXd rows =
      Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(v.data(),
                                                                                               features.size(0),
                                                                                               features.size(1));
  return gaussian_stats(rows);
}

Eigen::MatrixXd sqrtm_psd(const Eigen::MatrixXd& a) {
  GANTRY_CHECK(a.rows() == a.cols(), "sqrtm_psd: matrix must be square, got ", a.rows(), "x", a.cols());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(a);
  GANTRY_CHECK(eig.info() == Eigen::Success, "sqrtm_psd: the eigensolver did not converge");
  const Eigen::VectorXd root = eig.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return eig.eigenvectors() * root.asDiagonal() * eig.eigenvectors().transpose();
}

double frechet_distance(const GaussianStats& a, const GaussianStats& b) {
  GANTRY_CHECK(a.mu.size() == b.mu.size(), "frechet_distance: ", a.mu.size(), " vs ", b.mu.size(), " features");
  // (S1^{1/2} S2 S1^{1/2})^{1/2} has the same trace as (S1 S2)^{1/2} but is symmetric,
  // so a self-adjoint eigensolver suffices; symmetrize away rounding first.
  const Eigen::MatrixXd root1 = sqrtm_psd(a.sigma);
  Eigen::MatrixXd middle = root1 * b.sigma * root1;
  middle = 0.5 * (middle + middle.transpose()).eval();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(middle, Eigen::EigenvaluesOnly);
  GANTRY_CHECK(eig.info() == Eigen::Success, "frechet_distance: the eigensolver did not converge");
  const double trace_root = eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
  const double fd = (a.mu - b.mu).squaredNorm() + a.sigma.trace() + b.sigma.trace() - 2 * trace_root;
  return std::max(fd, 0.0);
}

ClassHistogram class_histogram(const std::vector<int64_t>& predicted, int64_t classes) {
  GANTRY_CHECK(!predicted.empty() && classes > 0, "class_histogram: no predictions");
  ClassHistogram h;
  h.counts.assign(classes, 0);
  for (int64_t c : predicted) {
    GANTRY_CHECK(c >= 0 && c < classes, "class_histogram: class ", c, " outside [0, ", classes, ")");
    ++h.counts[c];
  }
  const double n = (double)predicted.size();
  for (int64_t count : h.counts) {
    if (count >= n / (4.0 * (double)classes)) ++h.covered;
    if (count > 0) h.kl_uniform += (count / n) * std::log(count / n * (double)classes);
  }
  return h;
}

namespace {
std::string line(const char* name, const std::string& value, const char* note = "") {
  char buf[200];
  std::snprintf(buf, sizeof buf, "  %-26s %12s   %s\n", name, value.c_str(), note);
  return buf;
}
std::string num(const char* fmt, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}
}  // namespace

std::string format_eval_table(const EvalResult& r, const std::string& title) {
  std::string out = title + "\n";
  out += line("samples", std::to_string(r.n));
  out += line("FD-classifier", num("%.3f", r.fd), ("vs " + r.reference + "; lower is better").c_str());
  out +=
      line("classes covered", std::to_string(r.histogram.covered) + " / " + std::to_string(r.histogram.counts.size()),
           ">= 1/4 of the uniform share each");
  out += line("KL(classes || uniform)", num("%.4f", r.histogram.kl_uniform), "nats; 0 balanced, 2.303 one class");
  if (r.accuracy) out += line("accuracy on labels", num("%.4f", *r.accuracy), "classifier agrees with the label");
  out += line("classifier test accuracy", num("%.4f", r.classifier_test_accuracy), "on the 10k test images");
  std::string counts;
  for (size_t c = 0; c < r.histogram.counts.size(); ++c) {
    if (c) counts += ' ';
    counts += std::to_string(r.histogram.counts[c]);
  }
  out += "  class counts: " + counts + "\n";
  return out;
}

Evaluator::Evaluator(const std::string& classifier_path, const std::string& data_dir)
    : classifier_(load_classifier(classifier_path.empty() ? default_classifier_path() : classifier_path)) {
  DatasetOptions o;
  o.dir = data_dir;
  o.train = false;
  test_ = load_dataset(o);
  test_stats_ = gaussian_stats(classifier_.model->features(test_.images));
}

EvalResult Evaluator::evaluate(const Tensor& images, const Tensor* labels) {
  return evaluate(images, labels, test_stats_, "test set (" + std::to_string(test_.images.size(0)) + ")");
}

EvalResult Evaluator::evaluate(const Tensor& images, const Tensor* labels, const GaussianStats& reference,
                               const std::string& reference_name) {
  Classifier& c = *classifier_.model;
  Tensor features = c.features(images);
  EvalResult r;
  r.n = images.size(0);
  r.reference = reference_name;
  r.fd = frechet_distance(gaussian_stats(features), reference);
  Tensor predicted;
  {
    NoGradGuard off;
    c.eval();
    predicted = argmax(c.head(features), 1);
  }
  const std::vector<int64_t> classes = predicted.to_vector<int64_t>();
  r.histogram = class_histogram(classes);
  if (labels) {
    GANTRY_CHECK(labels->dim() == 1 && labels->size(0) == r.n, "evaluate: ", r.n, " images but labels of shape ",
                 shape_str(labels->shape()));
    const std::vector<int64_t> wanted = labels->to(DType::i64).to_vector<int64_t>();
    int64_t right = 0;
    for (size_t i = 0; i < wanted.size(); ++i) right += classes[i] == wanted[i];
    r.accuracy = (double)right / (double)r.n;
  }
  r.classifier_test_accuracy = classifier_.test_accuracy;
  return r;
}

}  // namespace gantry::gan
