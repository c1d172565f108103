// gan/train/lr_schedule.hpp — CycleGAN's learning-rate policy "linear" (the reference's
// networks.get_scheduler): the base rate for n_epochs, then a linear decay to 0 over
// n_epochs_decay more.
#pragma once
#include <cstdint>

namespace gantry::gan {

struct LinearDecaySchedule {
  int64_t n_epochs = 100;        // --n_epochs: epochs at the base rate
  int64_t n_epochs_decay = 100;  // --n_epochs_decay: epochs of linear decay
  int64_t epoch_count = 1;       // --epoch_count: the first epoch's number (> 1 when resuming)

  // The reference's lambda_rule, verbatim:
  //   1 - max(0, e + epoch_count - n_epochs) / (n_epochs_decay + 1),
  // e being torch's LambdaLR counter (0 when the scheduler is made, +1 per scheduler.step()).
  double lambda_rule(int64_t e) const;

  // The factor (times the base rate) while training epoch t, t = epoch_count ..
  // n_epochs + n_epochs_decay as train.py numbers them. train.py makes the scheduler
  // fresh (counter 0) and calls scheduler.step() at the start of every epoch, so epoch t
  // runs at lambda_rule(t - epoch_count + 1) = 1 - max(0, t + 1 - n_epochs) / (n_epochs_decay + 1):
  // the decay's first step falls on epoch n_epochs, and the last epoch runs at 0.
  // This is the reference's behaviour, kept on purpose (and it does not depend on
  // epoch_count, so a resumed run follows the same curve).
  double factor_for_epoch(int64_t t) const;

  // The last epoch's number: n_epochs + n_epochs_decay.
  int64_t last_epoch() const { return n_epochs + n_epochs_decay; }
};

}  // namespace gantry::gan
