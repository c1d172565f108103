// gan/train/trainer.hpp — the training loop behind `gantry train <variant>`, the same for
// every registered variant: data (gan/data/source.hpp), steps, a progress bar, the loss
// log (one column per loss name), and each epoch a sample grid, a checkpoint and
// optionally the metric. --resume continues from a checkpoint's step with the same data
// order, latents and optimizer state, so (on the CPU, same seed and threads) the resumed
// run's losses equal the uninterrupted run's, and its log is cut back to the checkpoint's
// step first, so a killed run's log stays one row per step.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gan/data/source.hpp"
#include "gan/train/gan_checkpoint.hpp"

namespace gantry::dist {
class Communicator;
}

namespace gantry::gan {

struct TrainOptions {
  std::string variant = "dcgan";  // any registered name (variant_names())
  // Hyperparameter overrides by name (e.g. {"n_critic", "2"}), as text: checked like the
  // flags; names the variant does not declare are errors. Unset ones take the paper's.
  std::map<std::string, std::string> hyper;
  int64_t epochs = 2;
  int64_t batch_size = 64;
  int64_t limit = 0;         // use only the first `limit` training images (0 = all), per domain
  bool pad32 = false;        // train at 32x32 (zero-padded) instead of 28x28 (IDX data)
  std::vector<int> classes;  // one-domain IDX data: keep only these classes (empty: all)
  std::string data_dir;      // IDX folder; empty: gan::default_data_dir()
  // Two-domain variants: domains from classes of the IDX data (names or numbers) ...
  std::vector<std::string> domain_a = {"sneaker"}, domain_b = {"ankle boot"};
  // ... or from two image folders (both set), read at image_size with `channels` channels.
  std::string data_a, data_b;
  int64_t image_size = 28, channels = 1;
  std::string out_dir = "runs/dcgan";
  std::string resume;          // checkpoint to continue from
  std::string device = "cpu";  // cpu or cuda: where the model and each batch live
  uint64_t seed = 0;
  int threads = 0;  // 0: OpenMP's default
  bool progress = true;
  bool detect_anomaly = false;  // check every op's output in forward and backward (core/anomaly.hpp); slow
  // The quality metric (docs/metrics.md) every `eval_every` epochs and after the last one
  // (0: never), on `eval_n` samples, appended to <out>/metrics.csv.
  int64_t eval_every = 0;
  int64_t eval_n = 5000;
  std::string classifier;  // empty: default_classifier_path()
  // Data parallelism (docs/distributed.md): the ranks to train on; null: the launch's
  // (dist::Communicator::world(): N under `mpirun -np N`, else one, today's behaviour).
  // batch_size stays the global batch, split equally by rank.
  dist::Communicator* comm = nullptr;
  bool sync_bn = false;  // with several ranks: batch norm statistics over the global batch
};

// The variant's paper defaults with o.hyper applied (range-checked, errors name the flag).
Hyperparams hyper_from_options(const TrainOptions& o);
// The data source o asks for, of the kind the variant takes.
std::unique_ptr<DataSource> data_from_options(const TrainOptions& o);
// A fresh model for o (hyper_from_options, o.seed) built for images of `shape`.
std::unique_ptr<GanModel> model_from_options(const TrainOptions& o, ModelShape shape = {});

struct TrainResult {
  std::string checkpoint, samples, log;
  int64_t steps = 0, epochs = 0;  // reached (0 epochs when nothing ran)
  int64_t start_epoch = 0;        // the checkpoint's epoch on --resume
  double seconds = 0, images_per_second = 0;
  std::vector<Losses> losses;  // every step this run took
};

// Trains. With several ranks every rank calls it with the same options (checked: a
// difference throws on every rank naming the flag and the rank); rank 0 alone writes the
// log, grids, checkpoints and metrics, the losses are means over ranks, and it returns on
// every rank after rank 0's files are written. Throws gantry::Error on bad options, on a non-finite loss (naming the
// step, the loss and the likely cause; the last good checkpoint is kept) and on write errors (naming the file).
TrainResult train(const TrainOptions& o);

// Samples for `gantry sample`: n images from latents seeded by `seed`. For a conditional
// model, class_index >= 0 draws that class; class_index < 0 draws a grid with one class
// per row (n rounded up to fill whole rows). `nrow` is the grid's width. Errors name the
// --class flag and the checkpoint file.
struct Samples {
  Tensor images;
  int64_t nrow = 8;
};
Samples draw_samples(GanModel& m, int64_t n, uint64_t seed, int64_t class_index, const std::string& checkpoint);

// n images [n, 1, S, S] on the cpu for the metric, latents from Rng(seed), drawn in
// chunks of 1000. For a conditional model the labels are 0, 1, ..., k-1, 0, 1, ...
// (balanced) and are returned in *labels; otherwise *labels is left undefined.
Tensor generate_for_eval(GanModel& m, int64_t n, uint64_t seed, Tensor* labels);

// Cuts a CSV log back to its header and the rows whose `step` column (index step_col) is
// at most max_step, dropping any torn last line; rows of other widths go too. A missing
// file is left missing. Returns the rows kept.
int64_t truncate_log(const std::string& path, const std::string& header, int64_t step_col, int64_t max_step);

}  // namespace gantry::gan
