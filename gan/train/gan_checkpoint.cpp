#include "gan/train/gan_checkpoint.hpp"

#include "gan/zoo/cgan.hpp"
#include "gan/zoo/dcgan_step.hpp"
#include "gan/zoo/vanilla.hpp"
#include "gan/zoo/wgan_gp.hpp"
#include "nn/checkpoint.hpp"

namespace gantry::gan {

namespace {

constexpr const char* kFormat = "gantry-gan-1";

nn::Named prefixed(const std::string& prefix, const nn::Named& in) {
  nn::Named out;
  for (const auto& [name, t] : in) out.emplace_back(prefix + name, t);
  return out;
}

nn::Named with_prefix(const nn::Named& in, const std::string& prefix) {
  nn::Named out;
  for (const auto& [name, t] : in)
    if (name.rfind(prefix, 0) == 0) out.emplace_back(name.substr(prefix.size()), t);
  return out;
}

// An unsigned integer from a checkpoint's metadata, with an error naming the file and key.
uint64_t meta_u64(const nn::Metadata& m, const std::string& key, const std::string& path) {
  auto it = m.find(key);
  GANTRY_CHECK(it != m.end(), "checkpoint ", path, ": metadata has no '", key, "'");
  try {
    return std::stoull(it->second);
  } catch (const std::exception&) {
    throw Error(detail::concat("checkpoint ", path, ": metadata '", key, "' is not an integer: '", it->second, "'"));
  }
}

}  // namespace

std::unique_ptr<GanModel> make_gan(const GanConfig& c, uint64_t seed) {
  variant_defaults(c.variant);  // throws on an unknown name
  if (c.variant == "dcgan") return std::make_unique<DcganModel>(c, seed);
  if (c.variant == "vanilla") return std::make_unique<VanillaGan>(c, seed);
  if (c.variant == "cgan") return std::make_unique<Cgan>(c, seed);
  if (c.variant == "wgan") return std::make_unique<Wgan>(c, seed);
  return std::make_unique<WganGp>(c, seed);
}

void save_gan_checkpoint(const std::string& path, const GanModel& m, int64_t step, int64_t epoch) {
  nn::Named extra;
  nn::Metadata meta = config_metadata(m.config);
  for (auto& [prefix, opt] : m.optimizers()) {
    for (auto& kv : prefixed(prefix + ".", opt->state())) extra.push_back(kv);
    meta[prefix + "_steps"] = std::to_string(opt->steps());
  }
  meta["format"] = kFormat;
  meta["step"] = std::to_string(step);
  meta["epoch"] = std::to_string(epoch);
  meta["noise_seed"] = std::to_string(m.noise.seed());
  meta["noise_offset"] = std::to_string(m.noise.offset());
  nn::save_checkpoint(path, *m.nets, extra, meta);
}

LoadedGan load_gan_checkpoint(const std::string& path) {
  nn::SafetensorsFile peek = nn::load_safetensors(path);
  const nn::Metadata& meta = peek.metadata;
  auto fmt = meta.find("format");
  GANTRY_CHECK(fmt != meta.end() && fmt->second == kFormat, "checkpoint ", path,
               ": not a gantry GAN checkpoint (metadata 'format' should be '", kFormat, "')");
  LoadedGan out;
  out.model = make_gan(config_from_metadata(meta, path), 0);
  nn::SafetensorsFile f = nn::load_checkpoint(path, *out.model->nets, "opt_");
  for (auto& [prefix, opt] : out.model->optimizers())
    opt->load_state(with_prefix(f.tensors, prefix + "."), (int64_t)meta_u64(meta, prefix + "_steps", path));
  out.model->noise.set_state(meta_u64(meta, "noise_seed", path), meta_u64(meta, "noise_offset", path));
  out.step = (int64_t)meta_u64(meta, "step", path);
  out.epoch = (int64_t)meta_u64(meta, "epoch", path);
  return out;
}

}  // namespace gantry::gan
