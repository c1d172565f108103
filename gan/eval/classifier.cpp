// gan/eval/classifier.cpp — gantry's Fashion-MNIST classifier (gan/eval/classifier.hpp): the net, training, features.
#include "gan/eval/classifier.hpp"

#include "core/threads.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "gan/data/dataset.hpp"
#include "gan/train/progress.hpp"
#include "nn/init.hpp"
#include "nn/optim.hpp"

#ifndef GANTRY_SOURCE_DIR
#define GANTRY_SOURCE_DIR "."
#endif

namespace gantry::gan {

namespace {

constexpr const char* kFormat = "gantry-fmnist-classifier-1";
constexpr double kDropout = 0.3;

// PyTorch's default initialization, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and
// bias, drawn from `gen` rather than the global generator so training is self-contained.
void reset_parameters(nn::Module& m, Rng& gen) {
  Tensor weight;
  for (const auto& [name, p] : m.named_parameters()) {
    if (p.dim() >= 2) weight = p;
    const double bound = 1.0 / std::sqrt((double)nn::init::fans(weight).in);
    nn::init::uniform_(p, -bound, bound, &gen);
  }
}

// f(chunk) over x in chunks of `batch` rows, concatenated; eval mode, no grad.
template <class F>
Tensor in_chunks(nn::Module& m, const Tensor& x, int64_t batch, F&& f) {
  GANTRY_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28,
               "classifier: images must be [N, 1, 28, 28] in [-1, 1], got ", shape_str(x.shape()));
  GANTRY_CHECK(x.size(0) > 0, "classifier: no images");
  NoGradGuard off;
  const bool was_training = m.is_training();
  m.eval();
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < x.size(0); start += batch)
    parts.push_back(f(x.narrow(0, start, std::min(batch, x.size(0) - start)).to(DType::f32)));
  m.train(was_training);
  return parts.size() == 1 ? parts[0] : cat(parts, 0);
}

}  // namespace

Classifier::Classifier() {
  body_ = register_module("features", std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
                                          std::make_shared<nn::Conv2d>(1, 16, 3, 1, 1),
                                          std::make_shared<nn::ReLU>(),
                                          std::make_shared<nn::Conv2d>(16, 32, 4, 2, 1),
                                          std::make_shared<nn::ReLU>(),
                                          std::make_shared<nn::Conv2d>(32, 64, 4, 2, 1),
                                          std::make_shared<nn::ReLU>(),
                                          std::make_shared<nn::Conv2d>(64, 64, 3, 2, 1),
                                          std::make_shared<nn::ReLU>(),
                                          std::make_shared<nn::Flatten>(),
                                          std::make_shared<nn::Linear>(64 * 4 * 4, kClassifierFeatures),
                                          std::make_shared<nn::ReLU>(),
                                      }));
  head_ = register_module("head", std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
                                      std::make_shared<nn::Dropout>(kDropout),
                                      std::make_shared<nn::Linear>(kClassifierFeatures, kClassifierClasses),
                                  }));
}

Tensor Classifier::forward(const Tensor& x) { return head_->forward(body_->forward(x)); }

Tensor Classifier::head(const Tensor& features) { return head_->forward(features); }

Tensor Classifier::features(const Tensor& x, int64_t batch) {
  return in_chunks(*this, x, batch, [&](const Tensor& b) { return body_->forward(b); });
}

Tensor Classifier::predict(const Tensor& x, int64_t batch) {
  return in_chunks(*this, x, batch, [&](const Tensor& b) { return softmax(forward(b), 1); });
}

double classifier_accuracy(Classifier& c, const Tensor& images, const Tensor& labels) {
  GANTRY_CHECK(labels.dim() == 1 && labels.size(0) == images.size(0), "classifier_accuracy: ", images.size(0),
               " images but labels of shape ", shape_str(labels.shape()));
  std::vector<int64_t> predicted = argmax(c.predict(images), 1).to_vector<int64_t>();
  std::vector<int64_t> truth = labels.to(DType::i64).to_vector<int64_t>();
  int64_t right = 0;
  for (size_t i = 0; i < truth.size(); ++i) right += predicted[i] == truth[i];
  return (double)right / (double)truth.size();
}

TrainedClassifier train_classifier(const ClassifierTrainOptions& o) {
  GANTRY_CHECK(o.epochs > 0 && o.batch_size > 0, "classifier train: epochs and batch size must be positive");
  if (o.threads > 0) gantry::set_num_threads(o.threads);
  DatasetOptions train_opt;
  train_opt.dir = o.data_dir;
  train_opt.limit = o.limit;
  Dataset train = load_dataset(train_opt);
  DatasetOptions test_opt = train_opt;
  test_opt.train = false;
  test_opt.limit = o.test_limit;
  Dataset test = load_dataset(test_opt);

  TrainedClassifier out;
  out.model = std::make_shared<Classifier>();
  Rng init_gen(o.seed);
  reset_parameters(*out.model, init_gen);
  // Dropout draws from the global generator; seeding it here fixes its masks too.
  manual_seed(o.seed ^ 0xD5);
  nn::Adam opt(out.model->parameters(), o.lr);
  BatchIterator batches(train, o.batch_size, o.seed, false);

  const auto start = std::chrono::steady_clock::now();
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    opt.lr = epoch + 1 == o.epochs && o.epochs > 1 ? o.lr / 10 : o.lr;
    batches.start_epoch(epoch);
    ProgressBar bar("classifier epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs),
                    batches.batches_per_epoch(), o.batch_size);
    Tensor x, y;
    int64_t done = 0, seen = 0, right = 0;
    double loss_sum = 0;
    char status[64] = "";
    out.model->train();
    while (batches.next(x, y)) {
      Tensor logits = out.model->forward(x);
      Tensor loss = cross_entropy(logits, y);
      opt.zero_grad();
      loss.backward();
      opt.step();
      NoGradGuard off;
      std::vector<int64_t> pred = argmax(logits, 1).to_vector<int64_t>(), truth = y.to_vector<int64_t>();
      for (size_t i = 0; i < pred.size(); ++i) right += pred[i] == truth[i];
      seen += (int64_t)pred.size();
      loss_sum += loss.item() * (double)pred.size();
      std::snprintf(status, sizeof status, "loss %.4f  train acc %.4f", loss_sum / seen, (double)right / seen);
      if (o.progress) bar.update(++done, status);
    }
    if (o.progress) bar.finish(status);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.test_accuracy = classifier_accuracy(*out.model, test.images, test.labels);

  char acc[32], secs[32];
  std::snprintf(acc, sizeof acc, "%.4f", out.test_accuracy);
  std::snprintf(secs, sizeof secs, "%.1f", out.seconds);
  out.metadata = {
      {"format", kFormat},
      {"architecture", "conv3x3(16) conv4x4s2(32) conv4x4s2(64) conv3x3s2(64) linear(128) dropout(0.3) linear(10)"},
      {"test_accuracy", acc},
      {"epochs", std::to_string(o.epochs)},
      {"batch_size", std::to_string(o.batch_size)},
      {"lr", std::to_string(o.lr)},
      {"seed", std::to_string(o.seed)},
      {"threads", std::to_string(o.threads)},
      {"train_images", std::to_string(train.images.size(0))},
      {"train_seconds", secs},
      {"command", o.command},
  };
  return out;
}

void save_classifier(const std::string& path, const TrainedClassifier& c) {
  nn::save_checkpoint(path, *c.model, {}, c.metadata);
}

LoadedClassifier load_classifier(const std::string& path) {
  GANTRY_CHECK(std::filesystem::exists(path), "classifier ", path,
               ": no such file (the repository ships gan/assets/fashion_mnist_classifier.safetensors; "
               "pass --classifier FILE, set $GANTRY_CLASSIFIER, or make one with "
               "`gantry classifier train --out FILE`)");
  LoadedClassifier out;
  out.path = path;
  out.model = std::make_shared<Classifier>();
  nn::SafetensorsFile f;
  try {
    f = nn::load_checkpoint(path, *out.model);
  } catch (const Error& e) {
    throw Error(detail::concat("classifier ", path, ": cannot load it: ", e.what()));
  }
  out.metadata = f.metadata;
  auto fmt = f.metadata.find("format");
  GANTRY_CHECK(fmt != f.metadata.end() && fmt->second == kFormat, "classifier ", path,
               ": not a gantry classifier (metadata 'format' should be '", kFormat, "')");
  auto acc = f.metadata.find("test_accuracy");
  out.test_accuracy = acc == f.metadata.end() ? std::nan("") : std::atof(acc->second.c_str());
  out.model->eval();
  return out;
}

std::string default_classifier_path() {
  const char* env = std::getenv("GANTRY_CLASSIFIER");
  if (env && *env) return env;
  return (std::filesystem::path(GANTRY_SOURCE_DIR) / "gan" / "assets" / "fashion_mnist_classifier.safetensors")
      .string();
}

}  // namespace gantry::gan
