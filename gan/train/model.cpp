// gan/train/model.cpp — GanModel's shared parts: named nets, optimizers and EMA copies,
// sampling, the per-epoch grid, instance noise, moving to a device.
#include "gan/train/model.hpp"

#include <cstdio>

namespace gantry::gan {

Batch Batch::to(Device d) const {
  Batch b;
  if (images.defined()) b.images = images.to(d);
  if (labels.defined()) b.labels = labels.to(d);
  if (images_b.defined()) b.images_b = images_b.to(d);
  return b;
}

void Losses::set(const std::string& name, double v) {
  for (auto& [n, x] : items_)
    if (n == name) {
      x = v;
      return;
    }
  items_.emplace_back(name, v);
}

bool Losses::has(const std::string& name) const {
  for (auto& [n, x] : items_)
    if (n == name) return true;
  return false;
}

double Losses::operator[](const std::string& name) const {
  for (auto& [n, x] : items_)
    if (n == name) return x;
  throw Error(detail::concat("Losses: no loss named '", name, "'"));
}

GanModel::GanModel(const Hyperparams& h, ModelShape shape, uint64_t seed)
    : noise(seed ^ 0x9E3779B97F4A7C15ull), hyper_(h), shape_(shape) {
  if (h.has("instance_noise")) instance_noise_ = h.f("instance_noise");
}

std::string GanModel::status(const Losses& l) const {
  std::string s;
  char buf[64];
  for (auto& [name, v] : l.items()) {
    std::snprintf(buf, sizeof buf, "%s%s %.3f", s.empty() ? "" : "  ", name.c_str(), v);
    s += buf;
  }
  return s;
}

std::shared_ptr<nn::Module> GanModel::add_net(const std::string& name, std::shared_ptr<nn::Module> m) {
  GANTRY_CHECK(m && !has_net(name), variant_, ": net '", name, "' is missing or added twice");
  nets_->add(name, m);
  return m;
}

bool GanModel::has_net(const std::string& name) const {
  for (auto& [n, m] : nets_->children())
    if (n == name) return true;
  return false;
}

nn::Module& GanModel::net(const std::string& name) const {
  for (auto& [n, m] : nets_->children())
    if (n == name) return *m;
  std::string known;
  for (auto& [n, m] : nets_->children()) known += (known.empty() ? "" : ", ") + n;
  throw Error(detail::concat(variant_, ": no net named '", name, "' (it has: ", known, ")"));
}

nn::Optimizer& GanModel::add_optimizer(const std::string& name, std::vector<std::string> nets,
                                       const std::function<std::unique_ptr<nn::Optimizer>(std::vector<Tensor>)>& make) {
  std::vector<Tensor> params;
  for (const std::string& n : nets)
    for (const Tensor& p : net(n).parameters()) params.push_back(p);
  for (auto& o : optimizers_) GANTRY_CHECK(o.name != name, variant_, ": optimizer '", name, "' added twice");
  optimizers_.push_back({name, std::move(nets), make(std::move(params))});
  return *optimizers_.back().opt;
}

nn::Optimizer& GanModel::optimizer(const std::string& name) const {
  for (auto& o : optimizers_)
    if (o.name == name) return *o.opt;
  throw Error(detail::concat(variant_, ": no optimizer named '", name, "'"));
}

void GanModel::add_ema(const std::string& name, const std::string& source, std::shared_ptr<nn::Module> copy,
                       double decay) {
  GANTRY_CHECK(decay > 0 && decay < 1, "ema decay must be in (0, 1), got ", decay);
  add_net(name, copy);
  NoGradGuard off;
  nn::Module& src = net(source);
  auto ps = src.parameters(), pd = copy->parameters();
  GANTRY_CHECK(ps.size() == pd.size(), "add_ema: '", name, "' is not a copy of '", source, "'");
  for (size_t i = 0; i < ps.size(); ++i) copy_(pd[i], ps[i]);
  auto bs = src.named_buffers(), bd = copy->named_buffers();
  for (size_t i = 0; i < bs.size(); ++i) copy_(bd[i].second, bs[i].second);
  emas_.push_back({name, source, decay});
}

void GanModel::update_emas() {
  NoGradGuard off;
  for (const Ema& e : emas_) {
    nn::Module &src = net(e.source), &dst = net(e.name);
    auto ps = src.parameters(), pd = dst.parameters();
    for (size_t i = 0; i < ps.size(); ++i) copy_(pd[i], add(mul(pd[i], e.decay), mul(ps[i], 1 - e.decay)));
    auto bs = src.named_buffers(), bd = dst.named_buffers();
    for (size_t i = 0; i < bs.size(); ++i) copy_(bd[i].second, bs[i].second);
  }
}

void GanModel::set_data_parallel(int rank, int size) {
  GANTRY_CHECK(size >= 1 && rank >= 0 && rank < size, "set_data_parallel: rank ", rank, " of ", size);
  dp_rank_ = rank, dp_size_ = size;
}

Tensor GanModel::batch_draw(const Shape& local, const std::function<Tensor(const Shape&)>& draw) const {
  if (dp_size_ == 1) return draw(local);
  Shape global = local;
  global[0] *= dp_size_;
  return draw(global).narrow(0, dp_rank_ * local[0], local[0]).contiguous();
}

Tensor GanModel::latents(int64_t n, Rng* gen) const {
  GANTRY_CHECK(z_dim() > 0, variant_, " draws no latents (it samples from ", "images)");
  auto draw = [&](const Shape& s) { return randn(s, DType::f32, gen, 0, 1, device_); };
  return gen == &noise ? batch_draw({n, z_dim()}, draw) : draw({n, z_dim()});
}

Tensor GanModel::batch_rand(const Shape& local) {
  return batch_draw(local, [&](const Shape& s) { return rand(s, DType::f32, &noise, 0, 1, device_); });
}

Tensor GanModel::sample(const Tensor& z, const Tensor& labels, bool use_ema) {
  GANTRY_CHECK(sampling() != Sampling::images, variant_, " translates images; it does not sample from latents");
  const bool classes = sampling() == Sampling::latents_and_classes;
  GANTRY_CHECK(!classes || labels.defined(), "sample: a ", variant_, " model needs labels");
  NoGradGuard off;
  std::string which = generator_net();
  if (use_ema)
    for (const Ema& e : emas_)
      if (e.source == which) {
        which = e.name;
        break;
      }
  nn::Module& g = net(which);
  g.eval();
  Tensor images = classes ? g.forward_many({z.to(device_), labels.to(device_)}) : g.forward(z.to(device_));
  g.train();
  return images;
}

Tensor GanModel::translate(const Tensor&, const std::string&) {
  throw Error(detail::concat(variant_, " samples from latents; it does not translate images"));
}

SampleGrid GanModel::sample_grid(const Batch& fixed) {
  constexpr uint64_t kFixedLatentSeed = 0xF1A5;  // the same latents every epoch
  if (sampling() == Sampling::images) {
    GANTRY_CHECK(fixed.images.defined() && fixed.images_b.defined(), "sample_grid: ", variant_,
                 " needs fixed images of both domains");
    const int64_t n = std::min<int64_t>({8, fixed.images.size(0), fixed.images_b.size(0)});
    Tensor a = fixed.images.narrow(0, 0, n), b = fixed.images_b.narrow(0, 0, n);
    return {cat({a, translate(a, "a2b"), b, translate(b, "b2a")}, 0), n};
  }
  Rng gen(kFixedLatentSeed);
  if (sampling() == Sampling::latents) return {sample(latents(64, &gen)), 8};
  Tensor row = latents(8, &gen);
  const int64_t k = num_classes();
  std::vector<int64_t> y;
  for (int64_t c = 0; c < k; ++c)
    for (int i = 0; i < 8; ++i) y.push_back(c);
  return {sample(cat(std::vector<Tensor>(k, row), 0), from_indices(y, {(int64_t)y.size()}, device_)), 8};
}

Tensor GanModel::random_labels(int64_t n) {
  // floor(U[0, K)) on the cpu (tiny), then to the device.
  const int64_t k = num_classes();
  std::vector<int64_t> y;
  const Tensor draws = batch_draw({n}, [&](const Shape& s) { return rand(s, DType::f32, &noise, 0, (double)k); });
  for (float u : draws.to_vector<float>()) y.push_back(std::min<int64_t>((int64_t)u, k - 1));
  return from_indices(y, {n}, device_);
}

Tensor GanModel::d_input(const Tensor& x) {
  const double sigma = instance_noise_ * (1.0 - progress_);
  if (sigma <= 0) return x;
  return add(x,
             batch_draw(x.shape(), [&](const Shape& s) { return randn(s, DType::f32, &noise, 0, sigma, x.device()); }));
}

void GanModel::set_grads(const Tensor& loss, const std::vector<Tensor>& params) {
  std::vector<Tensor> grads = grad({loss}, params);
  for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
}

void GanModel::restore_state(const nn::Named& tensors, const std::map<std::string, std::string>& meta) {
  GANTRY_CHECK(tensors.empty() && meta.empty(), variant_, ": the checkpoint holds extra state ('state.",
               tensors.empty() ? meta.begin()->first : tensors.front().first, "') this model does not keep");
}

void GanModel::to(Device d) {
  nets_->to(d);
  for (auto& o : optimizers_) o.opt->to(d);
  device_ = d;
}

}  // namespace gantry::gan
