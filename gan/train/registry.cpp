// gan/train/registry.cpp — hyperparameter parsing and range checks, and the variant table.
#include "gan/train/registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/ops.hpp"
#include "gan/train/model.hpp"

namespace gantry::gan {

namespace {

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Shortest text that reads back as v ("2e-4" style for --help).
std::string short_num(double v) {
  char buf[40];
  if (v == std::floor(v) && std::abs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int p = 1; p <= 17; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::map<std::string, Variant>& table() {
  static std::map<std::string, Variant> t;
  return t;
}

}  // namespace

std::string HyperSpec::flag_name() const {
  if (!flag.empty()) return flag;
  std::string f = name;
  std::replace(f.begin(), f.end(), '_', '-');
  return f;
}

std::string HyperSpec::describe() const {
  switch (type) {
    case HyperType::integer:
      return "default " + default_value + ", in [" + short_num(min) + ", " + short_num(max) + "]";
    case HyperType::real:
      return "default " + short_num(std::strtod(default_value.c_str(), nullptr)) + ", in [" + short_num(min) + ", " +
             short_num(max) + "]";
    case HyperType::boolean: return std::string("default ") + (default_value == "1" ? "on" : "off");
    case HyperType::choice: {
      std::string c;
      for (auto& x : choices) c += (c.empty() ? "" : "|") + x;
      return "default " + default_value + ", one of " + c;
    }
  }
  return "";
}

HyperSpec int_hyper(std::string name, int64_t def, int64_t min, int64_t max, std::string help) {
  HyperSpec
      s{std::move(name), HyperType::integer, std::to_string(def), std::move(help), (double)min, (double)max, {}, ""};
  return s;
}
HyperSpec real_hyper(std::string name, double def, double min, double max, std::string help) {
  return {std::move(name), HyperType::real, num(def), std::move(help), min, max, {}, ""};
}
HyperSpec bool_hyper(std::string name, bool def, std::string help, std::string flag) {
  return {std::move(name), HyperType::boolean, def ? "1" : "0", std::move(help), 0, 1, {}, std::move(flag)};
}
HyperSpec choice_hyper(std::string name, std::string def, std::vector<std::string> choices, std::string help) {
  return {std::move(name), HyperType::choice, std::move(def), std::move(help), 0, 0, std::move(choices), ""};
}

HyperSpec added_later(HyperSpec s) {
  s.added_later = true;
  return s;
}

std::optional<std::string> parse_hyper(const HyperSpec& s, const std::string& text, std::string* why) {
  auto fail = [&](std::string w) -> std::optional<std::string> {
    if (why) *why = std::move(w);
    return std::nullopt;
  };
  auto range = [&] { return "is outside [" + short_num(s.min) + ", " + short_num(s.max) + "]"; };
  switch (s.type) {
    case HyperType::integer: {
      const bool digits = !text.empty() && text.size() <= 20 &&
                          std::all_of(text.begin() + (text[0] == '-' ? 1 : 0), text.end(), ::isdigit) && text != "-";
      if (!digits) return fail("is not a decimal integer");
      int64_t v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size()) return fail("is out of the int64 range");
      if (text[0] == '-' && v == 0) return fail("is a negative zero, not a plain integer");
      if ((double)v < s.min || (double)v > s.max) return fail(range());
      return std::to_string(v);
    }
    case HyperType::real: {
      if (text.empty() || std::isspace((unsigned char)text[0])) return fail("is not a number");
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size()) return fail("is not a number");
      if (!std::isfinite(v)) return fail("is not finite");
      if (v < s.min || v > s.max) return fail(range());
      return num(v);
    }
    case HyperType::boolean:
      if (text == "1" || text == "true" || text == "on") return std::string("1");
      if (text == "0" || text == "false" || text == "off") return std::string("0");
      return fail("is not a boolean (0/1, true/false, on/off)");
    case HyperType::choice:
      if (std::find(s.choices.begin(), s.choices.end(), text) != s.choices.end()) return text;
      return fail("is not one of the choices (" + s.describe() + ")");
  }
  return fail("has an unknown type");
}

Hyperparams::Hyperparams(std::vector<HyperSpec> specs) : specs_(std::move(specs)) {
  for (const HyperSpec& s : specs_) {
    std::string why;
    auto v = parse_hyper(s, s.default_value, &why);
    GANTRY_CHECK(v.has_value(), "hyperparameter '", s.name, "': its default '", s.default_value, "' ", why);
    GANTRY_CHECK(!values_.count(s.name), "hyperparameter '", s.name, "' is declared twice");
    values_[s.name] = *v;
  }
}

const HyperSpec* Hyperparams::spec(const std::string& name) const {
  for (const HyperSpec& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

void Hyperparams::set(const std::string& name, const std::string& text, const std::string& where) {
  const HyperSpec* s = spec(name);
  if (!s) {
    std::string known;
    for (const HyperSpec& k : specs_) known += (known.empty() ? "" : ", ") + k.name;
    throw Error(detail::concat(where, ": no hyperparameter '", name, "' here (this variant has: ", known, ")"));
  }
  std::string why;
  auto v = parse_hyper(*s, text, &why);
  if (!v) throw Error(detail::concat(where, " '", text, "' ", why));
  values_[name] = *v;
}

const std::string& Hyperparams::s(const std::string& name) const {
  auto it = values_.find(name);
  GANTRY_CHECK(it != values_.end(), "hyperparameter '", name, "' is not declared by this variant");
  return it->second;
}
int64_t Hyperparams::i(const std::string& name) const { return std::stoll(s(name)); }
double Hyperparams::f(const std::string& name) const { return std::strtod(s(name).c_str(), nullptr); }
bool Hyperparams::b(const std::string& name) const { return s(name) == "1"; }

void register_variant(Variant v) {
  GANTRY_CHECK(!v.name.empty() && v.make, "register_variant: a variant needs a name and a factory");
  GANTRY_CHECK(!table().count(v.name), "register_variant: '", v.name, "' is registered twice");
  v.defaults();  // every default parses and is in range
  std::string name = v.name;
  table().emplace(name, std::move(v));
}

std::vector<std::string> variant_names() {
  std::vector<std::string> out;
  for (auto& [name, v] : table()) out.push_back(name);
  return out;
}

const Variant& find_variant(const std::string& name) {
  auto it = table().find(name);
  if (it == table().end()) {
    std::string names;
    for (auto& v : variant_names()) names += (names.empty() ? "" : ", ") + v;
    throw Error(detail::concat("unknown GAN variant '", name, "' (this build has: ", names, ")"));
  }
  return it->second;
}

std::unique_ptr<GanModel> make_model(const std::string& name, const Hyperparams& h, ModelShape shape, uint64_t seed) {
  const Variant& v = find_variant(name);
  for (const HyperSpec& s : v.hyper)
    GANTRY_CHECK(h.has(s.name), name, ": hyperparameter '", s.name, "' is missing (build them from defaults())");
  GANTRY_CHECK(h.specs().size() == v.hyper.size(), name, ": the hyperparameters are not this variant's");
  std::unique_ptr<GanModel> m = v.make(h, shape, seed);
  GANTRY_CHECK(m != nullptr, name, ": the factory built nothing");
  m->variant_ = name;
  return m;
}

RegisterVariant::RegisterVariant(Variant v) { register_variant(std::move(v)); }

}  // namespace gantry::gan
