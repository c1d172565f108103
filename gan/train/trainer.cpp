#include "gan/train/trainer.hpp"

#include <omp.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gan/data/dataset.hpp"
#include "gan/eval/image_grid.hpp"
#include "gan/eval/metrics.hpp"
#include "gan/train/progress.hpp"

namespace gantry::gan {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kFixedLatentSeed = 0xF1A5;  // the sample grid's latents, the same every epoch
constexpr uint64_t kEvalSeed = 0xE7A1;        // the metric's latents, the same every evaluation

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  GANTRY_CHECK(name == "cuda", "train: --device must be cpu or cuda, got '", name, "'");
#if GANTRY_HAS_CUDA
  return Device::cuda(0);
#else
  throw Error("--device cuda: this gantry was built with GANTRY_CUDA=off, so only the cpu device exists");
#endif
}

// The model to train: fresh from the options, or from --resume (which must be the same variant).
LoadedGan start_model(const TrainOptions& o) {
  const int64_t size = o.pad32 ? 32 : 28;
  if (o.resume.empty()) return {make_gan(config_from_options(o), o.seed), 0, 0};
  LoadedGan loaded = load_gan_checkpoint(o.resume);
  const GanConfig& c = loaded.model->config;
  GANTRY_CHECK(c.variant == o.variant, "train: --resume ", o.resume, " is a ", c.variant,
               " checkpoint, not ", o.variant);
  GANTRY_CHECK(c.image_size == size, "train: checkpoint ", o.resume, " is for ", c.image_size, "x", c.image_size,
               " images but the data is ", size, "x", size);
  return loaded;
}

// Latents (and labels) of the per-epoch grid: 64 images, or for a conditional model one
// class per row with the same 8 latents in every row.
void fixed_grid(GanModel& m, Tensor& z, Tensor& labels) {
  Generator fixed(kFixedLatentSeed);
  if (!m.conditional()) {
    z = m.latents(64, &fixed);
    return;
  }
  Tensor row = m.latents(8, &fixed);
  std::vector<Tensor> rows(m.config.num_classes, row);
  z = cat(rows, 0);
  std::vector<int64_t> y;
  for (int64_t k = 0; k < m.config.num_classes; ++k)
    for (int i = 0; i < 8; ++i) y.push_back(k);
  labels = from_indices(y, {(int64_t)y.size()}, m.device());
}

}  // namespace

GanConfig config_from_options(const TrainOptions& o) {
  GanConfig c = variant_defaults(o.variant);
  c.image_size = o.pad32 ? 32 : 28;
  c.z_dim = o.z_dim;
  c.width = o.width;
  c.real_label = o.real_label;
  if (o.lr) c.lr = *o.lr;
  if (o.beta1) c.beta1 = *o.beta1;
  if (o.beta2) c.beta2 = *o.beta2;
  if (o.n_critic) c.n_critic = *o.n_critic;
  GANTRY_CHECK(c.n_critic >= 1, "train: --n-critic must be at least 1, got ", c.n_critic);
  c.clip = o.clip;
  c.gp_lambda = o.gp_lambda;
  c.critic_layer_norm = o.critic_layer_norm;
  c.instance_noise = o.instance_noise;
  c.ema = o.ema;
  GANTRY_CHECK(c.ema >= 0 && c.ema < 1, "train: --ema must be in [0, 1), got ", c.ema);
  GANTRY_CHECK(c.instance_noise >= 0, "train: --instance-noise must be >= 0, got ", c.instance_noise);
  return c;
}

Samples draw_samples(GanModel& m, int64_t n, uint64_t seed, int64_t class_index, const std::string& checkpoint) {
  GANTRY_CHECK(n > 0, "sample: --n must be positive, got ", n);
  Generator gen(seed);
  const int64_t k = m.config.num_classes;
  if (!m.conditional()) {
    GANTRY_CHECK(class_index < 0, "--class ", class_index, ": checkpoint ", checkpoint, " is a ", m.config.variant,
                 " model, which is not class-conditional (only cgan takes --class)");
    return {m.sample(m.latents(n, &gen)), (int64_t)std::ceil(std::sqrt((double)n))};
  }
  GANTRY_CHECK(class_index < k, "--class ", class_index, ": checkpoint ", checkpoint, " has classes 0..", k - 1);
  if (class_index >= 0) {
    Tensor labels = from_indices(std::vector<int64_t>(n, class_index), {n}, m.device());
    return {m.sample(m.latents(n, &gen), labels), (int64_t)std::ceil(std::sqrt((double)n))};
  }
  const int64_t cols = (n + k - 1) / k;  // one class per row, the same latents in every row
  Tensor row = m.latents(cols, &gen);
  std::vector<int64_t> y;
  for (int64_t c = 0; c < k; ++c)
    for (int64_t i = 0; i < cols; ++i) y.push_back(c);
  Tensor z = cat(std::vector<Tensor>(k, row), 0);
  return {m.sample(z, from_indices(y, {k * cols}, m.device())), cols};
}

Tensor generate_for_eval(GanModel& m, int64_t n, uint64_t seed, Tensor* labels) {
  Generator gen(seed);
  Tensor z = m.latents(n, &gen);
  Tensor y;
  if (m.conditional()) {
    std::vector<int64_t> ys(n);
    for (int64_t i = 0; i < n; ++i) ys[i] = i % m.config.num_classes;
    y = from_indices(ys, {n}, m.device());
  }
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < n; start += 1000) {
    const int64_t len = std::min<int64_t>(1000, n - start);
    parts.push_back(m.sample(z.narrow(0, start, len), y.defined() ? y.narrow(0, start, len) : Tensor())
                        .to(Device::cpu()));
  }
  if (labels) *labels = y.defined() ? y.to(Device::cpu()) : Tensor();
  return parts.size() == 1 ? parts[0] : cat(parts, 0);
}

namespace {

// The metric on the model's samples after `epoch`, appended to metrics.csv and printed.
struct EpochEvaluation {
  std::unique_ptr<Evaluator> evaluator;
  std::ofstream csv;

  EpochEvaluation(const TrainOptions& o, const GanModel& m) {
    if (o.eval_every <= 0) return;
    GANTRY_CHECK(m.config.image_size == 28, "train: --eval-every needs 28x28 images (the classifier's size); drop --pad32");
    GANTRY_CHECK(o.eval_n >= 2, "train: --eval-n must be at least 2, got ", o.eval_n);
    evaluator = std::make_unique<Evaluator>(o.classifier, o.data_dir);
    const std::string path = (fs::path(o.out_dir) / "metrics.csv").string();
    const bool fresh = o.resume.empty() || !fs::exists(path);
    csv.open(path, fresh ? std::ios::trunc : std::ios::app);
    GANTRY_CHECK(csv.good(), "train: cannot write ", path);
    if (fresh) csv << "epoch,step,n,fd_classifier,classes_covered,kl_uniform,label_accuracy\n";
  }

  void maybe_run(const TrainOptions& o, GanModel& m, int64_t epoch, int64_t step) {
    if (!evaluator || (epoch % o.eval_every != 0 && epoch != o.epochs)) return;
    Tensor labels;
    Tensor images = generate_for_eval(m, o.eval_n, kEvalSeed, &labels);
    EvalResult r = evaluator->evaluate(images, labels.defined() ? &labels : nullptr);
    csv << epoch << ',' << step << ',' << r.n << ',' << r.fd << ',' << r.histogram.covered << ','
        << r.histogram.kl_uniform << ',';
    if (r.accuracy) csv << *r.accuracy;
    csv << '\n';
    csv.flush();
    if (o.progress)
      std::printf("  epoch %lld: FD-classifier %.2f, %lld/10 classes covered, KL to uniform %.4f\n",
                  (long long)epoch, r.fd, (long long)r.histogram.covered, r.histogram.kl_uniform);
    std::fflush(stdout);  // before the next epoch's progress bar (on stderr)
  }
};

}  // namespace

TrainResult train(const TrainOptions& o) {
  variant_defaults(o.variant);  // an unknown variant fails before any data is read
  GANTRY_CHECK(o.epochs >= 0 && o.batch_size > 0, "train: epochs must be >= 0 and batch size > 0");
  const Device device = parse_device(o.device);
  if (o.threads > 0) omp_set_num_threads(o.threads);

  DatasetOptions dopt;
  dopt.dir = o.data_dir;
  dopt.pad_to_32 = o.pad32;
  dopt.classes = o.classes;
  dopt.limit = o.limit;
  Dataset data = load_dataset(dopt);
  GANTRY_CHECK(data.images.size(0) >= o.batch_size, "train: the data set has ", data.images.size(0),
               " images, fewer than one batch of ", o.batch_size);

  LoadedGan start = start_model(o);
  std::unique_ptr<GanModel> model = std::move(start.model);
  int64_t step = start.step;
  model->to(device);

  fs::create_directories(o.out_dir);
  TrainResult r;
  r.checkpoint = (fs::path(o.out_dir) / "checkpoint.safetensors").string();
  r.log = (fs::path(o.out_dir) / "log.csv").string();
  const bool fresh_log = o.resume.empty() || !fs::exists(r.log);
  std::ofstream log(r.log, fresh_log ? std::ios::trunc : std::ios::app);
  GANTRY_CHECK(log.good(), "train: cannot write ", r.log);
  if (fresh_log) {
    log << "epoch,step";
    for (auto& c : model->log_columns()) log << ',' << c;
    log << '\n';
  }

  Tensor fixed_z, fixed_labels;
  fixed_grid(*model, fixed_z, fixed_labels);
  EpochEvaluation evaluation(o, *model);
  BatchIterator batches(data, o.batch_size, o.seed, true);
  const double total_steps = std::max<double>(1, (double)o.epochs * batches.batches_per_epoch());
  double seconds = 0;
  int64_t images = 0;
  for (int64_t epoch = start.epoch; epoch < o.epochs; ++epoch) {
    batches.start_epoch(epoch);
    ProgressBar bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs),
                    batches.batches_per_epoch(), o.batch_size);
    Tensor real, labels;
    int64_t done = 0;
    StepLosses last{};
    while (batches.next(real, labels)) {
      model->set_progress((double)step / total_steps);
      last = model->step(real.to(device), labels);
      r.losses.push_back(last);
      ++step, ++done;
      log << epoch + 1 << ',' << step;
      for (double v : model->log_values(last)) log << ',' << v;
      log << '\n';
      if (o.progress) bar.update(done, model->status(last));
    }
    if (o.progress) bar.finish(model->status(last));
    seconds += bar.seconds();
    images += done * o.batch_size;
    log.flush();
    char name[64];
    std::snprintf(name, sizeof name, "samples_epoch_%03lld.png", (long long)(epoch + 1));
    r.samples = (fs::path(o.out_dir) / name).string();
    save_image_grid(r.samples, model->sample(fixed_z, fixed_labels).to(Device::cpu()), 8, 2, 2);
    save_gan_checkpoint(r.checkpoint, *model, step, epoch + 1);
    r.epochs = epoch + 1;
    evaluation.maybe_run(o, *model, epoch + 1, step);
  }
  r.steps = step;
  r.seconds = seconds;
  r.images_per_second = seconds > 0 ? (double)images / seconds : 0;
  return r;
}

}  // namespace gantry::gan
