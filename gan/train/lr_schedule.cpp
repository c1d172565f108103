// gan/train/lr_schedule.cpp — CycleGAN's linear learning-rate decay.
#include "gan/train/lr_schedule.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace gantry::gan {

double LinearDecaySchedule::lambda_rule(int64_t e) const {
  GANTRY_CHECK(n_epochs >= 0 && n_epochs_decay >= 0 && epoch_count >= 1, "LinearDecaySchedule: n_epochs (", n_epochs,
               ") and n_epochs_decay (", n_epochs_decay, ") must be >= 0 and epoch_count (", epoch_count, ") >= 1");
  return 1.0 - (double)std::max<int64_t>(0, e + epoch_count - n_epochs) / (double)(n_epochs_decay + 1);
}

double LinearDecaySchedule::factor_for_epoch(int64_t t) const {
  GANTRY_CHECK(t >= epoch_count && t <= last_epoch(), "LinearDecaySchedule: epoch ", t, " is outside ", epoch_count,
               "..", last_epoch());
  return lambda_rule(t - epoch_count + 1);
}

}  // namespace gantry::gan
