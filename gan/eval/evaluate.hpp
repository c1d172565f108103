// gan/eval/evaluate.hpp — what `gantry eval` and `gantry classifier train` do, kept out of
// examples/gantry.cpp so the command file only parses flags. See docs/metrics.md.
#pragma once
#include <cstdio>
#include <string>

#include "gan/eval/metrics.hpp"

namespace gantry::gan {

// n samples [n, 1, 28, 28] in [-1, 1] from a checkpoint of any variant, latents from
// Rng(seed) (the same images `gantry sample --seed S --n N` writes for an
// unconditional model). A conditional model draws balanced classes 0..k-1, returned in
// *labels (left undefined otherwise), so the metric reports its accuracy on them.
Tensor generate(const std::string& checkpoint, int64_t n, uint64_t seed, Tensor* labels = nullptr);

// An IDX image file (28x28 bytes, .gz or raw) as [N, 1, 28, 28] in [-1, 1].
Tensor load_idx_samples(const std::string& path);

struct EvalOptions {
  std::string samples;     // an IDX image file, or
  std::string labels;      //   with its IDX labels (conditional samples), or
  std::string checkpoint;  // a generator checkpoint to sample from, or
  bool test_set = false;   // the reference values for real test images and for noise
  int64_t n = 10000;       // samples drawn from the checkpoint
  uint64_t seed = 0;       // their latents
  std::string classifier;  // empty: default_classifier_path()
  std::string data_dir;    // empty: default_data_dir()
  int threads = 0;         // 0: OpenMP's default
};

// Runs the evaluation and prints the table(s) to out. Throws gantry::Error on bad input.
void run_eval(const EvalOptions& o, std::FILE* out = stdout);

// Trains the classifier, saves it to `out_path` and prints the test accuracy and time.
void run_classifier_train(const ClassifierTrainOptions& o, const std::string& out_path, std::FILE* out = stdout);

}  // namespace gantry::gan
