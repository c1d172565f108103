// The variant registry and the gan layer around it: unknown names list the known ones;
// every registered variant (the toy below included) trains a few steps, resumes exactly,
// samples and evaluates; a toy variant defined in this file alone is trainable; every
// checkpoint metadata field is range-checked like its flag; gantry-gan-1 files still load;
// the loss log survives a kill + --resume; a NaN loss stops training naming it.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gan/eval/evaluate.hpp"
#include "gan/eval/image_grid.hpp"
#include "gan/train/registry.hpp"
#include "gan/train/trainer.hpp"
#include "gan/zoo/gan_common.hpp"
#include "nn/checkpoint.hpp"
#include "nn/layers.hpp"
#include "test_util.hpp"
#include "zoo_util.hpp"

using namespace gantry;
using namespace gantry::gan;
using gantry::testing::error_of;
namespace fs = std::filesystem;

namespace {

// ---- a toy variant, registered here and nowhere else ----------------------------------
// G: one Linear z -> S*S and tanh; D: one Linear S*S -> 1. Its "explode_at" hyperparameter
// makes step k report a NaN loss, to test the trainer's check.
class ToyG : public nn::Module {
 public:
  ToyG(int64_t z, int64_t s) : s_(s) { lin_ = register_module("lin", std::make_shared<nn::Linear>(z, s * s)); }
  Tensor forward(const Tensor& z) override { return reshape(tanh(lin_->forward(z)), {z.size(0), 1, s_, s_}); }

 private:
  int64_t s_;
  std::shared_ptr<nn::Linear> lin_;
};

class ToyD : public nn::Module {
 public:
  explicit ToyD(int64_t s) : s_(s) { lin_ = register_module("lin", std::make_shared<nn::Linear>(s * s, 1)); }
  Tensor forward(const Tensor& x) override {
    return reshape(lin_->forward(reshape(x, {x.size(0), s_ * s_})), {x.size(0)});
  }

 private:
  int64_t s_;
  std::shared_ptr<nn::Linear> lin_;
};

class ToyGan : public BceGan {
 public:
  ToyGan(const Hyperparams& h, ModelShape s, uint64_t seed) : BceGan(h, s, seed) {
    Rng init(seed);
    NoGradGuard off;
    auto g = std::make_shared<ToyG>(h.i("z_dim"), s.image_size);
    auto d = std::make_shared<ToyD>(s.image_size);
    for (auto& p : g->parameters()) copy_(p, randn(p.shape(), DType::f32, &init, 0, 0.05));
    for (auto& p : d->parameters()) copy_(p, randn(p.shape(), DType::f32, &init, 0, 0.05));
    const int64_t z = h.i("z_dim"), size = s.image_size;
    setup(g, d, [z, size] { return std::make_shared<ToyG>(z, size); });
  }
  Losses step(const Batch& b) override {
    Losses l = bce_step(
        b.images, [&](const Tensor& z) { return net("G").forward(z); },
        [&](const Tensor& x, bool) { return net("D").forward(x); });
    if (++steps_ == hyper().i("explode_at")) l.set("g_loss", std::nan(""));
    return l;
  }
  Sampling sampling() const override { return Sampling::latents; }
  int64_t z_dim() const override { return hyper().i("z_dim"); }

 private:
  int64_t steps_ = 0;
};

const RegisterVariant toy(
    {"toy",
     "a one-layer test GAN defined in tests/gan/test_registry.cpp only",
     {hp::z_dim(4), hp::lr(1e-3, "a test value"), hp::beta1(0.5), hp::beta2(0.999), hp::real_label(),
      hp::instance_noise(), hp::ema(), int_hyper("explode_at", 0, 0, 1000000, "report a NaN at this step (0: never)")},
     DataKind::images,
     [](const Hyperparams& h, ModelShape s, uint64_t seed) { return std::make_unique<ToyGan>(h, s, seed); },
     {}});

// A toy image-to-image variant shaped like CycleGAN: four nets (G_AB, G_BA, D_A, D_B, each
// one 1x1 conv), two optimizers over pairs of nets, no latent, two domains, translation.
// Its "step" is a least-squares stand-in: G_AB(a) towards the mean of b and back.
class ToyTranslate : public GanModel {
 public:
  ToyTranslate(const Hyperparams& h, ModelShape s, uint64_t seed) : GanModel(h, s, seed) {
    Rng init(seed);
    const int64_t c = s.channels;
    for (const char* n : {"G_AB", "G_BA", "D_A", "D_B"}) {
      auto m = std::make_shared<nn::Conv2d>(c, n[0] == 'G' ? c : 1, 1, 1, 0, true);
      NoGradGuard off;
      copy_(m->weight, randn(m->weight.shape(), DType::f32, &init, 0, 0.1));
      copy_(m->bias, zeros(m->bias.shape()));
      add_net(n, m);
    }
    const double lr = h.f("lr");
    auto adam = [lr](std::vector<Tensor> p) { return std::make_unique<nn::Adam>(std::move(p), lr, 0.5, 0.999); };
    add_optimizer("g", {"G_AB", "G_BA"}, adam);
    add_optimizer("d", {"D_A", "D_B"}, adam);
  }
  void on_epoch_start(int64_t epoch, int64_t) override { epoch_ = epoch; }
  Losses step(const Batch& b) override {
    REQUIRE(b.images_b.defined());
    REQUIRE(epoch_ >= 0);
    REQUIRE(b.images.device() == device());
    Tensor ab = net("G_AB").forward(b.images), ba = net("G_BA").forward(b.images_b);
    Tensor g = add(mean(mul(sub(ab, mean(b.images_b)), sub(ab, mean(b.images_b)))),
                   mean(mul(sub(ba, mean(b.images)), sub(ba, mean(b.images)))));
    optimizer("g").zero_grad();
    g.backward();
    optimizer("g").step();
    Tensor da = mean(net("D_A").forward(b.images)), db = mean(net("D_B").forward(b.images_b));
    Tensor d = add(mul(da, da), mul(db, db));
    optimizer("d").zero_grad();
    d.backward();
    optimizer("d").step();
    Losses l;
    l.set("g_loss", g.item());
    l.set("d_loss", d.item());
    // Extra state an exact resume needs (like CycleGAN's image pool): the last fakes.
    l.set("pool_mean", pool_.defined() ? mean(pool_).item() : 0.0);
    pool_ = ab.detach();
    ++pooled_;
    return l;
  }
  std::vector<std::string> loss_names() const override { return {"g_loss", "d_loss", "pool_mean"}; }
  nn::Named save_state() const override {
    if (!pool_.defined()) return {};
    return {{"pool", pool_}};
  }
  std::map<std::string, std::string> save_state_metadata() const override {
    return {{"pooled", std::to_string(pooled_)}};
  }
  void restore_state(const nn::Named& t, const std::map<std::string, std::string>& meta) override {
    REQUIRE(t.size() <= 1);
    if (!t.empty()) pool_ = t[0].second.to(device());
    pooled_ = std::stoll(meta.at("pooled"));
  }
  Sampling sampling() const override { return Sampling::images; }
  Tensor translate(const Tensor& x, const std::string& direction) override {
    NoGradGuard off;
    return net(direction == "a2b" ? "G_AB" : "G_BA").forward(x.to(device()));
  }

 private:
  Tensor pool_;
  int64_t pooled_ = 0, epoch_ = -1;
};

const RegisterVariant toy_translate({"toy-translate",
                                     "a CycleGAN-shaped test variant (4 nets, 2 optimizers, two domains)",
                                     {hp::lr(1e-3, "a test value")},
                                     DataKind::two_domains,
                                     [](const Hyperparams& h, ModelShape s, uint64_t seed) {
                                       return std::make_unique<ToyTranslate>(h, s, seed);
                                     },
                                     [](GanModel& m, const EvalOptions& o, std::FILE* out) {
                                       std::fprintf(out, "toy-translate eval of %s: %s, %lld nets, n %lld\n",
                                                    o.checkpoint.c_str(), m.variant().c_str(),
                                                    (long long)m.nets().children().size(), (long long)o.n);
                                     }});

// ---- helpers ---------------------------------------------------------------------------

// Tiny options for any variant: width 4, z 8 where declared, 32 images, batch 8 (4 for two
// domains, whose default classes hold 9 images each of the test data).
TrainOptions tiny(const std::string& variant, const std::string& out) {
  TrainOptions o = testing::zoo_options(variant, out);
  o.limit = 32;
  o.batch_size = find_variant(variant).data == DataKind::two_domains ? 4 : 8;
  o.threads = 1;
  // cyclegan: the smallest nets, and a constant rate (a run of --epochs 1 then resumed to
  // 2 decays on another schedule than one of --epochs 2; see cyclegan_lr_factor).
  for (auto [k, v] :
       {std::pair{"ngf", "2"}, {"ndf", "4"}, {"netG", "resnet_1blocks"}, {"n_layers_d", "1"}, {"n_epochs_decay", "0"}})
    if (find_variant(variant).defaults().has(k) && variant == "cyclegan") o.hyper[k] = v;
  return o;
}

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A copy of checkpoint `from` at `to` with metadata edited: set (or, with "", erase) keys.
std::string with_metadata(const std::string& from, const std::string& to,
                          const std::map<std::string, std::string>& edit) {
  nn::SafetensorsFile f = nn::load_safetensors(from);
  for (auto& [k, v] : edit)
    if (v.empty()) f.metadata.erase(k);
    else f.metadata[k] = v;
  nn::save_safetensors(to, f.tensors, f.metadata);
  return to;
}

// zoo_data() with its train split also laid out as the test split the Evaluator reads.
std::string data_with_test_split() {
  const fs::path dir = testing::zoo_data();
  for (const char* kind : {"images-idx3", "labels-idx1"}) {
    const fs::path to = dir / (std::string("t10k-") + kind + "-ubyte");
    if (!fs::exists(to)) fs::copy_file(dir / (std::string("train-") + kind + "-ubyte"), to);
  }
  return dir.string();
}

}  // namespace

TEST_CASE("an unknown variant is an error listing the registered ones, wherever it is named") {
  const std::vector<std::string> names = variant_names();
  for (const char* v : {"dcgan", "vanilla", "cgan", "wgan", "wgan-gp", "cyclegan", "toy", "toy-translate"})
    CHECK(std::find(names.begin(), names.end(), v) != names.end());
  std::string e = error_of([] { find_variant("stylegan9"); });
  CHECK(e.find("unknown GAN variant 'stylegan9' (this build has: ") != std::string::npos);
  for (auto& n : names) CHECK(e.find(n) != std::string::npos);
  TrainOptions o = tiny("dcgan", "reg_unknown");
  o.variant = "dcgann";
  CHECK(error_of([&] { train(o); }).find("unknown GAN variant 'dcgann'") != std::string::npos);
  CHECK(error_of([&] { make_model("nope", Hyperparams(), {}, 0); }).find("unknown GAN variant 'nope'") !=
        std::string::npos);
  // A second registration of a name, and hyperparameters of another variant, are refused.
  CHECK(error_of([] { register_variant(find_variant("dcgan")); }).find("registered twice") != std::string::npos);
  CHECK(error_of([] { make_model("dcgan", find_variant("wgan").defaults(), {}, 0); }).find("dcgan") !=
        std::string::npos);
  // A hyperparameter the variant does not declare names the variant's own.
  TrainOptions bad = tiny("vanilla", "reg_unknown_hyper");
  bad.hyper["gp_lambda"] = "3";
  e = error_of([&] { train(bad); });
  CHECK(e.find("no hyperparameter 'gp_lambda'") != std::string::npos);
  CHECK(e.find("this variant has: z_dim, lr") != std::string::npos);
}

TEST_CASE("hyperparameter text is parsed strictly and range-checked") {
  const HyperSpec n = int_hyper("n_critic", 5, 1, 1000, "");
  std::string why;
  for (const char* bad : {"0", "0x10", "-0", "1e3", " 5", "5 ", "", "+5", "99999999999999999999", "1001"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_hyper(n, bad, &why).has_value());
    CHECK(!why.empty());
  }
  CHECK(*parse_hyper(n, "7", &why) == "7");
  const HyperSpec e = real_hyper("ema", 0, 0, 0.999999, "");
  for (const char* bad : {"nan", "inf", "-inf", "1", "-0.1", "0.5x", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_hyper(e, bad, &why).has_value());
  }
  CHECK(*parse_hyper(e, "0.999", &why) == "0.999");
  CHECK(std::strtod(parse_hyper(e, "1e-4", &why)->c_str(), nullptr) == 1e-4);  // exact round trip
  const HyperSpec b = bool_hyper("critic_layer_norm", true, "");
  CHECK(*parse_hyper(b, "false", &why) == "0");
  CHECK_FALSE(parse_hyper(b, "2", &why).has_value());
}

TEST_CASE("every registered variant trains a few steps, resumes exactly, samples and evaluates") {
  const std::string data = data_with_test_split();
  for (const std::string& name : variant_names()) {
    CAPTURE(name);
    const Variant& v = find_variant(name);
    TrainOptions full = tiny(name, "reg_full_" + name);
    full.data_dir = data;
    full.epochs = 2;
    TrainResult a = train(full);
    REQUIRE(a.steps >= 2);
    REQUIRE(a.losses.size() == (size_t)a.steps);
    std::unique_ptr<GanModel> probe = model_from_options(full);
    for (auto& l : a.losses) {
      REQUIRE(l.items().size() == probe->loss_names().size());
      for (auto& [loss, x] : l.items()) CHECK(std::isfinite(x));
    }
    // The log: the header from the loss names, one row per step.
    std::vector<std::string> log = lines(a.log);
    std::string header = "epoch,step";
    for (auto& n : probe->loss_names()) header += "," + n;
    CHECK(log.front() == header);
    CHECK(log.size() == (size_t)a.steps + 1);

    // Resume: one epoch, then the second from its checkpoint: the same losses and weights.
    TrainOptions first = full;
    first.out_dir = testing::zoo_out("reg_split_" + name);
    first.epochs = 1;
    train(first);
    TrainOptions rest = full;
    rest.out_dir = first.out_dir;
    rest.resume = first.out_dir + "/checkpoint.safetensors";
    TrainResult b = train(rest);
    REQUIRE(b.losses.size() == a.losses.size() / 2);
    for (size_t i = 0; i < b.losses.size(); ++i)
      for (auto& [loss, x] : b.losses[i].items()) CHECK(x == a.losses[a.losses.size() / 2 + i][loss]);
    LoadedGan la = load_gan_checkpoint(a.checkpoint), lb = load_gan_checkpoint(b.checkpoint);
    CHECK(la.model->variant() == name);
    CHECK(la.step == a.steps);
    nn::Named pa = la.model->nets().named_parameters(), pb = lb.model->nets().named_parameters();
    REQUIRE(pa.size() == pb.size());
    for (size_t i = 0; i < pa.size(); ++i) CHECK(pa[i].second.to_vector<float>() == pb[i].second.to_vector<float>());
    CHECK(slurp(a.log) == slurp(b.log));  // the resumed log equals the uninterrupted one

    // Samples, the way gantry sample (or translate) draws them.
    GanModel& m = *la.model;
    if (m.sampling() == Sampling::images) {
      Tensor x = zeros({2, m.shape().channels, m.shape().image_size, m.shape().image_size});
      CHECK(m.translate(x, "a2b").shape() == x.shape());
      CHECK(m.translate(x, "b2a").shape() == x.shape());
    } else {
      Samples s = draw_samples(m, 4, 1, m.sampling() == Sampling::latents_and_classes ? 1 : -1, a.checkpoint);
      CHECK(s.images.shape() == Shape{4, m.shape().channels, m.shape().image_size, m.shape().image_size});
    }
    // And its evaluation (gantry eval --checkpoint): the variant's own, or the latent metric.
    CHECK((v.eval || m.sampling() != Sampling::images));  // an image variant registers its evaluation
    EvalOptions eo;
    eo.checkpoint = a.checkpoint;
    eo.n = 20;
    eo.data_dir = data;
    const std::string report = testing::zoo_out("reg_eval_" + name + ".txt");
    std::FILE* f = std::fopen(report.c_str(), "w");
    REQUIRE(f != nullptr);
    run_eval(eo, f);
    std::fclose(f);
    CHECK(slurp(report).size() > 50);
  }
}

TEST_CASE("a toy variant defined in a test file alone trains, checkpoints and samples from the registry") {
  const Variant& v = find_variant("toy");
  CHECK(v.summary.find("tests/gan/test_registry.cpp") != std::string::npos);
  TrainOptions o = tiny("toy", "reg_toy");
  o.hyper["lr"] = "0.01";
  TrainResult r = train(o);
  CHECK(r.steps == 4);
  LoadedGan l = load_gan_checkpoint(r.checkpoint);
  CHECK(l.model->variant() == "toy");
  CHECK(l.model->hyper().s("lr") == "0.01");
  CHECK(l.model->optimizer("g").steps() == 4);
  CHECK(nn::load_safetensors(r.checkpoint).metadata.at("hp.explode_at") == "0");
  CHECK(draw_samples(*l.model, 3, 0, -1, r.checkpoint).images.shape() == Shape{3, 1, 28, 28});
}

TEST_CASE("every checkpoint metadata field goes through the flags' range checks") {
  TrainOptions o = tiny("wgan", "reg_meta_wgan");
  o.limit = 8;
  const std::string ckpt = train(o).checkpoint;
  auto err = [&](const std::map<std::string, std::string>& edit) {
    const std::string p = with_metadata(ckpt, testing::zoo_out("reg_meta_edit.safetensors"), edit);
    return error_of([&] { load_gan_checkpoint(p); });
  };
  for (const char* bad : {"0", "0x10", "-0"}) {
    CAPTURE(bad);
    const std::string e = err({{"hp.n_critic", bad}});
    CHECK(e.find("reg_meta_edit.safetensors: metadata 'hp.n_critic' '" + std::string(bad) + "'") != std::string::npos);
  }
  CHECK(err({{"hp.ema", "nan"}}).find("metadata 'hp.ema' 'nan' is not finite") != std::string::npos);
  CHECK(err({{"epoch", "9223372036854775808"}}).find("metadata 'epoch' '9223372036854775808'") != std::string::npos);
  CHECK(err({{"epoch", "18446744073709551615"}}).find("metadata 'epoch'") != std::string::npos);
  CHECK(err({{"epoch", "100001"}}).find("is outside [0, 100000]") != std::string::npos);
  CHECK(err({{"step", "-1"}}).find("metadata 'step'") != std::string::npos);
  CHECK(err({{"opt_d_steps", "1e3"}}).find("metadata 'opt_d_steps' '1e3' is not a decimal integer") !=
        std::string::npos);
  CHECK(err({{"noise_offset", "-5"}}).find("'noise_offset' '-5' is not a decimal unsigned integer") !=
        std::string::npos);
  CHECK(err({{"hp.width", "-4"}}).find("'hp.width' '-4' is outside [1, 1024]") != std::string::npos);
  CHECK(err({{"image_size", "0"}}).find("'image_size' '0' is outside") != std::string::npos);
  CHECK(err({{"image_size", "30"}}).find("wgan: image size must be 28 or 32, got 30") != std::string::npos);
  CHECK(err({{"hp.clip", ""}}).find("metadata has no 'hp.clip'") != std::string::npos);
  CHECK(err({{"variant", "dcgan"}}).find("no hyperparameter 'clip' here (this variant has: z_dim") !=
        std::string::npos);

  TrainOptions d = tiny("dcgan", "reg_meta_dcgan");
  d.limit = 8;
  const std::string dckpt = train(d).checkpoint;
  const std::string p =
      with_metadata(dckpt, testing::zoo_out("reg_meta_classes.safetensors"), {{"hp.num_classes", "4096"}});
  CHECK(error_of([&] { load_gan_checkpoint(p); }).find("no hyperparameter 'num_classes' here") != std::string::npos);
  // A hyperparameter added later (hp.unroll, after DCGAN checkpoints existed) takes its
  // default when absent; one that was always written stays required.
  const std::string before_unroll =
      with_metadata(dckpt, testing::zoo_out("reg_meta_no_unroll.safetensors"), {{"hp.unroll", ""}});
  LoadedGan old_dcgan = load_gan_checkpoint(before_unroll);
  CHECK(old_dcgan.model->hyper().i("unroll") == 0);
  CHECK(old_dcgan.step == load_gan_checkpoint(dckpt).step);
  const std::string no_width =
      with_metadata(dckpt, testing::zoo_out("reg_meta_no_width.safetensors"), {{"hp.width", ""}});
  CHECK(error_of([&] { load_gan_checkpoint(no_width); }).find("metadata has no 'hp.width'") != std::string::npos);
  // The same limits hold for a resumed run's flags: an override that differs is refused.
  TrainOptions r = o;
  r.resume = ckpt;
  r.epochs = 2;
  r.hyper["n_critic"] = "2";
  CHECK(error_of([&] { train(r); }).find("--n-critic 2 differs from the checkpoint's 5") != std::string::npos);
}

TEST_CASE("checkpoints in the gantry-gan-1 layout still load, with the same checks") {
  TrainOptions o = tiny("wgan-gp", "reg_v1");
  o.limit = 8;
  o.hyper["n_critic"] = "2";
  o.hyper["critic_layer_norm"] = "0";
  const std::string ckpt = train(o).checkpoint;
  LoadedGan now = load_gan_checkpoint(ckpt);
  // The old layout: flat GanConfig keys, every field for every variant.
  std::map<std::string, std::string> v1 = {{"format", "gantry-gan-1"}, {"channels", ""}};
  for (const HyperSpec& s : now.model->hyper().specs()) v1["hp." + s.name] = "";
  for (const char* k : {"z_dim", "width", "lr", "beta1", "beta2", "n_critic", "gp_lambda", "instance_noise", "ema"})
    v1[k] = now.model->hyper().s(k);
  v1["critic_layer_norm"] = "0";
  v1["num_classes"] = "0", v1["embed_dim"] = "10", v1["clip"] = "0.01", v1["real_label"] = "1";
  const std::string old = with_metadata(ckpt, testing::zoo_out("reg_v1.safetensors"), v1);
  LoadedGan then = load_gan_checkpoint(old);
  CHECK(then.model->hyper().i("n_critic") == 2);
  CHECK_FALSE(then.model->hyper().b("critic_layer_norm"));
  CHECK(then.step == now.step);
  Rng g1(3), g2(3);
  CHECK(then.model->sample(then.model->latents(4, &g1)).to_vector<float>() ==
        now.model->sample(now.model->latents(4, &g2)).to_vector<float>());
  auto err = [&](const std::map<std::string, std::string>& edit) {
    const std::string p = with_metadata(old, testing::zoo_out("reg_v1_edit.safetensors"), edit);
    return error_of([&] { load_gan_checkpoint(p); });
  };
  CHECK(err({{"n_critic", "0"}}).find("metadata 'n_critic' '0' is outside [1, 1000]") != std::string::npos);
  CHECK(err({{"ema", "nan"}}).find("metadata 'ema' 'nan' is not finite") != std::string::npos);
  CHECK(err({{"num_classes", "4096"}}).find("'num_classes' is '4096' but a wgan-gp has no classes") !=
        std::string::npos);
}

TEST_CASE("after a kill and --resume the loss log is one whole row per step") {
  TrainOptions o = tiny("dcgan", "reg_kill");
  o.epochs = 1;
  TrainResult first = train(o);  // checkpoint at step 4
  REQUIRE(first.steps == 4);
  {
    // What a SIGKILL mid-epoch 2 leaves: rows past the checkpoint and a torn last line.
    std::ofstream log(first.log, std::ios::app);
    log << "2,5,1,2,0.5,0.5\n2,6,1,2,0.5,0.5\n2,7,1.3";
  }
  o.epochs = 2;
  o.resume = first.checkpoint;
  TrainResult second = train(o);
  std::vector<std::string> log = lines(second.log);
  REQUIRE(log.size() == 9);  // header + steps 1..8
  for (size_t i = 1; i < log.size(); ++i) {
    CAPTURE(log[i]);
    CHECK(std::count(log[i].begin(), log[i].end(), ',') == 5);
    CHECK(log[i].substr(0, log[i].find(',', 2) + 1) == (i <= 4 ? "1," : "2,") + std::to_string(i) + ",");
  }
  TrainOptions clean = tiny("dcgan", "reg_kill_clean");
  clean.epochs = 2;
  CHECK(slurp(train(clean).log) == slurp(second.log));
}

TEST_CASE("a NaN loss stops training naming the step, the loss and the cause, and keeps the good checkpoint") {
  TrainOptions o = tiny("toy", "reg_nan");
  o.hyper["explode_at"] = "6";  // in epoch 2 (4 steps an epoch) of a fresh model
  o.epochs = 1;
  TrainResult r = train(o);
  const std::string good = slurp(r.checkpoint);
  o.epochs = 3;
  o.resume = "";
  const std::string e = error_of([&] { train(o); });
  CHECK(e.find("step 6 (epoch 2): loss 'g_loss' is nan") != std::string::npos);
  CHECK(e.find("--lr") != std::string::npos);
  CHECK(e.find("the last good checkpoint " + r.checkpoint + " is kept") != std::string::npos);
  CHECK(slurp(r.checkpoint) == good);
  CHECK(load_gan_checkpoint(r.checkpoint).step == 4);
  CHECK(lines(r.log).size() == 6);  // header + the 5 finite steps: the NaN row is not written
}

TEST_CASE("a loss log that cannot be written is an error naming the file") {
  TrainOptions o = tiny("toy", "reg_csv_error");
  fs::create_directories(fs::path(o.out_dir) / "log.csv");  // a folder where the log goes
  const std::string e = error_of([&] { train(o); });
  CHECK(e.find("cannot write " + (fs::path(o.out_dir) / "log.csv").string()) != std::string::npos);
}

TEST_CASE("two-domain variants: domains from classes or from image folders, batches on the model's device") {
  // Classes: zoo_data's 96 labels are i % 10, so sneaker (7) and ankle boot (9) hold 9 images each.
  TrainOptions o = tiny("toy-translate", "reg_domains");
  std::unique_ptr<DataSource> d = data_from_options(o);
  CHECK(d->two_domains());
  CHECK(d->size() == 9);
  CHECK(d->size_b() == 9);
  o.domain_a = {"7"}, o.domain_b = {"Ankle-Boot"};
  CHECK(data_from_options(o)->size_b() == 9);
  o.domain_b = {"boots?"};
  CHECK(error_of([&] { data_from_options(o); }).find("unknown Fashion-MNIST class 'boots?' (the classes: 0 t-shirt") !=
        std::string::npos);
  CHECK(fashion_class("sneakers") == 7);
  CHECK(fashion_class("T-shirt") == 0);

  // Folders of RGB PNGs at 16x16, through the trainer, the grid and the checkpoint.
  const fs::path root = testing::zoo_out("reg_folders");
  Rng g(5);
  for (const char* dom : {"a", "b"}) {
    fs::create_directories(root / dom);
    for (int i = 0; i < 6; ++i) {
      Tensor x = rand({1, 3, 20, 24}, DType::f32, &g, -1, 1);
      save_image_grid((root / dom / (std::to_string(i) + ".png")).string(), x, 1, 0, 1);
    }
  }
  TrainOptions f = tiny("toy-translate", "reg_folders_run");
  f.data_a = (root / "a").string(), f.data_b = (root / "b").string();
  f.image_size = 16, f.channels = 3, f.batch_size = 2, f.epochs = 1;
  TrainResult r = train(f);
  CHECK(r.steps == 3);
  LoadedGan l = load_gan_checkpoint(r.checkpoint);
  CHECK(l.model->shape().image_size == 16);
  CHECK(l.model->shape().channels == 3);
  CHECK(l.model->optimizers().size() == 2);
  CHECK(l.model->optimizers()[0].nets == std::vector<std::string>{"G_AB", "G_BA"});
  CHECK(nn::load_safetensors(r.checkpoint).metadata.at("state.pooled") == "3");
  const std::string odd = with_metadata(r.checkpoint, testing::zoo_out("reg_state.safetensors"), {});
  {
    nn::SafetensorsFile sf = nn::load_safetensors(odd);
    sf.tensors.emplace_back("stray.x", zeros({1}));
    nn::save_safetensors(odd, sf.tensors, sf.metadata);
  }
  CHECK(error_of([&] { load_gan_checkpoint(odd); }).find("'stray.x', which belongs to no net") != std::string::npos);
  CHECK(fs::exists(r.samples));
  CHECK(error_of([&] { draw_samples(*l.model, 4, 0, -1, r.checkpoint); }).find("translates images") !=
        std::string::npos);
  f.data_b.clear();
  CHECK(error_of([&] { train(f); }).find("give both --data-a and --data-b") != std::string::npos);

#if GANTRY_HAS_CUDA
  TrainOptions c = tiny("toy-translate", "reg_domains_cuda");
  c.device = "cuda", c.epochs = 1;
  CHECK(train(c).steps == 2);  // the step REQUIREs its batch on the model's device
#endif
}

TEST_CASE("cgan with fewer classes than its data names the flag") {
  TrainOptions o = tiny("cgan", "reg_cgan_classes");
  o.hyper["num_classes"] = "5";
  CHECK(error_of([&] { train(o); }).find("but --num-classes is 5") != std::string::npos);
}
