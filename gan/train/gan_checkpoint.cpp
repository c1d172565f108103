// gan/train/gan_checkpoint.cpp — saving and loading any registered variant's checkpoint,
// gantry-gan-2 and the earlier gantry-gan-1 metadata layout.
#include "gan/train/gan_checkpoint.hpp"

#include <algorithm>

#include "nn/checkpoint.hpp"

namespace gantry::gan {

namespace {

constexpr const char* kFormat = "gantry-gan-2";
constexpr const char* kFormatV1 = "gantry-gan-1";

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

// A decimal integer field in [lo, hi], through the same parser as the flags.
int64_t meta_int(const nn::Metadata& m, const std::string& key, int64_t lo, int64_t hi, const std::string& path) {
  auto it = m.find(key);
  GANTRY_CHECK(it != m.end(), "checkpoint ", path, ": metadata has no '", key, "'");
  std::string why;
  auto v = parse_hyper(int_hyper(key, lo, lo, hi, ""), it->second, &why);
  if (!v) throw Error(detail::concat("checkpoint ", path, ": metadata '", key, "' '", it->second, "' ", why));
  return std::stoll(*v);
}

// An unsigned 64-bit field (RNG seed and offset: every value is valid), decimal only.
uint64_t meta_u64(const nn::Metadata& m, const std::string& key, const std::string& path) {
  auto it = m.find(key);
  GANTRY_CHECK(it != m.end(), "checkpoint ", path, ": metadata has no '", key, "'");
  const std::string& t = it->second;
  const bool ok = !t.empty() && t.size() <= 20 && std::all_of(t.begin(), t.end(), ::isdigit);
  unsigned long long v = 0;
  try {
    if (ok) v = std::stoull(t);
  } catch (const std::exception&) {
    throw Error(detail::concat("checkpoint ", path, ": metadata '", key, "' '", t, "' is out of the u64 range"));
  }
  GANTRY_CHECK(ok, "checkpoint ", path, ": metadata '", key, "' '", t, "' is not a decimal unsigned integer");
  return v;
}

// The hyperparameters of a gantry-gan-1 file: its flat GanConfig keys. Keys the variant
// does not declare are ignored (the old trainer wrote every field for every variant),
// except num_classes, which made any variant conditional.
void read_v1_hyper(const nn::Metadata& m, const Variant& v, Hyperparams& h, const std::string& path) {
  for (const HyperSpec& s : v.hyper) {
    auto it = m.find(s.name);
    if (it != m.end()) h.set(s.name, it->second, "checkpoint " + path + ": metadata '" + s.name + "'");
  }
  auto k = m.find("num_classes");
  if (!h.has("num_classes") && k != m.end() && k->second != "0")
    throw Error(detail::concat("checkpoint ", path, ": metadata 'num_classes' is '", k->second, "' but a ", v.name,
                               " has no classes (gantry-gan-1 layout; only cgan is conditional)"));
}

// Loads the nets' parameters and buffers from f (every one present with its shape and
// dtype, checked before anything is written) and sorts the other tensors into optimizer
// state ("opt_*") and model state ("state.*", prefix stripped); any other is an error.
void load_nets(const std::string& path, const nn::SafetensorsFile& f, nn::Module& nets, nn::Named& opt,
               nn::Named& state) {
  nn::Named mine = nets.named_parameters();
  for (auto& kv : nets.named_buffers()) mine.push_back(kv);
  std::map<std::string, Tensor> in_file(f.tensors.begin(), f.tensors.end());
  std::vector<std::string> problems;
  std::map<std::string, bool> is_net;
  for (auto& [name, t] : mine) {
    is_net[name] = true;
    auto it = in_file.find(name);
    if (it == in_file.end()) problems.push_back("'" + name + "' is missing from the file");
    else if (it->second.dtype() != t.dtype() || it->second.shape() != t.shape())
      problems.push_back(detail::concat("'", name, "' is ", dtype_name(it->second.dtype()), " ",
                                        shape_str(it->second.shape()), " in the file but ", dtype_name(t.dtype()), " ",
                                        shape_str(t.shape()), " in the model"));
  }
  for (auto& [name, t] : f.tensors) {
    if (is_net.count(name)) continue;
    if (name.rfind("opt_", 0) == 0) opt.emplace_back(name, t);
    else if (name.rfind("state.", 0) == 0) state.emplace_back(name.substr(6), t);
    else problems.push_back("the file has '" + name + "', which belongs to no net, optimizer or model state");
  }
  if (!problems.empty()) {
    std::string all;
    for (size_t i = 0; i < problems.size() && i < 8; ++i) all += (i ? "; " : "") + problems[i];
    if (problems.size() > 8) all += detail::concat("; and ", problems.size() - 8, " more");
    throw Error(detail::concat("checkpoint ", path, ": ", all));
  }
  NoGradGuard off;
  for (auto& [name, t] : mine) copy_(t, in_file.at(name).to(t.device()));
}

}  // namespace

std::map<std::string, std::string> checkpoint_metadata(const GanModel& m, int64_t step, int64_t epoch) {
  nn::Metadata meta;
  meta["format"] = kFormat;
  meta["variant"] = m.variant();
  meta["image_size"] = std::to_string(m.shape().image_size);
  meta["channels"] = std::to_string(m.shape().channels);
  for (const HyperSpec& s : m.hyper().specs()) meta["hp." + s.name] = m.hyper().s(s.name);
  for (auto& o : m.optimizers()) meta["opt_" + o.name + "_steps"] = std::to_string(o.opt->steps());
  meta["step"] = std::to_string(step);
  meta["epoch"] = std::to_string(epoch);
  meta["noise_seed"] = std::to_string(m.noise.seed());
  meta["noise_offset"] = std::to_string(m.noise.offset());
  for (auto& [k, v] : m.save_state_metadata()) meta["state." + k] = v;
  for (auto& [k, v] : m.data_info) meta["data." + k] = v;
  return meta;
}

void save_gan_checkpoint(const std::string& path, const GanModel& m, int64_t step, int64_t epoch) {
  nn::Named extra;
  for (auto& o : m.optimizers())
    for (auto& kv : prefixed("opt_" + o.name + ".", o.opt->state())) extra.push_back(kv);
  for (auto& kv : prefixed("state.", m.save_state())) extra.push_back(kv);
  nn::save_checkpoint(path, m.nets(), extra, checkpoint_metadata(m, step, epoch));
}

LoadedGan load_gan_checkpoint(const std::string& path) {
  nn::SafetensorsFile peek = nn::load_safetensors(path);
  const nn::Metadata& meta = peek.metadata;
  auto fmt = meta.find("format");
  const bool v2 = fmt != meta.end() && fmt->second == kFormat, v1 = fmt != meta.end() && fmt->second == kFormatV1;
  GANTRY_CHECK(v1 || v2, "checkpoint ", path, ": not a gantry GAN checkpoint (metadata 'format' should be '", kFormat,
               "', or the earlier '", kFormatV1, "')");
  auto variant = meta.find("variant");
  GANTRY_CHECK(variant != meta.end(), "checkpoint ", path, ": metadata has no 'variant'");
  const Variant* v = nullptr;
  try {
    v = &find_variant(variant->second);
  } catch (const Error& e) {
    throw Error(detail::concat("checkpoint ", path, ": ", e.what()));
  }
  Hyperparams h = v->defaults();
  ModelShape shape;
  if (v2) {
    for (auto& [key, text] : meta) {
      if (key.rfind("hp.", 0) != 0) continue;
      h.set(key.substr(3), text, "checkpoint " + path + ": metadata '" + key + "'");
    }
    for (const HyperSpec& s : v->hyper)
      GANTRY_CHECK(s.added_later || meta.count("hp." + s.name), "checkpoint ", path, ": metadata has no 'hp.", s.name,
                   "'");
    shape.image_size = meta_int(meta, "image_size", 8, 1024, path);
    shape.channels = meta_int(meta, "channels", 1, 4, path);
  } else {
    read_v1_hyper(meta, *v, h, path);
    if (meta.count("image_size")) shape.image_size = meta_int(meta, "image_size", 8, 1024, path);
  }
  LoadedGan out;
  try {
    out.model = make_model(v->name, h, shape, 0);
  } catch (const Error& e) {
    throw Error(detail::concat("checkpoint ", path, ": ", e.what()));
  }
  nn::Named opt_tensors, state;
  load_nets(path, peek, out.model->nets(), opt_tensors, state);
  std::map<std::string, std::string> state_meta;
  for (const auto& [k, v] : meta)
    if (k.rfind("state.", 0) == 0) state_meta[k.substr(6)] = v;
    else if (k.rfind("data.", 0) == 0) out.model->data_info[k.substr(5)] = v;
  out.step = meta_int(meta, "step", 0, kMaxSteps, path);
  out.epoch = meta_int(meta, "epoch", 0, kMaxEpochs, path);
  for (auto& o : out.model->optimizers())
    o.opt->load_state(with_prefix(opt_tensors, "opt_" + o.name + "."),
                      meta_int(meta, "opt_" + o.name + "_steps", 0, kMaxSteps, path));
  out.model->noise.set_state(meta_u64(meta, "noise_seed", path), meta_u64(meta, "noise_offset", path));
  try {
    out.model->restore_state(state, state_meta);
  } catch (const Error& e) {
    throw Error(detail::concat("checkpoint ", path, ": ", e.what()));
  }
  return out;
}

}  // namespace gantry::gan
