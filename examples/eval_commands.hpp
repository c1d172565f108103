// examples/eval_commands.hpp — the flags of `gantry eval` and `gantry classifier
// train`; the work is in gan/eval/evaluate.hpp. Kept apart from gantry.cpp's train and
// sample so each can change without the other.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>

#include "gan/eval/evaluate.hpp"

namespace gantry::cli {

struct EvalCommands {
  CLI::App* eval = nullptr;
  CLI::App* classifier_train = nullptr;
  gan::EvalOptions e;
  gan::ClassifierTrainOptions c;
  std::string classifier_out = "fashion_mnist_classifier.safetensors";
};

inline void add_eval_commands(CLI::App& app, EvalCommands& cmd) {
  cmd.eval = app.add_subcommand("eval", "Judge samples with gantry's Fashion-MNIST classifier (docs/metrics.md)");
  auto* ev = cmd.eval;
  ev->add_option("--samples", cmd.e.samples, "An IDX image file of 28x28 samples")->check(CLI::ExistingFile);
  ev->add_option("--labels", cmd.e.labels, "IDX labels of --samples (conditional samples): report accuracy")
      ->check(CLI::ExistingFile);
  ev->add_option("--checkpoint", cmd.e.checkpoint, "A generator checkpoint to sample from")->check(CLI::ExistingFile);
  ev->add_option("--n", cmd.e.n, "Samples to draw from --checkpoint")->check(CLI::Range(2, 1000000));
  ev->add_option("--seed", cmd.e.seed, "Seed of the latents");
  ev->add_flag("--test-set", cmd.e.test_set, "Print the reference values: real test images, and noise");
  ev->add_option("--classifier", cmd.e.classifier,
                 "Classifier weights (default: " + gan::default_classifier_path() + ")");
  ev->add_option("--data", cmd.e.data_dir, "Folder with the test IDX files (default: " + gan::default_data_dir() + ")");
  ev->add_option("--threads", cmd.e.threads, "CPU threads (default: all)")->check(CLI::Range(1, 1024));

  auto* classifier = app.add_subcommand("classifier", "gantry's Fashion-MNIST classifier (the eye of gantry eval)");
  classifier->require_subcommand(1);
  cmd.classifier_train = classifier->add_subcommand("train", "Train it on the 60k training images");
  auto* ct = cmd.classifier_train;
  ct->add_option("--epochs", cmd.c.epochs, "Passes over the data")->check(CLI::Range(1, 1000));
  ct->add_option("--out", cmd.classifier_out, "Where the weights go (safetensors)");
  ct->add_option("--threads", cmd.c.threads, "CPU threads; the weights' bits depend on it")->check(CLI::Range(1, 1024));
  ct->add_option("--seed", cmd.c.seed, "Seed for initialization, data order and dropout");
  ct->add_option("--batch-size", cmd.c.batch_size, "Images per step")->check(CLI::Range(1, 65536));
  ct->add_option("--data", cmd.c.data_dir, "Folder with the IDX files (default: " + gan::default_data_dir() + ")");
  ct->add_flag("!--no-progress", cmd.c.progress, "No progress bar");
}

// Runs whichever of the two was chosen; nullopt when neither was. cmd.c.command (the
// command line, kept in the classifier's file) is set by GantryCli::parse.
inline std::optional<int> run_eval_commands(EvalCommands& cmd) {
  if (*cmd.eval) {
    gan::run_eval(cmd.e);
    return 0;
  }
  if (*cmd.classifier_train) {
    gan::run_classifier_train(cmd.c, cmd.classifier_out);
    return 0;
  }
  return std::nullopt;
}

}  // namespace gantry::cli
