// gan/train/gan_model.hpp — what every GAN of the zoo shares, so one trainer, one
// checkpoint format and one `gantry sample` serve them all.
//
// A variant is a GanModel subclass in its own file (dcgan_step, vanilla, cgan, wgan,
// wgan_gp) that builds G and D, their optimizers, and writes step(). The base holds
// the configuration (saved as checkpoint metadata), the latent noise generator,
// the tricks that are the same for every variant (instance noise on D's input, an
// EMA copy of G for sampling), and moving everything to a device.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/optim.hpp"

namespace gantry::gan {

// Everything that defines a model and its training; each field is saved in the
// checkpoint's metadata under its own name. variant_defaults() fills lr/betas/n_critic.
struct GanConfig {
  std::string variant = "dcgan";  // dcgan, vanilla, cgan, wgan, wgan-gp
  int64_t image_size = 28;        // 28 or 32 (conv variants); 28 for vanilla
  int64_t z_dim = 100;
  int64_t width = 32;             // channel width f of the conv nets
  int64_t num_classes = 0;        // > 0: conditional (cgan)
  int64_t embed_dim = 10;         // cgan: label embedding size (G's input, D's extra planes)
  double lr = 2e-4, beta1 = 0.5, beta2 = 0.999;
  double real_label = 1.0;        // BCE variants: < 1 is one-sided label smoothing
  int64_t n_critic = 1;           // D (critic) steps per G step
  double clip = 0.01;             // wgan: critic weights clipped to [-clip, clip]
  double gp_lambda = 10;          // wgan-gp: penalty weight
  bool critic_layer_norm = true;  // wgan-gp: layer norm in the critic (false: no normalization)
  double instance_noise = 0;      // sigma of N(0, sigma^2) added to D's inputs, annealed to 0
  double ema = 0;                 // > 0: decay of an exponential moving average of G's weights
};

// The paper's hyperparameters for a variant (lr, betas, n_critic); throws on an unknown name.
GanConfig variant_defaults(const std::string& variant);
// The variants this build has, in the order `gantry train --help` lists them.
const std::vector<std::string>& variant_names();

// One step's numbers. d_loss and g_loss are what D and G minimize (for a critic step
// without a G step, g_loss is -mean D(fake) on that step's fake batch). For BCE
// variants d_real / d_fake are mean sigmoid(D); for WGANs the mean critic outputs.
struct StepLosses {
  double d_loss = 0, g_loss = 0;
  double d_real = 0, d_fake = 0;
  double wasserstein = 0;  // WGANs: mean D(real) - mean D(fake), the W1 estimate
  double gp = 0;           // wgan-gp: the penalty term (lambda included)
};

// G and D (and G's EMA copy) under one Module, so their state is saved with names
// "G.main.0.weight", "D.main.0.weight", "G_ema.main.0.weight".
class GanPair : public nn::Module {
 public:
  GanPair(std::shared_ptr<nn::Module> g, std::shared_ptr<nn::Module> d, std::shared_ptr<nn::Module> g_ema = {}) {
    register_module("G", std::move(g));
    register_module("D", std::move(d));
    if (g_ema) register_module("G_ema", std::move(g_ema));
  }
};

class GanModel {
 public:
  GanModel(GanConfig c, uint64_t seed);
  virtual ~GanModel() = default;

  // One training step on a real batch [N, 1, S, S] in [-1, 1] with its int64 labels [N]
  // (read only by conditional variants; may be undefined otherwise).
  virtual StepLosses step(const Tensor& real, const Tensor& labels) = 0;
  // Images [N, 1, S, S] from latents z [N, z_dim] (and labels [N] when conditional), drawn
  // by the EMA generator when there is one (and use_ema), else G, in eval mode, without
  // gradients.
  Tensor sample(const Tensor& z, const Tensor& labels = {}, bool use_ema = true);
  // N(0, 1) latents [n, z_dim] on the model's device.
  Tensor latents(int64_t n, Generator* gen) const;
  bool conditional() const { return config.num_classes > 0; }

  // The loss log's columns after "epoch,step", and one step's values for them.
  virtual std::vector<std::string> log_columns() const;
  virtual std::vector<double> log_values(const StepLosses& l) const;
  // A short status line for the progress bar.
  virtual std::string status(const StepLosses& l) const;

  // Moves the nets and the optimizer state to device d.
  void to(Device d);
  Device device() const { return device_; }
  // Fraction of training done, in [0, 1]: anneals instance noise (set by the trainer).
  void set_progress(double t) { progress_ = t; }
  // The optimizers by checkpoint prefix: {"opt_g", ...}, {"opt_d", ...}.
  std::vector<std::pair<std::string, nn::Optimizer*>> optimizers() const;

  GanConfig config;
  std::shared_ptr<GanPair> nets;  // G, D and G_ema, for checkpoints
  std::unique_ptr<nn::Optimizer> opt_g, opt_d;
  Generator noise;  // draws latents, labels, interpolation weights and instance noise

 protected:
  // G's forward; conditional variants override it to pass the labels.
  virtual Tensor generate(nn::Module& g, const Tensor& z, const Tensor& labels);
  // Called by subclasses once G and D exist: registers them (and an EMA copy of G, made by
  // make_g, when config.ema > 0) in `nets`.
  template <class MakeG>
  void register_nets(std::shared_ptr<nn::Module> g, std::shared_ptr<nn::Module> d, MakeG make_g) {
    std::shared_ptr<nn::Module> ema;
    if (config.ema > 0) ema = make_g();
    nets = std::make_shared<GanPair>(std::move(g), std::move(d), ema);
    if (ema) copy_ema_from_g();
  }
  // D's input with instance noise: x + N(0, sigma_t^2), sigma_t = instance_noise * (1 - progress).
  Tensor d_input(const Tensor& x);
  // After a G step: G_ema = decay * G_ema + (1 - decay) * G; buffers (batchnorm statistics) copied.
  void update_ema();
  // The standard GAN step on BCE (dcgan, vanilla, cgan): D on the real batch and a detached
  // fake batch G(z) (z from `noise`), one optimizer step; then G on the non-saturating loss
  // -log sigmoid(D(G(z))) through D, one step, and the EMA update. gen / disc run G and D,
  // so a conditional variant passes its labels in
  // (disc's flag says whether the batch is the real one).
  StepLosses bce_step(const Tensor& real, const std::function<Tensor(const Tensor&)>& gen,
                      const std::function<Tensor(const Tensor&, bool real)>& disc);
  // Draws n labels uniformly in [0, num_classes) on the model's device.
  Tensor random_labels(int64_t n);
  nn::Module& g_net() const;
  nn::Module& d_net() const;

 private:
  void copy_ema_from_g();
  Device device_ = Device::cpu();
  double progress_ = 0;
};

// Config <-> checkpoint metadata (every GanConfig field, as strings).
std::map<std::string, std::string> config_metadata(const GanConfig& c);
// Reads a config back; `path` names the file in errors. Keys a dcgan checkpoint from
// before the zoo lacks take the dcgan defaults.
GanConfig config_from_metadata(const std::map<std::string, std::string>& m, const std::string& path);

}  // namespace gantry::gan
