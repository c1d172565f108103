// The cyclegan variant: its LR schedule, its flags, a short run's grid and state, and
// `gantry translate` (gan::translate_files) on IDX, PNG and folder inputs with PNG, folder
// and IDX outputs, and its errors naming the flag and the file.
#include <doctest/doctest.h>

#include <filesystem>

#include "gan/data/dataset.hpp"
#include "gan/data/image_folder.hpp"
#include "gan/eval/evaluate.hpp"
#include "gan/eval/image_grid.hpp"
#include "gan/train/trainer.hpp"
#include "gan/zoo/cyclegan.hpp"
#include "test_util.hpp"
#include "zoo_util.hpp"

using namespace gantry;
using namespace gantry::gan;
using gantry::testing::error_of;
namespace fs = std::filesystem;

namespace {

// A tiny cyclegan run on the zoo's test data (classes 7 and 9 of 96 random images).
TrainOptions tiny_cyclegan(const std::string& out) {
  TrainOptions o = testing::zoo_options("cyclegan", out);
  o.batch_size = 2;
  o.threads = 1;
  o.hyper = {{"ngf", "2"}, {"ndf", "4"}, {"netG", "resnet_1blocks"}, {"n_layers_d", "1"}, {"pool_size", "4"}};
  return o;
}

}  // namespace

TEST_CASE("cyclegan's learning rate: constant for n_epochs, then linear to 0 over n_epochs_decay") {
  CHECK(cyclegan_lr_factor(0, 1, 1) == 1);
  CHECK(cyclegan_lr_factor(0.5, 1, 1) == 1);
  CHECK(cyclegan_lr_factor(0.75, 1, 1) == doctest::Approx(0.5));
  CHECK(cyclegan_lr_factor(1, 1, 1) == 0);
  CHECK(cyclegan_lr_factor(0.6, 100, 100) == doctest::Approx(0.8));
  CHECK(cyclegan_lr_factor(0.9, 3, 0) == 1);  // no decay
  CHECK(cyclegan_lr_factor(0.5, 0, 2) == doctest::Approx(0.5));
}

TEST_CASE("cyclegan registers the reference's hyperparameters and flags") {
  const Variant& v = find_variant("cyclegan");
  CHECK(v.data == DataKind::two_domains);
  CHECK(v.batch_size == 1);
  Hyperparams h = v.defaults();
  CHECK(h.f("lr") == 2e-4);
  CHECK(h.f("lambda_a") == 10);
  CHECK(h.f("lambda_identity") == 0.5);
  CHECK(h.s("gan_mode") == "lsgan");
  CHECK(h.i("pool_size") == 50);
  CHECK(h.spec("netG")->flag_name() == "netG");
  CHECK(h.spec("n_layers_d")->flag_name() == "n-layers-D");
  h.set("netG", "resnet_9blocks", "--netG");
  CHECK(error_of([&] { h.set("netG", "unet_128", "--netG"); }).find("--netG") != std::string::npos);
  // The defaults: the measured 28 px sizes of cyclegan_small_config().
  std::unique_ptr<GanModel> m = make_model("cyclegan", v.defaults(), {28, 1}, 0);
  const CycleganConfig c = cyclegan_small_config();
  auto& cg = dynamic_cast<Cyclegan&>(*m);
  CHECK(cg.core().config.ngf == c.ngf);
  CHECK(cg.core().config.n_blocks == c.n_blocks);
  CHECK(cg.core().config.ndf == c.ndf);
  CHECK(cg.core().config.n_layers == c.n_layers);
  CHECK(m->net("G_AB").parameter_count() == 49377);
  CHECK(m->net("D_A").parameter_count() == 42353);
  CHECK(m->optimizer("g").params().size() == m->net("G_AB").parameters().size() * 2);
  CHECK(error_of([] {
          make_model("cyclegan", find_variant("cyclegan").defaults(), {30, 1}, 0);
        }).find("multiple of 4") != std::string::npos);
}

TEST_CASE("a cyclegan run's grid shows real, translated and reconstructed rows; its pools are checkpointed") {
  TrainOptions o = tiny_cyclegan("cyc_run");
  TrainResult r = train(o);
  CHECK(r.steps == 4);  // 9 images a domain, batch 2 (a partial batch is dropped)
  LoadedGan l = load_gan_checkpoint(r.checkpoint);
  auto& cg = dynamic_cast<Cyclegan&>(*l.model);
  CHECK(cg.core().fake_a_pool.size() == 4);  // full
  CHECK(cg.core().fake_b_pool.size() == 4);
  CHECK(cg.core().fake_a_pool.generator().offset() > 0);
  Batch fixed;
  fixed.images = rand({8, 1, 28, 28}, DType::f32, nullptr, -1, 1);
  fixed.images_b = rand({8, 1, 28, 28}, DType::f32, nullptr, -1, 1);
  SampleGrid s = l.model->sample_grid(fixed);
  REQUIRE(s.images.shape() == Shape{48, 1, 28, 28});
  CHECK(s.nrow == 8);
  Tensor ab = l.model->translate(fixed.images, "a2b");
  CHECK(s.images.narrow(0, 0, 8).to_vector<float>() == fixed.images.to_vector<float>());
  CHECK(s.images.narrow(0, 8, 8).to_vector<float>() == ab.to_vector<float>());
  CHECK(s.images.narrow(0, 16, 8).to_vector<float>() == l.model->translate(ab, "b2a").to_vector<float>());
  CHECK(s.images.narrow(0, 24, 8).to_vector<float>() == fixed.images_b.to_vector<float>());
  CHECK(fs::exists(r.samples));
  // The domains it trained on are in the checkpoint, for gantry eval (defaults: 7 sneaker, 9 ankle boot).
  CHECK(l.model->data_info.at("domain_a") == std::to_string(fashion_class(o.domain_a.at(0))));
  CHECK(l.model->data_info.at("domain_b") == std::to_string(fashion_class(o.domain_b.at(0))));
}

TEST_CASE("gantry translate reads IDX, PNG and folder inputs and writes PNG, folder and IDX outputs") {
  const std::string ckpt = train(tiny_cyclegan("cyc_translate")).checkpoint;
  const fs::path dir = testing::zoo_out("cyc_translate_files");
  fs::remove_all(dir);
  fs::create_directories(dir / "in");
  // Inputs: an IDX file of 3 images, and a folder of 2 PNGs (one of them also alone).
  IdxImages im{3, 28, 28, {}};
  for (int64_t i = 0; i < 3 * 28 * 28; ++i) im.pixels.push_back((uint8_t)(i * 7 % 256));
  const std::string idx = (dir / "in.idx").string();
  write_idx_images(idx, im);
  save_image_grid((dir / "in" / "a.png").string(), rand({1, 1, 28, 28}, DType::f32, nullptr, -1, 1), 1, 0);
  save_image_grid((dir / "in" / "b.png").string(), rand({1, 1, 28, 28}, DType::f32, nullptr, -1, 1), 1, 0);

  // IDX -> IDX: the same images translate_files gives through the model.
  const std::string out_idx = (dir / "out.idx").string();
  CHECK(translate_files(ckpt, "a2b", idx, out_idx) == 3);
  IdxImages back = read_idx_images(out_idx);
  CHECK(back.n == 3);
  CHECK(back.rows == 28);
  // IDX -> PNG grid; PNG -> PNG (one image, 28 x 28); folder -> folder (one PNG per input).
  CHECK(translate_files(ckpt, "b2a", idx, (dir / "grid.png").string()) == 3);
  CHECK(read_image_file((dir / "grid.png").string(), {28, 1}).shape() == Shape{1, 1, 28, 28});
  CHECK(translate_files(ckpt, "a2b", (dir / "in" / "a.png").string(), (dir / "one.png").string()) == 1);
  CHECK(read_image_folder((dir / "in").string()).images.shape() == Shape{2, 1, 28, 28});
  CHECK(translate_files(ckpt, "a2b", (dir / "in").string(), (dir / "outdir").string()) == 2);
  CHECK(fs::exists(dir / "outdir" / "a.png"));
  CHECK(fs::exists(dir / "outdir" / "b.png"));
  // PNG output equals the model's translation (to 8 bits).
  LoadedGan l = load_gan_checkpoint(ckpt);
  Tensor x = read_image_file((dir / "in" / "a.png").string(), {28, 1});
  std::vector<float> want = l.model->translate(x, "a2b").to_vector<float>();
  std::vector<float> got = read_image_file((dir / "outdir" / "a.png").string(), {28, 1}).to_vector<float>();
  REQUIRE(want.size() == got.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(std::abs(want[i] - got[i]) <= 1.0f / 127.5f + 1e-5f);

  // Errors name the flag and the file.
  std::string e = error_of([&] { translate_files(ckpt, "a2c", idx, out_idx); });
  CHECK(e.find("--direction") != std::string::npos);
  e = error_of([&] { translate_files(ckpt, "a2b", (dir / "nope.png").string(), out_idx); });
  CHECK(e.find("--input") != std::string::npos);
  CHECK(e.find("nope.png") != std::string::npos);
  const std::string junk = (dir / "junk.bin").string();
  {
    std::FILE* f = std::fopen(junk.c_str(), "wb");
    std::fputs("not an image", f);
    std::fclose(f);
  }
  e = error_of([&] { translate_files(ckpt, "a2b", junk, out_idx); });
  CHECK(e.find("junk.bin") != std::string::npos);
  e = error_of([&] { translate_files((dir / "none.safetensors").string(), "a2b", idx, out_idx); });
  CHECK(e.find("--checkpoint") != std::string::npos);
  TrainOptions d = testing::zoo_options("dcgan", "cyc_translate_dcgan");
  d.limit = 16;
  d.threads = 1;
  const std::string dckpt = train(d).checkpoint;
  e = error_of([&] { translate_files(dckpt, "a2b", idx, out_idx); });
  CHECK(e.find("draws from latents") != std::string::npos);
}

TEST_CASE("cyclegan trains on folders of RGB images, resumes exactly, and translates a folder of them") {
  const fs::path root = testing::zoo_out("cyc_rgb");
  fs::remove_all(root);
  Rng g(9);
  for (const char* dom : {"a", "b"}) {
    fs::create_directories(root / dom);
    for (int i = 0; i < 4; ++i)
      save_image_grid((root / dom / (std::to_string(i) + ".png")).string(), rand({1, 3, 18, 20}, DType::f32, &g, -1, 1),
                      1, 0);
  }
  TrainOptions o = tiny_cyclegan("cyc_rgb_run");
  o.data_a = (root / "a").string(), o.data_b = (root / "b").string();
  o.image_size = 16, o.channels = 3, o.epochs = 2;
  o.hyper["n_epochs_decay"] = "0";
  TrainResult full = train(o);
  CHECK(full.steps == 4);
  TrainOptions first = o;
  first.out_dir = testing::zoo_out("cyc_rgb_split");
  first.epochs = 1;
  train(first);
  TrainOptions rest = o;
  rest.out_dir = first.out_dir;
  rest.resume = first.out_dir + "/checkpoint.safetensors";
  TrainResult b = train(rest);
  REQUIRE(b.losses.size() == 2);
  for (size_t i = 0; i < 2; ++i)
    for (auto& [name, x] : b.losses[i].items()) CHECK(x == full.losses[2 + i][name]);
  LoadedGan l = load_gan_checkpoint(full.checkpoint);
  CHECK(l.model->shape().channels == 3);
  CHECK(translate_files(full.checkpoint, "b2a", (root / "b").string(), (root / "out").string()) == 4);
  Tensor y = read_image_file((root / "out" / "0.png").string(), {16, 3});
  CHECK(y.shape() == Shape{1, 3, 16, 16});
  // The Fashion-MNIST metric refuses RGB models, naming why.
  EvalOptions eo;
  eo.checkpoint = full.checkpoint;
  CHECK(error_of([&] { find_variant("cyclegan").eval(*l.model, eo, stdout); }).find("gray") != std::string::npos);
}
