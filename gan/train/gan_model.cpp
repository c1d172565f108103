#include "gan/train/gan_model.hpp"

#include <cstdio>

#include "gan/train/losses.hpp"

namespace gantry::gan {

GanConfig variant_defaults(const std::string& variant) {
  GanConfig c;
  c.variant = variant;
  if (variant == "dcgan" || variant == "vanilla") return c;  // Adam 2e-4, (0.5, 0.999)
  if (variant == "cgan") {
    c.num_classes = 10;
    return c;
  }
  if (variant == "wgan") {  // Arjovsky et al., Algorithm 1: RMSProp 5e-5, c = 0.01, n_critic = 5
    c.lr = 5e-5, c.n_critic = 5;
    return c;
  }
  if (variant == "wgan-gp") {  // Gulrajani et al., Algorithm 1: Adam 1e-4, (0, 0.9), lambda = 10, n_critic = 5
    c.lr = 1e-4, c.beta1 = 0, c.beta2 = 0.9, c.n_critic = 5;
    return c;
  }
  std::string names;
  for (auto& v : variant_names()) names += (names.empty() ? "" : ", ") + v;
  throw Error(detail::concat("unknown GAN variant '", variant, "' (this build has: ", names, ")"));
}

const std::vector<std::string>& variant_names() {
  static const std::vector<std::string> names = {"dcgan", "vanilla", "cgan", "wgan", "wgan-gp"};
  return names;
}

GanModel::GanModel(GanConfig c, uint64_t seed) : config(std::move(c)), noise(seed ^ 0x9E3779B97F4A7C15ull) {}

nn::Module& GanModel::g_net() const { return *nets->children()[0].second; }
nn::Module& GanModel::d_net() const { return *nets->children()[1].second; }

Tensor GanModel::generate(nn::Module& g, const Tensor& z, const Tensor&) { return g.forward(z); }

Tensor GanModel::sample(const Tensor& z, const Tensor& labels, bool use_ema) {
  GANTRY_CHECK(!conditional() || labels.defined(), "sample: a ", config.variant, " model needs labels");
  NoGradGuard off;
  nn::Module& g = use_ema && nets->children().size() > 2 ? *nets->children()[2].second : g_net();
  g.eval();
  Tensor images = generate(g, z.to(device_), labels.defined() ? labels.to(device_) : labels);
  g.train();
  return images;
}

Tensor GanModel::latents(int64_t n, Generator* gen) const {
  return randn({n, config.z_dim}, DType::f32, gen, 0, 1, device_);
}

Tensor GanModel::random_labels(int64_t n) {
  // floor(U[0, K)) on the cpu (tiny), then to the device.
  std::vector<int64_t> y;
  for (float u : rand({n}, DType::f32, &noise, 0, (double)config.num_classes).to_vector<float>())
    y.push_back(std::min<int64_t>((int64_t)u, config.num_classes - 1));
  return from_indices(y, {n}, device_);
}

Tensor GanModel::d_input(const Tensor& x) {
  const double sigma = config.instance_noise * (1.0 - progress_);
  if (sigma <= 0) return x;
  return add(x, randn(x.shape(), DType::f32, &noise, 0, sigma, x.device()));
}

void GanModel::copy_ema_from_g() {
  NoGradGuard off;
  nn::Module& ema = *nets->children()[2].second;
  auto src = g_net().named_parameters(), dst = ema.named_parameters();
  for (size_t i = 0; i < src.size(); ++i) copy_(dst[i].second, src[i].second);
  auto bs = g_net().named_buffers(), bd = ema.named_buffers();
  for (size_t i = 0; i < bs.size(); ++i) copy_(bd[i].second, bs[i].second);
}

void GanModel::update_ema() {
  if (config.ema <= 0) return;
  NoGradGuard off;
  nn::Module& ema = *nets->children()[2].second;
  auto src = g_net().parameters(), dst = ema.parameters();
  for (size_t i = 0; i < src.size(); ++i) copy_(dst[i], add(mul(dst[i], config.ema), mul(src[i], 1 - config.ema)));
  auto bs = g_net().named_buffers(), bd = ema.named_buffers();
  for (size_t i = 0; i < bs.size(); ++i) copy_(bd[i].second, bs[i].second);
}

StepLosses GanModel::bce_step(const Tensor& real, const std::function<Tensor(const Tensor&)>& gen,
                              const std::function<Tensor(const Tensor&, bool real)>& disc) {
  g_net().train();
  d_net().train();
  Tensor fake = gen(latents(real.size(0), &noise));

  // D: maximize log D(x) + log(1 - D(G(z))), on a detached fake batch.
  Tensor real_logits = disc(d_input(real), true);
  Tensor fake_logits = disc(d_input(fake.detach()), false);
  Tensor d_loss = d_loss_bce(real_logits, fake_logits, config.real_label);
  opt_d->zero_grad();
  d_loss.backward();
  opt_d->step();

  // G: minimize -log D(G(z)). grad() with G's parameters only: D's weight
  // gradients are never computed (the engine skips rules off the path).
  Tensor g_loss = g_loss_nonsaturating(disc(d_input(fake), false));
  std::vector<Tensor> params = g_net().parameters();
  std::vector<Tensor> grads = grad({g_loss}, params);
  for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
  opt_g->step();
  update_ema();

  NoGradGuard off;
  return {d_loss.item(), g_loss.item(), mean(sigmoid(real_logits)).item(), mean(sigmoid(fake_logits)).item()};
}

std::vector<std::pair<std::string, nn::Optimizer*>> GanModel::optimizers() const {
  return {{"opt_g", opt_g.get()}, {"opt_d", opt_d.get()}};
}

void GanModel::to(Device d) {
  nets->to(d);
  for (auto& [name, opt] : optimizers()) opt->to(d);
  device_ = d;
}

std::vector<std::string> GanModel::log_columns() const { return {"d_loss", "g_loss", "d_real", "d_fake"}; }

std::vector<double> GanModel::log_values(const StepLosses& l) const { return {l.d_loss, l.g_loss, l.d_real, l.d_fake}; }

std::string GanModel::status(const StepLosses& l) const {
  char buf[96];
  std::snprintf(buf, sizeof buf, "D %.3f  G %.3f  D(x) %.2f  D(G(z)) %.2f", l.d_loss, l.g_loss, l.d_real, l.d_fake);
  return buf;
}

namespace {
std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
}  // namespace

std::map<std::string, std::string> config_metadata(const GanConfig& c) {
  return {{"variant", c.variant},
          {"image_size", std::to_string(c.image_size)},
          {"z_dim", std::to_string(c.z_dim)},
          {"width", std::to_string(c.width)},
          {"num_classes", std::to_string(c.num_classes)},
          {"embed_dim", std::to_string(c.embed_dim)},
          {"lr", num(c.lr)},
          {"beta1", num(c.beta1)},
          {"beta2", num(c.beta2)},
          {"real_label", num(c.real_label)},
          {"n_critic", std::to_string(c.n_critic)},
          {"clip", num(c.clip)},
          {"gp_lambda", num(c.gp_lambda)},
          {"critic_layer_norm", std::to_string((int)c.critic_layer_norm)},
          {"instance_noise", num(c.instance_noise)},
          {"ema", num(c.ema)}};
}

GanConfig config_from_metadata(const std::map<std::string, std::string>& m, const std::string& path) {
  auto variant = m.find("variant");
  GANTRY_CHECK(variant != m.end(), "checkpoint ", path, ": metadata has no 'variant'");
  GanConfig c;
  try {
    c = variant_defaults(variant->second);
  } catch (const Error& e) {
    throw Error(detail::concat("checkpoint ", path, ": ", e.what()));
  }
  auto get = [&](const char* key, auto& field) {
    auto it = m.find(key);
    if (it == m.end()) return;
    try {
      if constexpr (std::is_same_v<std::decay_t<decltype(field)>, double>)
        field = std::stod(it->second);
      else
        field = std::stoll(it->second);
    } catch (const std::exception&) {
      throw Error(detail::concat("checkpoint ", path, ": metadata '", key, "' is not a number: '", it->second, "'"));
    }
  };
  get("image_size", c.image_size), get("z_dim", c.z_dim), get("width", c.width);
  get("num_classes", c.num_classes), get("embed_dim", c.embed_dim);
  get("lr", c.lr), get("beta1", c.beta1), get("beta2", c.beta2), get("real_label", c.real_label);
  get("n_critic", c.n_critic), get("clip", c.clip), get("gp_lambda", c.gp_lambda);
  get("instance_noise", c.instance_noise), get("ema", c.ema);
  int64_t layer_norm = c.critic_layer_norm;
  get("critic_layer_norm", layer_norm);
  c.critic_layer_norm = layer_norm != 0;
  return c;
}

}  // namespace gantry::gan
