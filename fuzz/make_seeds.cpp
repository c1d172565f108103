// fuzz/make_seeds.cpp — writes the fuzzers' seed corpora from valid files made by gantry's
// own writers: fuzz_make_seeds DIR fills DIR/idx, DIR/safetensors and DIR/image_folder, and
// DIR/cli with command lines made from gantry's own flags (examples/gantry_cli.hpp), one
// per subcommand with every flag it has, plus DIR/cli.dict (libFuzzer's -dict) of every
// subcommand and flag name.
#include <stb/stb_image_write.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "core/file_io.hpp"
#include "examples/gantry_cli.hpp"
#include "gan/data/dataset.hpp"
#include "gan/eval/image_grid.hpp"
#include "nn/checkpoint.hpp"

using namespace gantry;
namespace fs = std::filesystem;

namespace {

// A value of the flag's type that its checks are likely to take ("1" fits most ranges).
std::string sample_value(const CLI::Option* opt) {
  const std::string type = opt->get_type_name();
  if (type.find("FLOAT") != std::string::npos) return "0.5";
  if (type.find("INT") != std::string::npos) return "1";
  return "/dev/null";  // a path that exists (ExistingFile takes it), and text for the rest
}

// One seed per subcommand under app (its path in `path`): every flag with a value, one
// argument per line, as fuzz_cli reads them; every name into dict.
void write_cli_seeds(CLI::App* app, const std::string& path, const fs::path& dir, std::set<std::string>& dict,
                     const std::map<std::string, std::string>& hyper_defaults) {
  std::string line = path;
  for (CLI::Option* opt : app->get_options()) {
    for (const std::string& name : opt->get_lnames()) dict.insert("--" + name);
    if (opt->get_lnames().empty() || opt->get_lnames()[0] == "help") continue;
    const std::string flag = "--" + opt->get_lnames()[0];
    line += "\n" + flag;
    if (opt->get_items_expected_max() == 0) continue;  // a flag without a value
    auto hyper = hyper_defaults.find(app->get_name() + "/" + flag);
    line += "\n" + (hyper != hyper_defaults.end() ? hyper->second : sample_value(opt));
  }
  std::string file = path;
  std::replace(file.begin(), file.end(), '\n', '_');
  write_file_atomic((dir / ("cli_" + file)).string(), line);
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) {
    dict.insert(sub->get_name());
    write_cli_seeds(sub, path + "\n" + sub->get_name(), dir, dict, hyper_defaults);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds DIR\n";
    return 2;
  }
  const fs::path dir = argv[1];
  for (const char* sub : {"idx", "safetensors", "image_folder", "cli"}) fs::create_directories(dir / sub);
  // IDX: images and labels, raw and gzip, a few shapes.
  for (int64_t n : {1, 3}) {
    gan::IdxImages im{n, 4, 5, {}};
    for (int64_t i = 0; i < n * 20; ++i) im.pixels.push_back((uint8_t)(i * 37));
    const std::string stem = (dir / "idx" / ("images" + std::to_string(n))).string();
    gan::write_idx_images(stem, im);
    gan::write_idx_images(stem + ".gz", im);
    std::vector<uint8_t> labels(n);
    for (int64_t i = 0; i < n; ++i) labels[i] = (uint8_t)(i % 10);
    gan::write_idx_labels((dir / "idx" / ("labels" + std::to_string(n))).string(), labels);
    gan::write_idx_labels((dir / "idx" / ("labels" + std::to_string(n) + ".gz")).string(), labels);
  }
  // safetensors: every dtype, a scalar, an empty tensor, metadata (like a checkpoint's).
  Rng g(1);
  nn::save_safetensors((dir / "safetensors" / "all_dtypes.safetensors").string(),
                       {{"G.main.0.weight", rand({2, 3}, DType::f32, &g)},
                        {"D.w64", rand({3}, DType::f64, &g)},
                        {"opt.step", from_indices({7}, {1})},
                        {"scalar", full({}, 2.5)},
                        {"empty", zeros({0, 3})}},
                       {{"variant", "dcgan"}, {"epoch", "3"}, {"step", "120"}});
  nn::save_safetensors((dir / "safetensors" / "one.safetensors").string(), {{"w", ones({4})}});
  // Images: PNG (gray, RGB) and JPEG.
  gan::save_image_grid((dir / "image_folder" / "gray.png").string(), rand({4, 1, 6, 6}, DType::f32, &g, -1, 1), 2, 1);
  gan::save_image_grid((dir / "image_folder" / "rgb.png").string(), rand({1, 3, 9, 5}, DType::f32, &g, -1, 1), 1, 0);
  std::string jpg;
  std::vector<uint8_t> px(12 * 10 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = (uint8_t)(i * 11);
  stbi_write_jpg_to_func([](void* ctx, void* d, int n) { static_cast<std::string*>(ctx)->append((char*)d, n); }, &jpg,
                         12, 10, 3, px.data(), 80);
  write_file_atomic((dir / "image_folder" / "rgb.jpg").string(), jpg);
  // The command line: every subcommand with all its flags, hyperparameters at their defaults.
  std::map<std::string, std::string> hyper_defaults;  // "<variant>/--<flag>" -> default
  for (const std::string& name : gan::variant_names())
    for (const gan::HyperSpec& spec : gan::find_variant(name).hyper)
      hyper_defaults[name + "/--" + spec.flag_name()] = spec.default_value;
  cli::GantryCli cli;
  std::set<std::string> dict;
  for (CLI::App* sub : cli.app.get_subcommands([](CLI::App*) { return true; })) {
    dict.insert(sub->get_name());
    write_cli_seeds(sub, sub->get_name(), dir / "cli", dict, hyper_defaults);
  }
  write_file_atomic((dir / "cli" / "cli_help").string(), "--help");
  write_file_atomic((dir / "cli" / "cli_sample_class").string(),
                    "sample\n--checkpoint\n/dev/null\n--out\nx.png\n--class\n-1");
  std::string d;
  for (const char* w : {"/", "/dev/null", "-1", "0", "1e400", "nan", "18446744073709551616", "=", "-", "--"})
    dict.insert(w);
  for (const std::string& w : dict) d += "\"" + w + "\"\n";
  write_file_atomic((dir / "cli.dict").string(), d);
  std::cout << "fuzz seeds in " << dir.string() << "\n";
  return 0;
}
