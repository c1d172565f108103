// gan/train/model.hpp — what every GAN of the zoo is to the trainer, the checkpoints,
// `gantry sample` and `gantry eval`: named nets, named optimizers (each over one or more
// nets), named EMA copies, a step on a Batch that reports named losses, and how it samples.
//
// A variant subclasses GanModel in its own file (gan/zoo/), builds its nets in its
// constructor with add_net / add_optimizer / add_ema, writes step(), and registers itself
// (gan/train/registry.hpp). Checkpoint names: net "G" -> "G.main.0.weight", optimizer "g"
// -> "opt_g.0.exp_avg" and metadata "opt_g_steps". Like LightningModule, the model owns
// its optimization (manual optimization: step() runs its own backward and optimizer steps);
// like the CycleGAN reference's BaseModel, its nets and optimizers are found by name.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gan/train/registry.hpp"
#include "nn/optim.hpp"

namespace gantry::gan {

// One training batch, on the model's device when the trainer hands it over.
struct Batch {
  Tensor images;    // [N, C, S, S] in [-1, 1] (domain A for two-domain variants)
  Tensor labels;    // int64 [N] when the source has labels, else undefined
  Tensor images_b;  // [M, C, S, S], domain B (two-domain variants only), else undefined
  int64_t size() const { return images.size(0); }
  Batch to(Device d) const;
};

// One step's numbers by name, in the order of the model's loss_names().
class Losses {
 public:
  void set(const std::string& name, double v);
  double operator[](const std::string& name) const;  // throws on an unknown name
  bool has(const std::string& name) const;
  const std::vector<std::pair<std::string, double>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, double>> items_;
};

// How a model draws images: from latents z, from latents and class labels, or by
// translating images of one domain into the other (directions "a2b", "b2a").
enum class Sampling { latents, latents_and_classes, images };

// The named nets, as one Module so checkpoints hold "<net>.<param>".
class NetDict : public nn::Module {
 public:
  void add(const std::string& name, std::shared_ptr<nn::Module> m) { register_module(name, std::move(m)); }
};

// The images of a sample grid and its row width.
struct SampleGrid {
  Tensor images;
  int64_t nrow = 8;
};

class GanModel {
 public:
  // h: the variant's hyperparameters (the base reads "instance_noise" when declared);
  // shape: the images it is built for; seed: the latent/noise generator's seed.
  GanModel(const Hyperparams& h, ModelShape shape, uint64_t seed);
  virtual ~GanModel() = default;
  GanModel(const GanModel&) = delete;
  GanModel& operator=(const GanModel&) = delete;

  // One training step on a batch on the model's device.
  virtual Losses step(const Batch& b) = 0;
  // The names step() reports, in order: the loss log's columns after "epoch,step".
  virtual std::vector<std::string> loss_names() const = 0;
  // The progress bar's status: "name value" for each loss (variants may shorten it).
  virtual std::string status(const Losses& l) const;

  virtual Sampling sampling() const = 0;
  // Latent variants: the latent size, and the class count (latents_and_classes).
  virtual int64_t z_dim() const { return 0; }
  virtual int64_t num_classes() const { return 0; }
  // N(0, 1) latents [n, z_dim()] on the model's device. With gen == &noise in a
  // data-parallel run, this rank's n rows of the global batch's latents.
  Tensor latents(int64_t n, Rng* gen) const;
  // Images [N, C, S, S] from latents z (and labels [N] for latents_and_classes), drawn by
  // the EMA of generator_net() when there is one (and use_ema), else the net itself, in
  // eval mode, without gradients. The default runs net.forward(z) or net.forward_many({z, labels}).
  virtual Tensor sample(const Tensor& z, const Tensor& labels = {}, bool use_ema = true);
  // Image variants: images of one domain translated ("a2b" or "b2a"), in eval mode, no
  // gradients. The default throws (latent variants do not translate).
  virtual Tensor translate(const Tensor& images, const std::string& direction);
  // The per-epoch grid. latents: 64 samples from fixed latents; latents_and_classes: one
  // class per row, the same 8 latents in each; images: rows of fixed.images,
  // translate(a2b), fixed.images_b, translate(b2a) (8 each). Variants may override.
  virtual SampleGrid sample_grid(const Batch& fixed);
  // `gantry sample`'s variant options by name (e.g. StyleGAN's "truncation", "noise_mode",
  // "style_mix"), applied to later sample() calls; returns a grid of the variant's own when an
  // option asks for one (n images, latents from seed). The default refuses any option.
  virtual std::optional<SampleGrid> sample_options(const std::map<std::string, std::string>& opts, int64_t n,
                                                   uint64_t seed) {
    (void)n, (void)seed;
    GANTRY_CHECK(opts.empty(), variant_, " has no sampling option '", opts.begin()->first, "'");
    return std::nullopt;
  }
  // The net sample() draws from (default "G").
  virtual std::string generator_net() const { return "G"; }

  // The nets by name, in the order they were added (EMA copies included).
  nn::Module& net(const std::string& name) const;
  bool has_net(const std::string& name) const;
  const NetDict& nets() const { return *nets_; }
  NetDict& nets() { return *nets_; }
  struct NamedOptimizer {
    std::string name;
    std::vector<std::string> nets;  // the nets whose parameters it updates
    std::unique_ptr<nn::Optimizer> opt;
  };
  const std::vector<NamedOptimizer>& optimizers() const { return optimizers_; }
  nn::Optimizer& optimizer(const std::string& name) const;
  struct Ema {
    std::string name, source;  // the copy and the net it follows
    double decay;
  };
  const std::vector<Ema>& emas() const { return emas_; }

  const std::string& variant() const { return variant_; }
  const Hyperparams& hyper() const { return hyper_; }
  ModelShape shape() const { return shape_; }

  // State beyond the nets, the optimizers and `noise` that an exact --resume needs (e.g.
  // CycleGAN's image pools): tensors saved as "state.<name>", text as metadata
  // "state.<key>". restore_state gets them back (prefixes stripped) after a load; the
  // default accepts only none. Tensors may be on any device.
  virtual nn::Named save_state() const { return {}; }
  virtual std::map<std::string, std::string> save_state_metadata() const { return {}; }
  virtual void restore_state(const nn::Named& tensors, const std::map<std::string, std::string>& meta);

  // Moves every net and optimizer state to device d.
  void to(Device d);
  Device device() const { return device_; }
  // Called by the trainer before each epoch's first step (0-based epoch; also after a
  // resume), e.g. for a per-epoch learning-rate schedule (gan/train/lr_schedule).
  virtual void on_epoch_start(int64_t epoch, int64_t batches_per_epoch) { (void)epoch, (void)batches_per_epoch; }
  // Fraction of training done, in [0, 1]: anneals instance noise (set by the trainer).
  void set_progress(double t) { progress_ = t; }
  // Data-parallel training (set by the trainer): this process is rank `rank` of `size`
  // and every batch step() gets is its rows [rank*n, (rank+1)*n) of a global batch of
  // size*n. Every per-sample draw from `noise` (latents(n, &noise), random_labels,
  // d_input, batch_rand) is then made for the global batch and cut to this rank's rows,
  // so `noise` advances as in one process and the ranks together use one process's
  // numbers. size 1 (the default): draws are made as they always were.
  void set_data_parallel(int rank, int size);
  int dp_rank() const { return dp_rank_; }
  int dp_size() const { return dp_size_; }
  double progress() const { return progress_; }

  Rng noise;  // draws latents, labels, interpolation weights and instance noise
  // What the model was trained on, set by the trainer and saved as checkpoint metadata
  // "data.<key>": two-domain variants get "domain_a"/"domain_b" (Fashion-MNIST class
  // numbers, comma-separated) or "folder_a"/"folder_b", so `gantry eval` judges the right
  // domains. Empty for checkpoints written before it existed.
  std::map<std::string, std::string> data_info;

 protected:
  // Registers a net under name (checkpoint prefix "<name>.").
  std::shared_ptr<nn::Module> add_net(const std::string& name, std::shared_ptr<nn::Module> m);
  // An optimizer over the parameters of `nets` (in that order), built by make(params).
  nn::Optimizer& add_optimizer(const std::string& name, std::vector<std::string> nets,
                               const std::function<std::unique_ptr<nn::Optimizer>(std::vector<Tensor>)>& make);
  // An EMA copy `copy` (same architecture) of net `source`, registered as net `name` and
  // set equal to it; update_emas() moves it: copy = decay * copy + (1 - decay) * source.
  void add_ema(const std::string& name, const std::string& source, std::shared_ptr<nn::Module> copy, double decay);
  // Every EMA copy one step towards its source; buffers (batchnorm statistics) copied.
  void update_emas();
  // D's input with instance noise: x + N(0, sigma_t^2), sigma_t = instance_noise * (1 - progress).
  Tensor d_input(const Tensor& x);
  // Draws n labels uniformly in [0, num_classes()) on the model's device.
  Tensor random_labels(int64_t n);
  // U[0, 1) from `noise` of shape `local` (dim 0: this rank's samples) on the model's
  // device: this rank's rows of the global batch's draw (e.g. WGAN-GP's interpolation weights).
  Tensor batch_rand(const Shape& local);
  // Sets each parameter's .grad to d loss / d parameter for the parameters of `params`
  // only (the engine skips rules off their path), e.g. G's step through D.
  static void set_grads(const Tensor& loss, const std::vector<Tensor>& params);

 private:
  friend std::unique_ptr<GanModel> make_model(const std::string&, const Hyperparams&, ModelShape, uint64_t);
  std::string variant_;
  Hyperparams hyper_;
  ModelShape shape_;
  std::shared_ptr<NetDict> nets_ = std::make_shared<NetDict>();
  std::vector<NamedOptimizer> optimizers_;
  std::vector<Ema> emas_;
  Device device_ = Device::cpu();
  double progress_ = 0, instance_noise_ = 0;
  int dp_rank_ = 0, dp_size_ = 1;
  // draw(global shape) cut to this rank's rows; draw(local) itself on one rank.
  Tensor batch_draw(const Shape& local, const std::function<Tensor(const Shape&)>& draw) const;
};

}  // namespace gantry::gan
