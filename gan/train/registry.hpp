// gan/train/registry.hpp — the variant registry: a GAN variant registers itself once, in
// its own .cpp, with its name, a one-line summary, its hyperparameters (name, type,
// default from its paper, help, valid range) and a factory. The CLI flags, `gantry train
// --help`, checkpoint metadata, --resume, `gantry sample` and `gantry eval` all read it.
//
//   // gan/zoo/mygan.cpp
//   namespace { const RegisterVariant reg({
//       "mygan", "one line for gantry train --help",
//       {real_hyper("lr", 2e-4, 0, 1, "Adam learning rate (paper: 2e-4)"), ...},
//       DataKind::images,
//       [](const Hyperparams& h, ModelShape s, uint64_t seed) { return std::make_unique<MyGan>(h, s, seed); }}); }
//
// Programs link gantry_lib whole (CMakeLists.txt), so such a static registrar is never dropped.
// A hyperparameter's text goes through parse_hyper wherever it comes from: a flag, a
// TrainOptions override or a checkpoint's metadata, so all three share one range check.
#pragma once
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gantry::gan {

class GanModel;
struct EvalOptions;

enum class HyperType { integer, real, boolean, choice };

struct HyperSpec {
  std::string name;  // snake_case; the metadata key "hp.<name>"; the flag --<flag>
  HyperType type = HyperType::real;
  std::string default_value;  // as text, the paper's value
  std::string help;
  double min = 0, max = 0;           // integer / real: the valid range, inclusive
  std::vector<std::string> choices;  // choice: the allowed values
  std::string flag;                  // the flag's name without "--" (default: name with '-' for '_');
                                     // a boolean is --<flag> / --no-<flag>
  bool added_later = false;          // added after checkpoints were written: a checkpoint without
                                     // "hp.<name>" takes the default, which must be the behaviour
                                     // from before it existed (see added_later())
  std::string flag_name() const;
  std::string describe() const;  // "2e-4 in [0, 1]" etc., for --help
};

HyperSpec int_hyper(std::string name, int64_t def, int64_t min, int64_t max, std::string help);
HyperSpec real_hyper(std::string name, double def, double min, double max, std::string help);
HyperSpec bool_hyper(std::string name, bool def, std::string help, std::string flag = "");
HyperSpec choice_hyper(std::string name, std::string def, std::vector<std::string> choices, std::string help);
// s, marked as added after checkpoints exist: loading one without it is not an error.
HyperSpec added_later(HyperSpec s);

// Parses `text` as s's type and checks its range: the canonical text ("%.17g" for reals,
// "0"/"1" for booleans), or nullopt with *why set ("is not a decimal integer", "is
// outside [1, 1000]", "is not finite", ...). Integers are decimal only ("0x10" is not).
std::optional<std::string> parse_hyper(const HyperSpec& s, const std::string& text, std::string* why);

// One model's hyperparameter values, all of them present (defaults until set).
class Hyperparams {
 public:
  Hyperparams() = default;
  explicit Hyperparams(std::vector<HyperSpec> specs);
  // Sets a value from text, range-checked; errors start with `where` (e.g. "--n-critic" or
  // "checkpoint F: metadata 'hp.n_critic'"). Unknown names are errors listing the known ones.
  void set(const std::string& name, const std::string& text, const std::string& where);
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  int64_t i(const std::string& name) const;
  double f(const std::string& name) const;
  bool b(const std::string& name) const;
  const std::string& s(const std::string& name) const;  // the canonical text of any type
  const std::vector<HyperSpec>& specs() const { return specs_; }
  const HyperSpec* spec(const std::string& name) const;

 private:
  std::vector<HyperSpec> specs_;
  std::map<std::string, std::string> values_;
};

// What the variant's Batch carries: labelled images of one domain, or two unpaired domains.
enum class DataKind { images, two_domains };

// The image shape a model is built for (from the data: 28, or 32 with --pad32; 1 or 3 channels).
struct ModelShape {
  int64_t image_size = 28;
  int64_t channels = 1;
};

using ModelFactory = std::function<std::unique_ptr<GanModel>(const Hyperparams&, ModelShape, uint64_t seed)>;

struct Variant {
  std::string name;
  std::string summary;  // one line, for gantry train --help
  std::vector<HyperSpec> hyper;
  DataKind data = DataKind::images;
  ModelFactory make;
  // Optional: `gantry eval --checkpoint` on this variant (else the latent-sample metric).
  std::function<void(GanModel&, const EvalOptions&, std::FILE*)> eval;
  // Optional: the default --batch-size of `gantry train <name>` (0: the trainer's).
  int64_t batch_size = 0;

  Hyperparams defaults() const { return Hyperparams(hyper); }
};

// Adds v; a second variant of the same name, or an empty name or factory, throws.
void register_variant(Variant v);
// The variant called name; unknown names throw "unknown GAN variant 'x' (this build has: a, b, ...)".
const Variant& find_variant(const std::string& name);
// Every registered variant's name, sorted.
std::vector<std::string> variant_names();
// Builds a model of variant `name` (h must be that variant's, from defaults()) on the cpu.
std::unique_ptr<GanModel> make_model(const std::string& name, const Hyperparams& h, ModelShape shape, uint64_t seed);

// A static object of this type in a variant's .cpp registers it before main.
struct RegisterVariant {
  explicit RegisterVariant(Variant v);
};

}  // namespace gantry::gan
