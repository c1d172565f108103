// gan/eval/evaluate.cpp — `gantry eval` and `gantry classifier train` (gan/eval/evaluate.hpp).
#include "gan/eval/evaluate.hpp"

#include "core/threads.hpp"

#include <chrono>

#include "gan/data/dataset.hpp"
#include "gan/train/gan_checkpoint.hpp"
#include "gan/train/trainer.hpp"

namespace gantry::gan {

namespace {

constexpr uint64_t kNoiseSeed = 0x5EED;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The reference values: how far real images are from real images, and noise from them.
void print_references(Evaluator& ev, std::FILE* out) {
  const Dataset& test = ev.test_set();
  const int64_t n = test.images.size(0), half = n / 2;
  Tensor first = test.images.narrow(0, 0, half), first_labels = test.labels.narrow(0, 0, half);
  Tensor second = test.images.narrow(0, half, n - half);
  const GaussianStats second_stats = gaussian_stats(ev.classifier().features(second));
  const std::string range = "test[" + std::to_string(half) + ":" + std::to_string(n) + "]";
  EvalResult halves = ev.evaluate(first, &first_labels, second_stats, range);
  std::fputs(format_eval_table(halves, "real: test[0:" + std::to_string(half) + "] vs " + range).c_str(), out);

  Rng gen(kNoiseSeed);
  Tensor noise = rand({n, 1, 28, 28}, DType::f32, &gen, -1, 1);
  EvalResult r = ev.evaluate(noise);
  std::fputs(format_eval_table(r, "\nnoise: " + std::to_string(n) + " images of U(-1, 1) pixels vs the test set")
                 .c_str(),
             out);
}

}  // namespace

Tensor generate(const std::string& checkpoint, int64_t n, uint64_t seed, Tensor* labels) {
  LoadedGan loaded = load_gan_checkpoint(checkpoint);
  const ModelShape s = loaded.model->shape();
  GANTRY_CHECK(s.image_size == 28 && s.channels == 1, "eval: checkpoint ", checkpoint, " makes ", s.image_size, "x",
               s.image_size, "x", s.channels, " images; the classifier reads 28x28x1");
  return generate_for_eval(*loaded.model, n, seed, labels);
}

Tensor load_idx_samples(const std::string& path) {
  IdxImages im = read_idx_images(path);
  GANTRY_CHECK(im.rows == 28 && im.cols == 28, "eval: ", path, " holds ", im.rows, "x", im.cols,
               " images; the classifier reads 28x28");
  GANTRY_CHECK(im.n > 1, "eval: ", path, " holds ", im.n, " images; the statistics need at least 2");
  Tensor x = empty({im.n, 1, 28, 28});
  float* px = x.data<float>();
  for (size_t i = 0; i < im.pixels.size(); ++i) px[i] = im.pixels[i] / 127.5f - 1.0f;
  return x;
}

void run_eval(const EvalOptions& o, std::FILE* out) {
  const int modes = !o.samples.empty() + !o.checkpoint.empty() + o.test_set;
  GANTRY_CHECK(modes == 1, "eval: give exactly one of --samples, --checkpoint, --test-set");
  GANTRY_CHECK(o.labels.empty() || !o.samples.empty(), "eval: --labels goes with --samples");
  if (o.threads > 0) gantry::set_num_threads(o.threads);
  if (!o.checkpoint.empty()) {  // a variant with its own evaluation (e.g. image-to-image) runs it
    LoadedGan loaded = load_gan_checkpoint(o.checkpoint);
    const Variant& v = find_variant(loaded.model->variant());
    if (v.eval) {
      v.eval(*loaded.model, o, out);
      return;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  Evaluator ev(o.classifier, o.data_dir);
  std::fprintf(out, "gantry eval: classifier %s (test accuracy %.4f), reference statistics in %.1f s\n\n",
               ev.loaded().path.c_str(), ev.loaded().test_accuracy, seconds_since(start));
  std::fflush(out);
  if (o.test_set) {
    print_references(ev, out);
  } else if (!o.samples.empty()) {
    Tensor images = load_idx_samples(o.samples);
    Tensor labels;
    if (!o.labels.empty()) {
      std::vector<uint8_t> raw = read_idx_labels(o.labels);
      GANTRY_CHECK((int64_t)raw.size() == images.size(0), "eval: ", o.samples, " has ", images.size(0), " images but ",
                   o.labels, " has ", raw.size(), " labels");
      for (size_t i = 0; i < raw.size(); ++i)
        GANTRY_CHECK(raw[i] < 10, "eval: ", o.labels, ": label ", (int)raw[i], " at index ", i,
                     " is not a Fashion-MNIST class (0..9): the classifier's accuracy on it would be meaningless");
      labels = from_indices(std::vector<int64_t>(raw.begin(), raw.end()), {(int64_t)raw.size()});
    }
    EvalResult r = ev.evaluate(images, labels.defined() ? &labels : nullptr);
    std::fputs(format_eval_table(r, "samples: " + o.samples).c_str(), out);
  } else {
    GANTRY_CHECK(o.n > 1, "eval: --n must be at least 2");
    Tensor labels;
    Tensor images = generate(o.checkpoint, o.n, o.seed, &labels);
    EvalResult r = ev.evaluate(images, labels.defined() ? &labels : nullptr);
    std::fputs(format_eval_table(r, "samples: " + std::to_string(o.n) + " from " + o.checkpoint + " (seed " +
                                        std::to_string(o.seed) + ")")
                   .c_str(),
               out);
  }
  std::fprintf(out, "\n(%.1f s in all)\n", seconds_since(start));
}

void run_classifier_train(const ClassifierTrainOptions& o, const std::string& out_path, std::FILE* out) {
  std::fprintf(out, "gantry classifier train: %lld epochs, batch %lld, seed %llu, %d threads\n", (long long)o.epochs,
               (long long)o.batch_size, (unsigned long long)o.seed, o.threads);
  std::fflush(out);
  TrainedClassifier c = train_classifier(o);
  save_classifier(out_path, c);
  std::fprintf(out, "\ngantry: trained in %.1f s; test accuracy %.4f (10000 test images)\n  weights  %s\n", c.seconds,
               c.test_accuracy, out_path.c_str());
}

}  // namespace gantry::gan
