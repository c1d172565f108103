// The quality metric (gan/eval/metrics.hpp) and its classifier (gan/eval/classifier.hpp):
// the Fréchet distance against closed forms, the matrix square root, the class
// histogram, the shipped classifier's accuracy and the metric's scale on real test
// images and on noise, and the errors for a missing or corrupt classifier file.
#include <doctest/doctest.h>
#include <unistd.h>

#include <Eigen/QR>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "gan/data/dataset.hpp"
#include "gan/eval/metrics.hpp"
#include "test_util.hpp"

using namespace gantry;
using namespace gantry::gan;
namespace fs = std::filesystem;

namespace {

// A random orthogonal matrix (Q of a QR of Gaussian entries), from a fixed seed.
Eigen::MatrixXd random_rotation(int n, unsigned seed) {
  auto v = testing::random_values<double>(n * n, seed);
  Eigen::MatrixXd a = Eigen::Map<Eigen::MatrixXd>(v.data(), n, n);
  return Eigen::HouseholderQR<Eigen::MatrixXd>(a).householderQ();
}

// Gaussians with covariances Q diag(s^2) Q^T: they commute, so the Fréchet distance
// has the closed form ||mu1 - mu2||^2 + sum_i (s1_i - s2_i)^2.
GaussianStats rotated_gaussian(const Eigen::MatrixXd& q, const Eigen::VectorXd& mu, const Eigen::VectorXd& sd) {
  return {mu, q * sd.array().square().matrix().asDiagonal() * q.transpose()};
}

// The first 2000 test images and their classifier features, computed once.
struct TestFeatures {
  LoadedClassifier classifier;
  Dataset test;
  Tensor features;
};
TestFeatures& test_features() {
  static TestFeatures t = [] {
    TestFeatures f{load_classifier(default_classifier_path()), {}, {}};
    DatasetOptions o;
    o.train = false;
    o.limit = 2000;
    f.test = load_dataset(o);
    f.features = f.classifier.model->features(f.test.images);
    return f;
  }();
  return t;
}

// 256 training and 64 test images of random pixels as IDX files, so training the
// classifier in a test does not read the 60k training set.
std::string tiny_data() {
  fs::path dir = fs::temp_directory_path() / ("gantry_metrics_data_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Rng g(9);
  for (auto [split, n] : {std::pair<std::string, int64_t>{"train", 256}, {"t10k", 64}}) {
    IdxImages im{n, 28, 28, {}};
    for (float v : rand({n, 28, 28}, DType::f32, &g, 0, 255).to_vector<float>()) im.pixels.push_back((uint8_t)v);
    std::vector<uint8_t> labels;
    for (int64_t i = 0; i < n; ++i) labels.push_back((uint8_t)(i % 10));
    write_idx_images((dir / (split + "-images-idx3-ubyte")).string(), im);
    write_idx_labels((dir / (split + "-labels-idx1-ubyte")).string(), labels);
  }
  return dir.string();
}

std::string temp_file(const std::string& name) {
  return (fs::temp_directory_path() / ("gantry_metrics_" + std::to_string(::getpid()) + "_" + name)).string();
}

}  // namespace

TEST_CASE("Fréchet distance of diagonal Gaussians matches the closed form") {
  Eigen::VectorXd mu1(3), mu2(3), s1(3), s2(3);
  mu1 << 0.5, -1, 2;
  mu2 << 1.5, -1, 0;
  s1 << 1, 2, 0.5;
  s2 << 3, 2, 0.25;
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(3, 3);
  const double want = (mu1 - mu2).squaredNorm() + (s1 - s2).squaredNorm();  // 5 + 4.0625
  CHECK(frechet_distance(rotated_gaussian(identity, mu1, s1), rotated_gaussian(identity, mu2, s2)) ==
        doctest::Approx(want).epsilon(1e-12));
  CHECK(frechet_distance(rotated_gaussian(identity, mu1, s1), rotated_gaussian(identity, mu1, s1)) ==
        doctest::Approx(0).epsilon(1e-12));
}

TEST_CASE("Fréchet distance of rotated (full, commuting) covariances matches the closed form, both ways") {
  const int n = 11;
  const Eigen::MatrixXd q = random_rotation(n, 3);
  auto r = testing::random_values<double>(4 * n, 4, 0.1, 3);
  Eigen::VectorXd mu1 = Eigen::Map<Eigen::VectorXd>(r.data(), n), mu2 = Eigen::Map<Eigen::VectorXd>(r.data() + n, n);
  Eigen::VectorXd s1 = Eigen::Map<Eigen::VectorXd>(r.data() + 2 * n, n);
  Eigen::VectorXd s2 = Eigen::Map<Eigen::VectorXd>(r.data() + 3 * n, n);
  const double want = (mu1 - mu2).squaredNorm() + (s1 - s2).squaredNorm();
  const GaussianStats a = rotated_gaussian(q, mu1, s1), b = rotated_gaussian(q, mu2, s2);
  CHECK(frechet_distance(a, b) == doctest::Approx(want).epsilon(1e-9));
  CHECK(frechet_distance(b, a) == doctest::Approx(want).epsilon(1e-9));
}

TEST_CASE("Fréchet distance of non-commuting covariances is symmetric and matches the 1-d and scalar cases") {
  // Independent random SPD matrices: the distance must not depend on the order.
  const int n = 9;
  auto va = testing::random_values<double>(n * n, 5), vb = testing::random_values<double>(n * n, 6);
  Eigen::MatrixXd a = Eigen::Map<Eigen::MatrixXd>(va.data(), n, n), b = Eigen::Map<Eigen::MatrixXd>(vb.data(), n, n);
  GaussianStats x{Eigen::VectorXd::Zero(n), a * a.transpose()}, y{Eigen::VectorXd::Ones(n), b * b.transpose()};
  const double xy = frechet_distance(x, y);
  CHECK(xy == doctest::Approx(frechet_distance(y, x)).epsilon(1e-9));
  CHECK(xy > (double)n);  // at least the mean term ||0 - 1||^2 = n
  // Scaling both covariances by c^2 scales the trace terms by c^2.
  GaussianStats x2{x.mu, 4 * x.sigma}, y2{x.mu, 4 * y.sigma}, y1{x.mu, y.sigma};
  CHECK(frechet_distance(x2, y2) == doctest::Approx(4 * frechet_distance(x, y1)).epsilon(1e-9));
}

TEST_CASE("sqrtm_psd squares back to its input, also for a singular matrix") {
  const int n = 13;
  auto v = testing::random_values<double>(n * n, 7);
  Eigen::MatrixXd b = Eigen::Map<Eigen::MatrixXd>(v.data(), n, n);
  Eigen::MatrixXd a = b * b.transpose();
  Eigen::MatrixXd root = sqrtm_psd(a);
  CHECK((root * root - a).norm() <= 1e-10 * a.norm());
  CHECK((root - root.transpose()).norm() <= 1e-12 * root.norm());
  // Rank 3: rounding leaves eigenvalues like -1e-16, which must clamp to 0, not NaN.
  Eigen::MatrixXd thin = b.leftCols(3) * b.leftCols(3).transpose();
  Eigen::MatrixXd thin_root = sqrtm_psd(thin);
  CHECK(thin_root.allFinite());
  CHECK((thin_root * thin_root - thin).norm() <= 1e-10 * thin.norm());
}

TEST_CASE("gaussian_stats: the mean and the unbiased covariance of the rows") {
  Tensor f = tensor({1, 2, 3, 5, 5, 11, 7, 6}, {4, 2});
  GaussianStats s = gaussian_stats(f);
  // x = 1,3,5,7 (mean 4); y = 2,5,11,6 (mean 6); sums of products divided by N - 1 = 3.
  CHECK(s.mu(0) == doctest::Approx(4));
  CHECK(s.mu(1) == doctest::Approx(6));
  CHECK(s.sigma(0, 0) == doctest::Approx(20.0 / 3));
  CHECK(s.sigma(1, 1) == doctest::Approx(42.0 / 3));
  CHECK(s.sigma(0, 1) == doctest::Approx(18.0 / 3));
  CHECK(s.sigma(1, 0) == doctest::Approx(s.sigma(0, 1)));
  CHECK(testing::error_of([] { gaussian_stats(zeros({1, 4})); }).find("at least 2") != std::string::npos);
}

TEST_CASE("class histogram: one class is 1 covered and KL log(10); balanced is 10 and 0") {
  ClassHistogram one = class_histogram(std::vector<int64_t>(500, 7));
  CHECK(one.covered == 1);
  CHECK(one.counts[7] == 500);
  CHECK(one.kl_uniform == doctest::Approx(std::log(10.0)));
  std::vector<int64_t> balanced;
  for (int i = 0; i < 1000; ++i) balanced.push_back(i % 10);
  ClassHistogram all = class_histogram(balanced);
  CHECK(all.covered == 10);
  CHECK(all.kl_uniform == doctest::Approx(0).epsilon(1e-12));
  // The threshold is a quarter of the uniform share: N = 400 -> 10 images.
  std::vector<int64_t> skewed(400 - 10 - 9, 0);
  skewed.insert(skewed.end(), 10, 1);  // exactly N/40: covered
  skewed.insert(skewed.end(), 9, 2);   // one short: not covered
  ClassHistogram h = class_histogram(skewed);
  CHECK(h.covered == 2);
  const double p0 = 381.0 / 400, p1 = 10.0 / 400, p2 = 9.0 / 400;
  CHECK(h.kl_uniform == doctest::Approx(p0 * std::log(10 * p0) + p1 * std::log(10 * p1) + p2 * std::log(10 * p2)));
  CHECK(testing::error_of([] { class_histogram({3, 10}); }).find("outside") != std::string::npos);
}

TEST_CASE("the shipped classifier loads and is >= 90% accurate on 2000 test images") {
  TestFeatures& t = test_features();
  CHECK(t.classifier.model->parameter_count() < 250000);
  CHECK(t.classifier.test_accuracy >= 0.90);  // what training measured on all 10k
  CHECK(t.features.shape() == Shape{2000, kClassifierFeatures});
  CHECK(t.features.to_vector<float>() == t.classifier.model->features(t.test.images, 777).to_vector<float>());
  const double accuracy = classifier_accuracy(*t.classifier.model, t.test.images, t.test.labels);
  MESSAGE("shipped classifier: accuracy " << accuracy << " on the first 2000 test images");
  CHECK(accuracy >= 0.90);
  Tensor p = t.classifier.model->predict(t.test.images.narrow(0, 0, 50));
  CHECK(p.shape() == Shape{50, 10});
  testing::check_close(sum(p, {1}).to_vector<float>(), std::vector<double>(50, 1.0), 1e-5, "probabilities sum");
}

TEST_CASE("FD-classifier: ~0 for test images against themselves, small for two halves, large for noise") {
  TestFeatures& t = test_features();
  const GaussianStats first = gaussian_stats(t.features.narrow(0, 0, 1000));
  const GaussianStats second = gaussian_stats(t.features.narrow(0, 1000, 1000));
  CHECK(frechet_distance(first, first) <= 1e-6 * first.sigma.trace());
  const double halves = frechet_distance(first, second);
  Rng gen(11);
  Tensor noise = rand({1000, 1, 28, 28}, DType::f32, &gen, -1, 1);
  const double to_noise = frechet_distance(gaussian_stats(t.classifier.model->features(noise)), second);
  MESSAGE("FD-classifier: test[0:1000] vs test[1000:2000] " << halves << ", noise vs test[1000:2000] " << to_noise
                                                            << ", tr(S) " << first.sigma.trace());
  CHECK(halves > 0);
  CHECK(halves < 0.05 * first.sigma.trace());
  CHECK(to_noise > 50 * halves);
}

TEST_CASE("a missing, corrupt or foreign classifier file is an error naming the path") {
  const std::string missing = temp_file("missing.safetensors");
  std::string e = testing::error_of([&] { load_classifier(missing); });
  CHECK(e.find(missing) != std::string::npos);
  CHECK(e.find("no such file") != std::string::npos);

  const std::string corrupt = temp_file("corrupt.safetensors");
  std::ofstream(corrupt, std::ios::binary) << "not a safetensors file at all, just text";
  e = testing::error_of([&] { load_classifier(corrupt); });
  CHECK(e.find(corrupt) != std::string::npos);
  CHECK(e.find("classifier") != std::string::npos);

  // A well-formed checkpoint of another model.
  const std::string foreign = temp_file("foreign.safetensors");
  nn::save_checkpoint(foreign, nn::Linear(3, 2));
  e = testing::error_of([&] { load_classifier(foreign); });
  CHECK(e.find(foreign) != std::string::npos);
  fs::remove(corrupt);
  fs::remove(foreign);
}

TEST_CASE("classifier training is deterministic and round-trips through its checkpoint") {
  ClassifierTrainOptions o;
  o.epochs = 1;
  o.data_dir = tiny_data();
  o.batch_size = 64;
  o.progress = false;
  o.command = "test";
  TrainedClassifier a = train_classifier(o), b = train_classifier(o);
  auto pa = a.model->named_parameters(), pb = b.model->named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) CHECK(pa[i].second.to_vector<float>() == pb[i].second.to_vector<float>());
  CHECK(a.metadata.at("epochs") == "1");
  CHECK(a.metadata.at("command") == "test");

  const std::string path = temp_file("trained.safetensors");
  save_classifier(path, a);
  LoadedClassifier loaded = load_classifier(path);
  CHECK(loaded.test_accuracy == doctest::Approx(a.test_accuracy).epsilon(1e-4));
  Rng gen(2);
  Tensor x = rand({5, 1, 28, 28}, DType::f32, &gen, -1, 1);
  CHECK(loaded.model->predict(x).to_vector<float>() == a.model->predict(x).to_vector<float>());
  fs::remove(path);
  fs::remove_all(o.data_dir);
}

TEST_CASE("Evaluator: a test set against its own statistics is FD 0, with the label accuracy and the table") {
  const std::string data = tiny_data();
  Evaluator ev(default_classifier_path(), data);
  const Dataset& test = ev.test_set();
  REQUIRE(test.images.size(0) == 64);
  EvalResult r = ev.evaluate(test.images, &test.labels);
  CHECK(r.n == 64);
  CHECK(r.fd <= 1e-6 * ev.test_stats().sigma.trace());
  REQUIRE(r.accuracy.has_value());
  CHECK(*r.accuracy == doctest::Approx(classifier_accuracy(ev.classifier(), test.images, test.labels)));
  int64_t total = 0;
  for (int64_t c : r.histogram.counts) total += c;
  CHECK(total == 64);
  CHECK(r.classifier_test_accuracy >= 0.90);
  const std::string table = format_eval_table(r, "tiny");
  for (const char* row : {"FD-classifier", "classes covered", "KL(classes || uniform)", "accuracy on labels",
                          "classifier test accuracy", "class counts"})
    CHECK(table.find(row) != std::string::npos);
  // Unlabelled samples have no accuracy row; a shifted set is farther away.
  EvalResult shifted = ev.evaluate(clamp(test.images + 0.5, -1.0, 1.0));
  CHECK(!shifted.accuracy.has_value());
  CHECK(shifted.fd > r.fd);
  CHECK(format_eval_table(shifted, "tiny").find("accuracy on labels") == std::string::npos);
  CHECK(testing::error_of([&] { ev.evaluate(zeros({3, 1, 32, 32})); }).find("[N, 1, 28, 28]") != std::string::npos);
  fs::remove_all(data);
}
