// core/anomaly.hpp — anomaly detection, like torch.autograd.detect_anomaly: while on,
// every op's output is checked in forward (where the op records, core/autograd.cpp's
// record()) and every derivative rule's gradients in backward, and the first non-finite
// value (NaN or Inf) throws gantry::Error naming the op and its input shapes, e.g.
//   anomaly: op 'log' (inputs [4,3]) produced NaN in its output [4,3] in forward; its inputs were finite
//   anomaly: the backward of op 'div' (inputs [4], [4]) produced Inf in its gradient for input 1 [4]
// It is slow (each check reads the tensor back to the cpu): a debugging switch.
// The switch is process-wide; GANTRY_DETECT_ANOMALY=1 in the environment turns it on at
// start-up. Inside a derivative rule the forward checks of the rule's own ops are off:
// the rule's results are checked as a whole, under the op's name.
#pragma once

namespace gantry {

class Tensor;

// Turns anomaly detection on or off for the whole process.
void set_detect_anomaly(bool on);
// Whether it is on (initially: GANTRY_DETECT_ANOMALY=1 in the environment).
bool is_anomaly_enabled();

// RAII: anomaly detection on (or off) in a scope, restored after.
class DetectAnomalyGuard {
 public:
  explicit DetectAnomalyGuard(bool on = true) : prev_(is_anomaly_enabled()) { set_detect_anomaly(on); }
  ~DetectAnomalyGuard() { set_detect_anomaly(prev_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool prev_;
};

// Whether every element of a floating tensor is finite (true for integer tensors and
// undefined ones). Reads the tensor back to the cpu; records nothing.
bool all_finite(const Tensor& t);
// "NaN" if t holds a NaN, else "Inf" if it holds an infinity, else nullptr (same rules).
const char* non_finite_kind(const Tensor& t);

}  // namespace gantry
