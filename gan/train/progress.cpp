// gan/train/progress.cpp — the one-line training progress bar of gan/train/progress.hpp.
#include "gan/train/progress.hpp"

#include <unistd.h>

namespace gantry::gan {

ProgressBar::ProgressBar(std::string label, int64_t total, int64_t batch_size, std::FILE* out)
    : label_(std::move(label)),
      total_(total),
      batch_(batch_size),
      out_(out),
      tty_(isatty(fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()) {}

double ProgressBar::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double ProgressBar::images_per_second() const {
  const double s = seconds();
  return s > 0 ? (double)(done_ * batch_) / s : 0.0;
}

void ProgressBar::update(int64_t done, const std::string& status) {
  done_ = done;
  draw(done, status, false);
}

void ProgressBar::finish(const std::string& status) { draw(done_, status, true); }

void ProgressBar::draw(int64_t done, const std::string& status, bool final) {
  const int64_t decile = total_ ? done * 10 / total_ : 10;
  if (!tty_ && !final && decile == last_decile_) return;
  last_decile_ = decile;
  constexpr int kWidth = 24;
  const int filled = total_ ? (int)(kWidth * done / total_) : kWidth;
  const double ips = images_per_second();
  const double eta = ips > 0 ? (double)((total_ - done) * batch_) / ips : 0;
  std::string bar(filled, '#');
  bar += std::string(kWidth - filled, '.');
  std::fprintf(out_, "%s%s [%s] %lld/%lld  %.0f img/s  %s %d:%02d  %s%s", tty_ ? "\r" : "", label_.c_str(), bar.c_str(),
               (long long)done, (long long)total_, ips, final ? "took" : "ETA", (int)(final ? seconds() : eta) / 60,
               (int)(final ? seconds() : eta) % 60, status.c_str(), tty_ && !final ? "\033[K" : "\n");
  std::fflush(out_);
}

}  // namespace gantry::gan
