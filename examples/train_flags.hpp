// examples/train_flags.hpp — the flags of `gantry train <variant>`, made from the variant
// registry: one CLI subcommand per registered variant, with the trainer's flags and the
// variant's own hyperparameters (each checked by gan::parse_hyper, the same check a
// checkpoint's metadata goes through).
#pragma once
#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "gan/data/dataset.hpp"
#include "gan/train/trainer.hpp"

namespace gantry::cli {

struct TrainCommands {
  struct Flag {
    std::string variant, name;
    CLI::Option* option = nullptr;
  };
  std::vector<Flag> flags;
  std::map<std::string, std::string> text;  // "<variant>/<name>" -> the flag's text
  std::map<std::string, bool> on;           // "<variant>/<name>" -> a boolean flag's value
  CLI::App* train = nullptr;
};

// The trainer's own flags (the same for every variant of a data kind) on sub.
inline void add_trainer_flags(CLI::App* sub, gan::TrainOptions& t, gan::DataKind kind) {
  sub->add_option("--epochs", t.epochs, "Passes over the data")->check(CLI::Range((int64_t)0, gan::kMaxEpochs));
  sub->add_option("--batch-size", t.batch_size, "Images per step (default 64, or the variant's)")
      ->check(CLI::Range(1, 65536));
  sub->add_option("--device", t.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_option("--data", t.data_dir,
                  "Folder with the IDX files (default: $GANTRY_DATA or " + gan::default_data_dir() + ")");
  sub->add_option("--out", t.out_dir, "Where samples, checkpoints and the loss log go (default: runs/<variant>)");
  sub->add_option("--seed", t.seed, "Seed for initialization, data order and latents");
  sub->add_option("--resume", t.resume, "Continue from this checkpoint")->check(CLI::ExistingFile);
  sub->add_option("--threads", t.threads, "CPU threads (default: all)")->check(CLI::Range(1, 1024));
  sub->add_option("--limit", t.limit, "Train on the first N images only (0: all; per domain)")
      ->check(CLI::Range(0, 100000000));
  if (kind == gan::DataKind::images) {
    sub->add_flag("--pad32", t.pad32, "Train at 32x32 (zero-padded) instead of 28x28");
  } else {
    sub->add_option("--domain-a", t.domain_a, "Domain A: Fashion-MNIST classes by name or number (default sneaker)");
    sub->add_option("--domain-b", t.domain_b, "Domain B: classes (default 'ankle boot')");
    sub->add_option("--data-a", t.data_a, "Domain A from a folder of PNG/JPEG images (with --data-b)")
        ->check(CLI::ExistingDirectory);
    sub->add_option("--data-b", t.data_b, "Domain B from a folder of PNG/JPEG images")->check(CLI::ExistingDirectory);
    sub->add_option("--image-size", t.image_size, "--data-a/-b: images resized and cropped to this side")
        ->check(CLI::Range(8, 1024));
    sub->add_option("--channels", t.channels, "--data-a/-b: 1 (gray) or 3 (RGB)")->check(CLI::IsMember({1, 3}));
  }
  sub->add_option("--eval-every", t.eval_every,
                  "Every K epochs (and after the last) judge 28x28 samples with the classifier: <out>/metrics.csv")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--eval-n", t.eval_n, "Samples per evaluation")->check(CLI::Range(2, 1000000));
  sub->add_option("--classifier", t.classifier, "Classifier weights for --eval-every (default: the shipped ones)")
      ->check(CLI::ExistingFile);
  sub->add_flag("!--no-progress", t.progress, "No progress bar");
  sub->add_flag("--detect-anomaly", t.detect_anomaly,
                "Check every op's output in forward and backward; stop naming the first op (and its input shapes) "
                "that made a NaN or Inf (slow; also GANTRY_DETECT_ANOMALY=1)");
  sub->add_flag("--sync-bn", t.sync_bn,
                "Under mpirun: batch norm statistics over the global batch (default: each process's own slice)");
}

// `gantry train` with one subcommand per registered variant.
inline CLI::App* add_train_commands(CLI::App& app, gan::TrainOptions& t, TrainCommands& cmd) {
  t.out_dir.clear();
  std::string list;
  for (auto& name : gan::variant_names()) list += (list.empty() ? "" : ", ") + name;
  cmd.train = app.add_subcommand("train", "Train a GAN (" + list + "); gantry train <variant> --help lists its flags");
  cmd.train->require_subcommand(1);
  for (const std::string& name : gan::variant_names()) {
    const gan::Variant& v = gan::find_variant(name);
    CLI::App* sub = cmd.train->add_subcommand(name, v.summary);
    add_trainer_flags(sub, t, v.data);
    for (const gan::HyperSpec& spec : v.hyper) {
      const std::string key = name + "/" + spec.name, f = spec.flag_name();
      CLI::Option* opt;
      if (spec.type == gan::HyperType::boolean) {
        cmd.on[key] = spec.default_value == "1";
        opt = sub->add_flag("--" + f + ",!--no-" + f, cmd.on[key], spec.help + " (" + spec.describe() + ")");
      } else {
        auto check = [spec](std::string& s) {
          std::string why;
          return gan::parse_hyper(spec, s, &why) ? std::string() : "'" + s + "' " + why;
        };
        opt = sub->add_option("--" + f, cmd.text[key], spec.help)->check(CLI::Validator(check, spec.describe()));
      }
      cmd.flags.push_back({name, spec.name, opt});
    }
  }
  return cmd.train;
}

// After parsing: the chosen variant, its hyperparameter flags, and the default --out.
inline void finish_train_options(const TrainCommands& cmd, gan::TrainOptions& t) {
  for (CLI::App* sub : cmd.train->get_subcommands()) t.variant = sub->get_name();
  for (const auto& f : cmd.flags) {
    if (f.variant != t.variant || f.option->count() == 0) continue;
    const std::string key = f.variant + "/" + f.name;
    auto on = cmd.on.find(key);
    t.hyper[f.name] = on != cmd.on.end() ? (on->second ? "1" : "0") : cmd.text.at(key);
  }
  if (t.out_dir.empty()) t.out_dir = "runs/" + t.variant;
  const int64_t batch = gan::find_variant(t.variant).batch_size;
  for (CLI::App* sub : cmd.train->get_subcommands())
    if (batch > 0 && sub->get_option("--batch-size")->count() == 0) t.batch_size = batch;
}

}  // namespace gantry::cli
