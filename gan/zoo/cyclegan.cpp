// gan/zoo/cyclegan.cpp — the CycleGAN variant: CycleganStep on the gan layer, its
// registration (hyperparameters with the paper's values, small sizes by default), its
// evaluation hook and `gantry translate`.
#include "gan/zoo/cyclegan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "gan/data/dataset.hpp"
#include "gan/data/image_folder.hpp"
#include "gan/data/source.hpp"
#include "gan/eval/classifier.hpp"
#include "gan/eval/cyclegan_metrics.hpp"
#include "gan/eval/evaluate.hpp"
#include "gan/eval/image_grid.hpp"
#include "gan/train/gan_checkpoint.hpp"
#include "gan/zoo/gan_common.hpp"

namespace gantry::gan {

namespace fs = std::filesystem;

double cyclegan_lr_factor(double progress, int64_t n_epochs, int64_t n_epochs_decay) {
  if (n_epochs_decay <= 0) return 1.0;
  const double e = std::clamp(progress, 0.0, 1.0) * (double)(n_epochs + n_epochs_decay);  // epochs done
  return e <= (double)n_epochs ? 1.0 : std::max(0.0, 1.0 - (e - (double)n_epochs) / (double)n_epochs_decay);
}

namespace {

CycleganConfig config_from(const Hyperparams& h, ModelShape s) {
  CycleganConfig c;
  c.channels_a = c.channels_b = s.channels;
  c.ngf = h.i("ngf");
  c.n_blocks = resnet_blocks_from_name(h.s("netG"));
  c.ndf = h.i("ndf");
  c.n_layers = h.i("n_layers_d");
  c.gan_mode = cyclegan_gan_mode(h.s("gan_mode"));
  c.lr = h.f("lr"), c.beta1 = h.f("beta1"), c.beta2 = h.f("beta2");
  c.lambda_a = h.f("lambda_a"), c.lambda_b = h.f("lambda_b"), c.lambda_identity = h.f("lambda_identity");
  c.gp_lambda = h.f("gp_lambda");
  c.pool_size = h.i("pool_size");
  return c;
}

const std::vector<std::string> kLossNames = {"D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"};

Tensor pool_tensor(const ImagePool& p) { return p.images().empty() ? Tensor() : cat(p.images(), 0); }

std::vector<Tensor> split_images(const Tensor& t, Device d) {
  std::vector<Tensor> out;
  for (int64_t i = 0; i < t.size(0); ++i) out.push_back(t.narrow(0, i, 1).to(d));
  return out;
}

// The pool's images moved to device d (after the model moved; a no-op when they are there).
void pool_to(ImagePool& p, Device d) {
  if (p.images().empty() || p.images()[0].device() == d) return;
  std::vector<Tensor> moved;
  for (const Tensor& t : p.images()) moved.push_back(t.to(d));
  p.restore(std::move(moved), p.generator().seed(), p.generator().offset());
}

uint64_t meta_u64(const std::map<std::string, std::string>& meta, const std::string& key) {
  auto it = meta.find(key);
  GANTRY_CHECK(it != meta.end(), "cyclegan checkpoint: metadata has no 'state.", key, "'");
  GANTRY_CHECK(!it->second.empty() && it->second.find_first_not_of("0123456789") == std::string::npos,
               "cyclegan checkpoint: metadata 'state.", key, "' '", it->second, "' is not a decimal unsigned integer");
  return std::stoull(it->second);
}

}  // namespace

Cyclegan::Cyclegan(const Hyperparams& h, ModelShape shape, uint64_t seed) : GanModel(h, shape, seed) {
  GANTRY_CHECK(shape.image_size % 4 == 0, "cyclegan: the image size must be a multiple of 4 (28, 32, 64, ...), got ",
               shape.image_size);
  patch_output_size(shape.image_size, h.i("n_layers_d"));  // throws when D's output map would be empty
  step_ = std::make_unique<CycleganStep>(config_from(h, shape), seed);
  add_net("G_AB", step_->G_AB);
  add_net("G_BA", step_->G_BA);
  add_net("D_A", step_->D_A);
  add_net("D_B", step_->D_B);
  // The step made its Adams over (G_AB, G_BA) and (D_A, D_B), in the nets' order; the model owns them now.
  add_optimizer("g", {"G_AB", "G_BA"}, [this](std::vector<Tensor>) { return std::move(step_->opt_G); });
  add_optimizer("d", {"D_A", "D_B"}, [this](std::vector<Tensor>) { return std::move(step_->opt_D); });
  step_->use_optimizers(optimizer("g"), optimizer("d"));
}

std::vector<std::string> Cyclegan::loss_names() const { return kLossNames; }

std::string Cyclegan::status(const Losses& l) const {
  char buf[160];
  std::snprintf(buf, sizeof buf, "D %.3f/%.3f G %.3f/%.3f cyc %.3f/%.3f", l["D_A"], l["D_B"], l["G_A"], l["G_B"],
                l["cycle_A"], l["cycle_B"]);
  return buf;
}

Losses Cyclegan::step(const Batch& b) {
  GANTRY_CHECK(b.images.defined() && b.images_b.defined(), "cyclegan: a batch needs images of both domains");
  step_->device = device();
  pool_to(step_->fake_a_pool, device());
  pool_to(step_->fake_b_pool, device());
  step_->set_lr(hyper().f("lr") * cyclegan_lr_factor(progress(), hyper().i("n_epochs"), hyper().i("n_epochs_decay")));
  Losses out;
  for (const auto& [name, v] : step_->step(b.images, b.images_b)) out.set(name, v);
  return out;
}

Tensor Cyclegan::translate(const Tensor& images, const std::string& direction) {
  GANTRY_CHECK(direction == "a2b" || direction == "b2a", "cyclegan: direction '", direction, "' is not a2b or b2a");
  GANTRY_CHECK(images.dim() == 4 && images.size(1) == shape().channels && images.size(2) == shape().image_size &&
                   images.size(3) == shape().image_size,
               "cyclegan: translate needs images [N, ", shape().channels, ", ", shape().image_size, ", ",
               shape().image_size, "], got ", shape_str(images.shape()));
  NoGradGuard off;
  return net(direction == "a2b" ? "G_AB" : "G_BA").forward(images.to(device()));
}

SampleGrid Cyclegan::sample_grid(const Batch& fixed) {
  GANTRY_CHECK(fixed.images.defined() && fixed.images_b.defined(), "cyclegan: the grid needs images of both domains");
  const int64_t n = std::min<int64_t>({8, fixed.images.size(0), fixed.images_b.size(0)});
  Tensor a = fixed.images.narrow(0, 0, n).to(device()), b = fixed.images_b.narrow(0, 0, n).to(device());
  Tensor ab = translate(a, "a2b"), ba = translate(b, "b2a");
  return {cat({a, ab, translate(ab, "b2a"), b, ba, translate(ba, "a2b")}, 0), n};
}

nn::Named Cyclegan::save_state() const {
  nn::Named out;
  if (Tensor t = pool_tensor(step_->fake_a_pool); t.defined()) out.push_back({"pool_a", t});
  if (Tensor t = pool_tensor(step_->fake_b_pool); t.defined()) out.push_back({"pool_b", t});
  return out;
}

std::map<std::string, std::string> Cyclegan::save_state_metadata() const {
  auto& s = *step_;
  return {{"pool_a_seed", std::to_string(s.fake_a_pool.generator().seed())},
          {"pool_a_offset", std::to_string(s.fake_a_pool.generator().offset())},
          {"pool_b_seed", std::to_string(s.fake_b_pool.generator().seed())},
          {"pool_b_offset", std::to_string(s.fake_b_pool.generator().offset())},
          {"gp_seed", std::to_string(s.gp_noise.seed())},
          {"gp_offset", std::to_string(s.gp_noise.offset())}};
}

void Cyclegan::restore_state(const nn::Named& tensors, const std::map<std::string, std::string>& meta) {
  Tensor a, b;
  for (const auto& [name, t] : tensors) {
    if (name == "pool_a") a = t;
    else if (name == "pool_b") b = t;
    else GANTRY_CHECK(false, "cyclegan checkpoint: unknown state tensor 'state.", name, "'");
  }
  auto& s = *step_;
  s.fake_a_pool.restore(a.defined() ? split_images(a, device()) : std::vector<Tensor>{}, meta_u64(meta, "pool_a_seed"),
                        meta_u64(meta, "pool_a_offset"));
  s.fake_b_pool.restore(b.defined() ? split_images(b, device()) : std::vector<Tensor>{}, meta_u64(meta, "pool_b_seed"),
                        meta_u64(meta, "pool_b_offset"));
  s.gp_noise.set_state(meta_u64(meta, "gp_seed"), meta_u64(meta, "gp_offset"));
}

// ---- gantry translate ------------------------------------------------------------------

namespace {

std::string lower_ext(const std::string& p) {
  std::string e = fs::path(p).extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return (char)std::tolower(c); });
  return e;
}

bool is_image_file(const std::string& p) {
  const std::string e = lower_ext(p);
  return e == ".png" || e == ".jpg" || e == ".jpeg";
}

bool is_idx_name(const std::string& p) {
  const std::string e = lower_ext(p), name = fs::path(p).filename().string();
  return e == ".idx" || e == ".idx3" || (name.size() > 6 && name.compare(name.size() - 6, 6, "-ubyte") == 0);
}

// An IDX image file as [N, channels, size, size] in [-1, 1] (28 x 28 padded to 32 when the model is 32 px).
Tensor read_idx_input(const std::string& path, ModelShape s) {
  IdxImages im = read_idx_images(path);
  GANTRY_CHECK(im.rows == im.cols && (im.rows == s.image_size || (im.rows == 28 && s.image_size == 32)), "--input ",
               path, ": IDX images are ", im.rows, "x", im.cols, " but the model translates ", s.image_size, "x",
               s.image_size, " images");
  Tensor x = zeros({im.n, 1, im.rows, im.cols});
  float* px = x.data<float>();
  for (size_t i = 0; i < im.pixels.size(); ++i) px[i] = im.pixels[i] / 127.5f - 1.0f;
  if (im.rows != s.image_size) x = add(pad2d(add(x, 1.0), 2, 2, 2, 2), -1.0);  // background -1
  if (s.channels > 1) x = cat(std::vector<Tensor>((size_t)s.channels, x), 1);
  return x;
}

}  // namespace

int64_t translate_files(const std::string& checkpoint, const std::string& direction, const std::string& input,
                        const std::string& out) {
  GANTRY_CHECK(direction == "a2b" || direction == "b2a", "--direction: '", direction, "' is not a2b or b2a");
  GANTRY_CHECK(fs::exists(checkpoint), "--checkpoint ", checkpoint, ": no such file");
  LoadedGan loaded = load_gan_checkpoint(checkpoint);
  GanModel& m = *loaded.model;
  GANTRY_CHECK(m.sampling() == Sampling::images, "--checkpoint ", checkpoint, ": a ", m.variant(),
               " checkpoint draws from latents (use gantry sample); translate needs an image-to-image model");
  const ModelShape s = m.shape();
  GANTRY_CHECK(fs::exists(input), "--input ", input, ": no such file or folder");
  Tensor x;
  std::vector<std::string> names;  // the output file names of a folder --out
  if (fs::is_directory(input)) {
    ImageFolder f = read_image_folder(input, {s.image_size, s.channels});
    x = f.images;
    for (const std::string& file : f.files) {
      std::string rel = fs::path(file).lexically_relative(input).replace_extension(".png").string();
      std::replace(rel.begin(), rel.end(), '/', '_');
      names.push_back(rel);
    }
  } else if (is_image_file(input)) {
    x = read_image_file(input, {s.image_size, s.channels});
    names.push_back(fs::path(input).stem().string() + ".png");
  } else {
    try {
      x = read_idx_input(input, s);
    } catch (const Error& e) {
      const std::string why = e.what();
      throw Error(why.find(input) != std::string::npos
                      ? why
                      : "--input " + input + ": not a PNG/JPEG file, a folder or an IDX image file (" + why + ")");
    }
    for (int64_t i = 0; i < x.size(0); ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%05lld.png", (long long)i);
      names.push_back(buf);
    }
  }
  std::vector<Tensor> parts;
  for (int64_t i = 0; i < x.size(0); i += 256)
    parts.push_back(m.translate(x.narrow(0, i, std::min<int64_t>(256, x.size(0) - i)), direction).to(Device::cpu()));
  Tensor y = cat(parts, 0);
  if (lower_ext(out) == ".png") {
    if (y.size(0) == 1) save_image_grid(out, y, 1, 0);
    else save_image_grid(out, y, 8, 2);
  } else if (is_idx_name(out)) {
    GANTRY_CHECK(s.channels == 1, "--out ", out, ": IDX holds gray images, this model makes ", s.channels, " channels");
    IdxImages idx{y.size(0), y.size(2), y.size(3), {}};
    for (float v : y.to_vector<float>())
      idx.pixels.push_back((uint8_t)std::lround(std::clamp((v + 1.0f) * 127.5f, 0.0f, 255.0f)));
    write_idx_images(out, idx);
  } else {
    GANTRY_CHECK(!fs::exists(out) || fs::is_directory(out), "--out ", out,
                 ": not a .png, an IDX name (.idx, *-ubyte) or a folder");
    fs::create_directories(out);
    for (int64_t i = 0; i < y.size(0); ++i)
      save_image_grid((fs::path(out) / names[i]).string(), y.narrow(0, i, 1), 1, 0);
  }
  return y.size(0);
}

// ---- registration ----------------------------------------------------------------------

namespace {

std::vector<std::string> netg_choices() {
  std::vector<std::string> c;
  for (int n = 1; n <= 12; ++n) c.push_back("resnet_" + std::to_string(n) + "blocks");
  return c;
}

HyperSpec with_flag(HyperSpec s, std::string flag) {
  s.flag = std::move(flag);
  return s;
}

void cyclegan_eval(GanModel& m, const EvalOptions& o, std::FILE* out) {
  const ModelShape s = m.shape();
  GANTRY_CHECK(s.channels == 1 && (s.image_size == 28 || s.image_size == 32), "eval: ", o.checkpoint, " translates ",
               s.image_size, "x", s.image_size, "x", s.channels,
               " images; the CycleGAN metric judges Fashion-MNIST (28 or 32 px, gray) with the classifier");
  // The domains it was trained on (checkpoint metadata data.*); older checkpoints did not
  // record them and were trained on the defaults unless told otherwise.
  const auto& info = m.data_info;
  GANTRY_CHECK(!info.count("folder_a"), "eval: ", o.checkpoint, " was trained on image folders (",
               info.count("folder_a") ? info.at("folder_a") : "",
               "); the CycleGAN metric judges Fashion-MNIST class "
               "domains with the classifier");
  auto one_class = [&](const char* key, const char* fallback) {
    auto it = info.find(key);
    const std::string text = it == info.end() ? fallback : it->second;
    GANTRY_CHECK(!text.empty() && text.find(',') == std::string::npos, "eval: ", o.checkpoint, "'s ", key, " is '",
                 text, "': the CycleGAN metric needs one Fashion-MNIST class per domain");
    return fashion_class(text);
  };
  const int a_class = one_class("domain_a", "sneaker"), b_class = one_class("domain_b", "ankle boot");
  const auto& names = fashion_class_names();
  auto test_of = [&](int c) {
    DatasetOptions d;
    d.dir = o.data_dir;
    d.train = false;
    d.pad_to_32 = s.image_size == 32;
    d.classes = {c};
    d.limit = o.n;
    return load_dataset(d).images;
  };
  LoadedClassifier c = load_classifier(o.classifier.empty() ? default_classifier_path() : o.classifier);
  m.to(Device::cpu());
  CycleganEval e =
      evaluate_cyclegan(*c.model, m.net("G_AB"), m.net("G_BA"), test_of(a_class), test_of(b_class), a_class, b_class);
  std::fprintf(out, "%s",
               format_cyclegan_eval(e, "gantry eval: " + o.checkpoint + " (cyclegan; A = " + names[a_class] +
                                           ", B = " + names[b_class] +
                                           (info.count("domain_a") ? "" : " (not recorded: the defaults)") +
                                           ", the test split)")
                   .c_str());
}

const RegisterVariant registered(
    {"cyclegan",
     "CycleGAN (Zhu et al., 2017): unpaired image-to-image, ResNet G, PatchGAN D, LSGAN, cycle + identity losses",
     {hp::lr(2e-4, "2e-4"), hp::beta1(0.5), hp::beta2(0.999),
      real_hyper("lambda_a", 10, 0, 1000, "Cycle loss weight A -> B -> A (paper: 10)"),
      real_hyper("lambda_b", 10, 0, 1000, "Cycle loss weight B -> A -> B (paper: 10)"),
      real_hyper("lambda_identity", 0.5, 0, 100, "Identity loss weight, times lambda_a / lambda_b (paper: 0.5)"),
      choice_hyper("gan_mode", "lsgan", {"lsgan", "vanilla", "wgangp"},
                   "GAN loss: lsgan (paper), vanilla (BCE), wgangp (with gp_lambda's penalty)"),
      real_hyper("gp_lambda", 10, 0, 1000, "wgangp: gradient penalty weight (WGAN-GP paper: 10)"),
      int_hyper("pool_size", 50, 0, 10000, "Image pool of past fakes shown to D (paper: 50; 0: off)"),
      with_flag(choice_hyper("netG", "resnet_2blocks", netg_choices(),
                             "Generator: resnet_<n>blocks (paper: resnet_9blocks at 256 px, resnet_6blocks at 128; "
                             "default 2 for 28 px, measured)"),
                "netG"),
      int_hyper("ngf", 8, 1, 1024, "Generator width: channels of its first conv (paper: 64; 8 at 28 px, measured)"),
      int_hyper("ndf", 16, 1, 1024, "Discriminator width (paper: 64; 16 at 28 px, measured)"),
      with_flag(int_hyper("n_layers_d", 2, 1, 8,
                          "PatchGAN stride-2 convs (paper: 3, 70 px patches; 2: 34 px patches, a 5x5 map at 28 px)"),
                "n-layers-D"),
      int_hyper("n_epochs", 1, 0, 100000, "Epochs at the initial rate (paper: 100)"),
      int_hyper("n_epochs_decay", 1, 0, 100000,
                "Epochs of linear decay to 0 (paper: 100); the run's --epochs should be n_epochs + n_epochs_decay")},
     DataKind::two_domains,
     [](const Hyperparams& h, ModelShape s, uint64_t seed) { return std::make_unique<Cyclegan>(h, s, seed); },
     cyclegan_eval,
     1});  // the paper's batch 1: at 28 px it measured better than 4 (gan/zoo/cyclegan_step.hpp)

}  // namespace

}  // namespace gantry::gan
