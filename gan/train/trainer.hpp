// gan/train/trainer.hpp — the training loop behind `gantry train <variant>`, the same for
// every variant: data, steps, a progress bar, and each epoch a sample grid from fixed
// latents, a checkpoint and the losses appended to a CSV (columns per variant).
// --resume continues from a checkpoint's step with the same data order, latents and
// optimizer state, so (on the CPU, same seed and threads) the resumed run's losses
// equal the uninterrupted run's.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "gan/zoo/dcgan_step.hpp"
#include "gan/train/gan_checkpoint.hpp"

namespace gantry::gan {

struct TrainOptions {
  std::string variant = "dcgan";  // dcgan, vanilla, cgan, wgan, wgan-gp
  int64_t epochs = 2;
  int64_t batch_size = 64;
  int64_t width = 32;      // channels scale of the conv nets
  int64_t z_dim = 100;
  int64_t limit = 0;       // use only the first `limit` training images (0 = all)
  bool pad32 = false;      // train at 32x32 (zero-padded) instead of 28x28
  std::vector<int> classes;
  std::string data_dir;    // empty: gan::default_data_dir()
  std::string out_dir = "runs/dcgan";
  std::string resume;      // checkpoint to continue from
  std::string device = "cpu";  // cpu or cuda: where the model and each batch live
  uint64_t seed = 0;
  int threads = 0;         // 0: OpenMP's default
  bool progress = true;
  // Hyperparameters; unset ones take the variant's paper defaults (variant_defaults).
  double real_label = 1.0;
  std::optional<double> lr, beta1, beta2;
  std::optional<int64_t> n_critic;
  double clip = 0.01, gp_lambda = 10;
  bool critic_layer_norm = true;
  double instance_noise = 0;  // sigma at the start, annealed linearly to 0 over the run
  double ema = 0;             // decay of G's EMA (0: none)
  // The quality metric (docs/metrics.md) every `eval_every` epochs and after the last one
  // (0: never), on `eval_n` samples, appended to <out>/metrics.csv.
  int64_t eval_every = 0;
  int64_t eval_n = 5000;
  std::string classifier;     // empty: default_classifier_path()
};

// The model configuration these options ask for (paper defaults plus overrides).
GanConfig config_from_options(const TrainOptions& o);

struct TrainResult {
  std::string checkpoint, samples, log;
  int64_t steps = 0, epochs = 0;
  double seconds = 0, images_per_second = 0;
  std::vector<StepLosses> losses;  // every step this run took
};

TrainResult train(const TrainOptions& o);

// Samples for `gantry sample`: n images from latents seeded by `seed`. For a conditional
// model, class_index >= 0 draws that class; class_index < 0 draws a grid with one class
// per row (n rounded up to fill whole rows). `nrow` is the grid's width. Errors name the
// --class flag and the checkpoint file.
struct Samples {
  Tensor images;
  int64_t nrow = 8;
};
// n images [n, 1, S, S] on the cpu for the metric, latents from Generator(seed), drawn in
// chunks of 1000. For a conditional model the labels are 0, 1, ..., k-1, 0, 1, ...
// (balanced) and are returned in *labels; otherwise *labels is left undefined.
Tensor generate_for_eval(GanModel& m, int64_t n, uint64_t seed, Tensor* labels);

Samples draw_samples(GanModel& m, int64_t n, uint64_t seed, int64_t class_index, const std::string& checkpoint);

}  // namespace gantry::gan
