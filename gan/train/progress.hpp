// gan/train/progress.hpp — a one-line progress bar for training epochs: images/s, ETA and
// the current losses. Redrawn in place on a terminal; on a pipe or a CI log it
// prints a plain line every 10% instead.
#pragma once
#include <chrono>
#include <cstdio>
#include <string>

namespace gantry::gan {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, int64_t batch_size, std::FILE* out = stderr);
  // Step `done` of `total` finished; `status` is appended (e.g. "D 1.23  G 0.98").
  void update(int64_t done, const std::string& status);
  void finish(const std::string& status);
  double images_per_second() const;
  double seconds() const;

 private:
  void draw(int64_t done, const std::string& status, bool final);
  std::string label_;
  int64_t total_, batch_;
  std::FILE* out_;
  bool tty_;
  int64_t last_decile_ = -1, done_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace gantry::gan
