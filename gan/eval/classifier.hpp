// gan/eval/classifier.hpp — gantry's own Fashion-MNIST classifier: the eye that judges
// the GAN zoo (gan/eval/metrics.hpp). A small CNN of nn layers; strided convolutions
// stand in for pooling:
//
//   x [N,1,28,28] in [-1,1]
//   conv3x3 1->16 pad 1 -> relu            16 x 28x28
//   conv4x4 16->32 stride 2 pad 1 -> relu  32 x 14x14
//   conv4x4 32->64 stride 2 pad 1 -> relu  64 x 7x7
//   conv3x3 64->64 stride 2 pad 1 -> relu  64 x 4x4
//   flatten -> linear 1024->128 -> relu    the penultimate features [N,128]
//   dropout 0.3 -> linear 128->10          logits
//
// About 210k float32 parameters (an 844 kB safetensors file). Trained with Adam on
// the 60k training images in a fixed order from a fixed seed, so with the same
// --threads `gantry classifier train` reproduces the shipped weights
// (gan/assets/fashion_mnist_classifier.safetensors).
#pragma once
#include <memory>
#include <string>

#include "nn/checkpoint.hpp"
#include "nn/layers.hpp"

namespace gantry::gan {

constexpr int64_t kClassifierFeatures = 128;
constexpr int64_t kClassifierClasses = 10;

class Classifier : public nn::Module {
 public:
  Classifier();
  // Logits [N, 10] of images [N, 1, 28, 28] in [-1, 1] (differentiable; honours train/eval).
  Tensor forward(const Tensor& x) override;
  // The penultimate features [N, 128] (after the relu), in eval mode and without
  // grad, `batch` images at a time. Throws unless x is [N, 1, 28, 28].
  Tensor features(const Tensor& x, int64_t batch = 500);
  // Class probabilities [N, 10] (softmax of the logits), in eval mode and without grad.
  Tensor predict(const Tensor& x, int64_t batch = 500);
  // Logits [N, 10] from features [N, 128].
  Tensor head(const Tensor& features);

 private:
  std::shared_ptr<nn::Sequential> body_, head_;
};

struct ClassifierTrainOptions {
  int64_t epochs = 6;
  int64_t batch_size = 128;
  double lr = 1e-3;        // Adam; the last epoch runs at lr / 10
  uint64_t seed = 0;       // initialization, data order and dropout
  int threads = 2;         // fixed by default: the reduction order, hence the bits, depends on it
  std::string data_dir;    // empty: gan::default_data_dir()
  int64_t limit = 0;       // train on the first `limit` images only (0: all; for tests)
  int64_t test_limit = 0;  // measure on the first `test_limit` test images only (0: all 10k)
  bool progress = true;
  std::string command;  // the command line, stored in the checkpoint's metadata
};

struct TrainedClassifier {
  std::shared_ptr<Classifier> model;
  double test_accuracy = 0;  // on the 10k test images (or the first test_limit)
  double seconds = 0;        // training time (without the test pass)
  nn::Metadata metadata;     // what save_classifier writes
};

// Trains a fresh classifier on the training set and measures it on the test set.
TrainedClassifier train_classifier(const ClassifierTrainOptions& o);

// Writes the weights and metadata (format, test_accuracy, epochs, seed, threads,
// train_seconds, command) as a safetensors file.
void save_classifier(const std::string& path, const TrainedClassifier& c);

// Loads a classifier written by save_classifier. Throws gantry::Error naming the
// path when the file is missing, corrupt, or not a gantry classifier.
struct LoadedClassifier {
  std::shared_ptr<Classifier> model;
  nn::Metadata metadata;
  double test_accuracy = 0;  // from the metadata
  std::string path;
};
LoadedClassifier load_classifier(const std::string& path);

// Where the shipped weights are: $GANTRY_CLASSIFIER if set, else
// <source tree>/gan/assets/fashion_mnist_classifier.safetensors.
std::string default_classifier_path();

// The fraction of images whose argmax class equals labels (int64 [N]).
double classifier_accuracy(Classifier& c, const Tensor& images, const Tensor& labels);

}  // namespace gantry::gan
