#include "gan/trainer.hpp"

#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gan/data.hpp"
#include "gan/image_grid.hpp"
#include "gan/progress.hpp"
#include "nn/checkpoint.hpp"

namespace gantry::gan {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "gantry-gan-1";
constexpr uint64_t kFixedLatentSeed = 0xF1A5;  // the sample grid's latents, the same every epoch

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

// An integer from a checkpoint's metadata, with an error naming the file and key.
template <class T>
T meta_number(const nn::Metadata& m, const std::string& key, const std::string& path) {
  auto it = m.find(key);
  GANTRY_CHECK(it != m.end(), "checkpoint ", path, ": metadata has no '", key, "'");
  try {
    return (T)(std::is_signed_v<T> ? (T)std::stoll(it->second) : (T)std::stoull(it->second));
  } catch (const std::exception&) {
    throw Error(detail::concat("checkpoint ", path, ": metadata '", key, "' is not an integer: '", it->second, "'"));
  }
}
int64_t meta_int(const nn::Metadata& m, const std::string& key, const std::string& path) {
  return meta_number<int64_t>(m, key, path);
}

std::string loss_status(const StepLosses& l) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "D %.3f  G %.3f  D(x) %.2f  D(G(z)) %.2f", l.d_loss, l.g_loss, l.d_real, l.d_fake);
  return buf;
}

}  // namespace

void save_dcgan_checkpoint(const std::string& path, const DcganModel& m, int64_t step, int64_t epoch) {
  nn::Named extra = prefixed("opt_g.", m.opt_g->state());
  for (auto& kv : prefixed("opt_d.", m.opt_d->state())) extra.push_back(kv);
  nn::Metadata meta = {
      {"format", kFormat},
      {"variant", "dcgan"},
      {"image_size", std::to_string(m.config.image_size)},
      {"z_dim", std::to_string(m.config.z_dim)},
      {"width", std::to_string(m.config.width)},
      {"step", std::to_string(step)},
      {"epoch", std::to_string(epoch)},
      {"noise_seed", std::to_string(m.noise.seed())},
      {"noise_offset", std::to_string(m.noise.offset())},
      {"opt_g_steps", std::to_string(m.opt_g->steps())},
      {"opt_d_steps", std::to_string(m.opt_d->steps())},
      {"lr", std::to_string(m.hyper.lr)},
      {"real_label", std::to_string(m.hyper.real_label)},
  };
  nn::save_checkpoint(path, *m.nets, extra, meta);
}

LoadedDcgan load_dcgan_checkpoint(const std::string& path) {
  nn::SafetensorsFile peek = nn::load_safetensors(path);
  const nn::Metadata& meta = peek.metadata;
  auto fmt = meta.find("format");
  GANTRY_CHECK(fmt != meta.end() && fmt->second == kFormat, "checkpoint ", path,
               ": not a gantry GAN checkpoint (metadata 'format' should be '", kFormat, "')");
  auto variant = meta.find("variant");
  GANTRY_CHECK(variant != meta.end() && variant->second == "dcgan", "checkpoint ", path, ": variant '",
               variant == meta.end() ? "?" : variant->second, "' is not dcgan");
  DcganConfig c{meta_int(meta, "image_size", path), meta_int(meta, "z_dim", path), meta_int(meta, "width", path)};
  DcganHyper h;
  h.lr = std::stod(meta.at("lr"));
  if (meta.count("real_label")) h.real_label = std::stod(meta.at("real_label"));
  LoadedDcgan out;
  out.model = std::make_unique<DcganModel>(c, h, 0);
  nn::SafetensorsFile f = nn::load_checkpoint(path, *out.model->nets, "opt_");
  out.model->opt_g->load_state(with_prefix(f.tensors, "opt_g."), meta_int(meta, "opt_g_steps", path));
  out.model->opt_d->load_state(with_prefix(f.tensors, "opt_d."), meta_int(meta, "opt_d_steps", path));
  out.model->noise.set_state(meta_number<uint64_t>(meta, "noise_seed", path),
                             meta_number<uint64_t>(meta, "noise_offset", path));
  out.step = meta_int(meta, "step", path);
  out.epoch = meta_int(meta, "epoch", path);
  return out;
}

TrainResult train(const TrainOptions& o) {
  GANTRY_CHECK(o.variant == "dcgan", "train: unknown variant '", o.variant, "' (this build has: dcgan)");
  GANTRY_CHECK(o.epochs >= 0 && o.batch_size > 0, "train: epochs must be >= 0 and batch size > 0");
  if (o.threads > 0) omp_set_num_threads(o.threads);

  DatasetOptions dopt;
  dopt.dir = o.data_dir;
  dopt.pad_to_32 = o.pad32;
  dopt.classes = o.classes;
  dopt.limit = o.limit;
  Dataset data = load_dataset(dopt);
  GANTRY_CHECK(data.images.size(0) >= o.batch_size, "train: the data set has ", data.images.size(0),
               " images, fewer than one batch of ", o.batch_size);

  std::unique_ptr<DcganModel> model;
  int64_t step = 0, first_epoch = 0;
  if (!o.resume.empty()) {
    LoadedDcgan loaded = load_dcgan_checkpoint(o.resume);
    GANTRY_CHECK(loaded.model->config.image_size == (o.pad32 ? 32 : 28), "train: checkpoint ", o.resume,
                 " is for ", loaded.model->config.image_size, "x", loaded.model->config.image_size,
                 " images but the data is ", o.pad32 ? 32 : 28, "x", o.pad32 ? 32 : 28);
    model = std::move(loaded.model);
    step = loaded.step;
    first_epoch = loaded.epoch;
  } else {
    DcganHyper h;
    h.real_label = o.real_label;
    model = std::make_unique<DcganModel>(DcganConfig{o.pad32 ? 32 : 28, o.z_dim, o.width}, h, o.seed);
  }

  fs::create_directories(o.out_dir);
  TrainResult r;
  r.checkpoint = (fs::path(o.out_dir) / "checkpoint.safetensors").string();
  r.log = (fs::path(o.out_dir) / "log.csv").string();
  const bool fresh_log = o.resume.empty() || !fs::exists(r.log);
  std::ofstream log(r.log, fresh_log ? std::ios::trunc : std::ios::app);
  GANTRY_CHECK(log.good(), "train: cannot write ", r.log);
  if (fresh_log) log << "epoch,step,d_loss,g_loss,d_real,d_fake\n";

  Generator fixed(kFixedLatentSeed);
  Tensor fixed_z = model->latents(64, &fixed);
  BatchIterator batches(data, o.batch_size, o.seed, true);
  double seconds = 0;
  int64_t images = 0;
  for (int64_t epoch = first_epoch; epoch < o.epochs; ++epoch) {
    batches.start_epoch(epoch);
    ProgressBar bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs),
                    batches.batches_per_epoch(), o.batch_size);
    Tensor real, labels;
    int64_t done = 0;
    StepLosses last{};
    while (batches.next(real, labels)) {
      last = model->step(real);
      r.losses.push_back(last);
      ++step, ++done;
      log << epoch + 1 << ',' << step << ',' << last.d_loss << ',' << last.g_loss << ',' << last.d_real << ','
          << last.d_fake << '\n';
      if (o.progress) bar.update(done, loss_status(last));
    }
    if (o.progress) bar.finish(loss_status(last));
    seconds += bar.seconds();
    images += done * o.batch_size;
    log.flush();
    char name[64];
    std::snprintf(name, sizeof name, "samples_epoch_%03lld.png", (long long)(epoch + 1));
    r.samples = (fs::path(o.out_dir) / name).string();
    save_image_grid(r.samples, model->sample(fixed_z), 8, 2, 2);
    save_dcgan_checkpoint(r.checkpoint, *model, step, epoch + 1);
    r.epochs = epoch + 1;
  }
  r.steps = step;
  r.seconds = seconds;
  r.images_per_second = seconds > 0 ? (double)images / seconds : 0;
  return r;
}

}  // namespace gantry::gan
