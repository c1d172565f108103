// examples/gantry_cli.hpp — the `gantry` command line as a unit: GantryCli builds every
// subcommand's flags (CLI11) and parse() parses and validates argv into plain options,
// running nothing. examples/gantry.cpp runs what it parsed; fuzz/fuzz_cli.cpp fuzzes it.
// parse() throws only CLI::ParseError (a bad flag, or --help: CLI::App::exit prints it)
// and gantry::Error (a value the flags' checks let through but gantry refuses).
#pragma once
#include <CLI/CLI.hpp>
#include <map>
#include <string>

#include "core/error.hpp"
#include "eval_commands.hpp"
#include "gan/train/trainer.hpp"
#include "toy_flags.hpp"
#include "train_flags.hpp"

namespace gantry::cli {

// What parse() found on the command line.
enum class Command { train, train_toy, sample, translate, eval, classifier_train };

struct SampleArgs {
  std::string checkpoint, out, format = "png";
  int64_t n = 64, class_index = -1;
  uint64_t seed = 0;
  double truncation = 1;
  std::string noise_mode;
  bool style_mix = false;
  std::map<std::string, std::string> options;  // the variant's options (stylegan), set by parse()
};

struct TranslateArgs {
  std::string checkpoint, direction, input, out;
};

// The whole command line. Its flags write into the members below, so it is neither
// copied nor moved: make one, parse (and to parse again, reset() first).
class GantryCli {
 public:
  GantryCli();
  GantryCli(const GantryCli&) = delete;
  GantryCli& operator=(const GantryCli&) = delete;

  // Parses argv (argv[0] is the program) and checks what the flags' own checks cannot:
  // the variant's name, its hyperparameters (gan::hyper_from_options), --class. Throws
  // CLI::ParseError or gantry::Error; reads no file beyond the flags' existence checks.
  Command parse(int argc, const char* const* argv);

  // Every value back to what a new GantryCli holds, so the next parse() is a fresh one's
  // (CLI11 clears its own state when an app is parsed again). Building the app costs
  // far more than parsing: fuzz/fuzz_cli.cpp keeps one.
  void reset();

  CLI::App app{"gantry: a from-scratch autograd engine and GAN zoo. Train a GAN, then sample from it."};
  gan::TrainOptions train;  // Command::train: complete (variant, hyperparameters, --out)
  gan::ToyOptions toy;
  SampleArgs sample;
  TranslateArgs translate;
  EvalCommands eval;  // Command::eval and classifier_train (eval.c.command is the command line)

 private:
  // The values the flags write into, as a new GantryCli has them (for reset()).
  struct Values {
    gan::TrainOptions train;
    gan::ToyOptions toy;
    SampleArgs sample;
    TranslateArgs translate;
    gan::EvalOptions eval;
    gan::ClassifierTrainOptions classifier;
    std::string classifier_out;
    std::map<std::string, std::string> text;
    std::map<std::string, bool> on;
  };
  Values values() const {
    return {
        train, toy, sample, translate, eval.e, eval.c, eval.classifier_out, train_commands_.text, train_commands_.on};
  }
  TrainCommands train_commands_;
  CLI::App *train_ = nullptr, *train_toy_ = nullptr, *sample_ = nullptr, *translate_ = nullptr;
  Values initial_;
};

inline GantryCli::GantryCli() {
  app.require_subcommand(1);
  train_ = add_train_commands(app, train, train_commands_);
  train_toy_ = train_->add_subcommand("toy",
                                      "The 2-D mode-collapse toy (docs/toy.md): bce, unrolled bce or wgan-gp "
                                      "on ring8 or grid25 (not an image variant)");
  add_toy_flags(train_toy_, toy);

  SampleArgs& s = sample;
  sample_ = app.add_subcommand("sample", "Write samples from a trained checkpoint");
  sample_->add_option("--checkpoint", s.checkpoint, "A checkpoint written by gantry train")
      ->required()
      ->check(CLI::ExistingFile);
  sample_->add_option("--n", s.n, "How many samples")->check(CLI::Range(1, 100000));
  sample_->add_option("--seed", s.seed, "Seed of the latents");
  sample_->add_option("--class", s.class_index, "cgan: draw this class (default: a grid with one class per row)");
  sample_->add_option("--out", s.out, "Output file (.png grid, or IDX with --format idx)")->required();
  sample_->add_option("--format", s.format, "png or idx")->check(CLI::IsMember({"png", "idx"}));
  sample_->add_option("--truncation", s.truncation, "stylegan: truncation psi (w_avg + psi (w - w_avg)); 1: none")
      ->check(CLI::Range(-10.0, 10.0));
  sample_->add_option("--noise-mode", s.noise_mode, "stylegan: per-pixel noise const (default), random or none")
      ->check(CLI::IsMember({"const", "random", "none"}));
  sample_->add_flag("--style-mix", s.style_mix,
                    "stylegan: the style-mixing grid (rows take coarse styles from columns)");

  TranslateArgs& t = translate;
  translate_ = app.add_subcommand("translate", "Translate images with an image-to-image checkpoint (cyclegan)");
  translate_->add_option("--checkpoint", t.checkpoint, "A checkpoint written by gantry train cyclegan")->required();
  translate_->add_option("--direction", t.direction, "a2b (G_AB) or b2a (G_BA)")
      ->required()
      ->check(CLI::IsMember({"a2b", "b2a"}));
  translate_->add_option("--input", t.input, "An IDX image file, a PNG/JPEG file, or a folder of them")->required();
  translate_->add_option("--out", t.out, "A .png (one image, or a grid), an IDX file (.idx, *-ubyte), or a folder")
      ->required();

  add_eval_commands(app, eval);
  initial_ = values();
}

inline void GantryCli::reset() {
  // Assigned member by member: the flags hold references to these very objects.
  const Values& v = initial_;
  train = v.train, toy = v.toy, sample = v.sample, translate = v.translate;
  eval.e = v.eval, eval.c = v.classifier, eval.classifier_out = v.classifier_out;
  for (auto& [key, text] : train_commands_.text) text = v.text.at(key);
  for (auto& [key, on] : train_commands_.on) on = v.on.at(key);
}

inline Command GantryCli::parse(int argc, const char* const* argv) {
  // `gantry train NAME` with a name no variant has: the registry's error, listing them
  // (CLI11 would only say that NAME is an extra argument).
  if (argc > 2 && std::string(argv[1]) == "train" && argv[2][0] != '-' && std::string(argv[2]) != "toy")
    gan::find_variant(argv[2]);
  app.parse(argc, argv);
  if (*eval.eval) return Command::eval;
  if (*eval.classifier_train) {
    eval.c.command = "gantry";
    for (int i = 1; i < argc; ++i) eval.c.command += std::string(" ") + argv[i];
    return Command::classifier_train;
  }
  if (*train_toy_) return Command::train_toy;
  if (*train_) {
    finish_train_options(train_commands_, train);
    gan::hyper_from_options(train);  // every hyperparameter in range, errors naming the flag
    return Command::train;
  }
  if (*translate_) return Command::translate;
  if (sample_->count("--class")) {
    GANTRY_CHECK(sample.class_index >= 0, "--class ", sample.class_index, ": a class index is 0 or more");
  }
  if (sample_->count("--truncation")) sample.options["truncation"] = std::to_string(sample.truncation);
  if (sample_->count("--noise-mode")) sample.options["noise_mode"] = sample.noise_mode;
  if (sample.style_mix) sample.options["style_mix"] = "1";
  return Command::sample;
}

}  // namespace gantry::cli
