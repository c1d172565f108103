// tests/cli/test_gantry_cli.cpp — the `gantry` command line (examples/gantry_cli.hpp) parsed
// and validated without running anything: what each subcommand yields, and that bad input is
// a CLI::ParseError or a gantry::Error naming what is wrong (fuzz/fuzz_cli.cpp fuzzes the rest).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "examples/gantry_cli.hpp"

using namespace gantry;

namespace {

// Parses "gantry <args...>" with a fresh command line.
cli::Command parse(cli::GantryCli& c, std::vector<std::string> args) {
  args.insert(args.begin(), "gantry");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return c.parse((int)argv.size(), argv.data());
}

// The message of the exception E that parsing args throws ("" if none or another).
template <class E>
std::string error_of(std::vector<std::string> args) {
  cli::GantryCli c;
  try {
    parse(c, std::move(args));
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("gantry train <variant>: the trainer's options, the variant's defaults filled in") {
  cli::GantryCli c;
  CHECK(parse(c, {"train", "wgan", "--epochs", "2", "--n-critic", "3", "--limit", "10"}) == cli::Command::train);
  CHECK(c.train.variant == "wgan");
  CHECK(c.train.epochs == 2);
  CHECK(c.train.limit == 10);
  CHECK(c.train.out_dir == "runs/wgan");
  CHECK(c.train.hyper.at("n_critic") == "3");
  CHECK(c.train.hyper.count("clip") == 0);  // only the flags given
}

TEST_CASE("gantry train: a bad variant, flag or value is an error naming it") {
  CHECK(error_of<Error>({"train", "nosuchgan"}).find("unknown GAN variant 'nosuchgan'") != std::string::npos);
  CHECK(error_of<CLI::ParseError>({"train", "wgan", "--n-critic", "0"}).find("'0' is outside [1, 1000]") !=
        std::string::npos);
  CHECK(error_of<CLI::ParseError>({"train", "dcgan", "--epochs", "-1"}).find("--epochs") != std::string::npos);
  CHECK(error_of<CLI::ParseError>({"train", "dcgan", "--no-such-flag"}).find("--no-such-flag") != std::string::npos);
  CHECK(error_of<CLI::ParseError>({"train"}).find("subcommand") != std::string::npos);
  CHECK(error_of<CLI::ParseError>({}).find("subcommand") != std::string::npos);
}

TEST_CASE("gantry sample: --class is 0 or more; the stylegan options become the variant's options") {
  CHECK(error_of<Error>({"sample", "--checkpoint", "/dev/null", "--out", "x.png", "--class", "-1"})
            .find("--class -1: a class index is 0 or more") != std::string::npos);
  cli::GantryCli c;
  CHECK(parse(c, {"sample", "--checkpoint", "/dev/null", "--out", "x.png", "--truncation", "0.5", "--style-mix"}) ==
        cli::Command::sample);
  CHECK(c.sample.options.at("truncation") == std::to_string(0.5));
  CHECK(c.sample.options.at("style_mix") == "1");
  CHECK(c.sample.options.count("noise_mode") == 0);
  CHECK(
      error_of<CLI::ParseError>({"sample", "--checkpoint", "/no/such/file", "--out", "x.png"}).find("/no/such/file") !=
      std::string::npos);
}

TEST_CASE("gantry eval, classifier train, translate, train toy: which command, and --help") {
  cli::GantryCli e;
  CHECK(parse(e, {"eval", "--test-set"}) == cli::Command::eval);
  CHECK(e.eval.e.test_set);
  cli::GantryCli k;
  CHECK(parse(k, {"classifier", "train", "--epochs", "1"}) == cli::Command::classifier_train);
  CHECK(k.eval.c.command == "gantry classifier train --epochs 1");
  cli::GantryCli t;
  CHECK(parse(t, {"translate", "--checkpoint", "c", "--direction", "b2a", "--input", "i", "--out", "o"}) ==
        cli::Command::translate);
  CHECK(t.translate.direction == "b2a");
  cli::GantryCli y;
  CHECK(parse(y, {"train", "toy", "--steps", "5"}) == cli::Command::train_toy);
  CHECK(y.toy.steps == 5);
  cli::GantryCli h;
  CHECK_THROWS_AS(parse(h, {"train", "dcgan", "--help"}), CLI::CallForHelp);
}

TEST_CASE("GantryCli::reset: parsing again after a reset is parsing with a new GantryCli") {
  cli::GantryCli reused;
  parse(reused,
        {"train", "stylegan", "--epochs", "7", "--seed", "9", "--out", "o", "--ema-kimg", "2", "--no-progress"});
  CHECK(reused.train.out_dir == "o");
  reused.reset();
  CHECK(parse(reused, {"train", "stylegan", "--limit", "3"}) == cli::Command::train);
  cli::GantryCli fresh;
  parse(fresh, {"train", "stylegan", "--limit", "3"});
  CHECK(reused.train.epochs == fresh.train.epochs);
  CHECK(reused.train.seed == fresh.train.seed);
  CHECK(reused.train.progress == fresh.train.progress);
  CHECK(reused.train.out_dir == "runs/stylegan");
  CHECK(reused.train.hyper == fresh.train.hyper);
  CHECK(reused.train.limit == 3);
  reused.reset();
  parse(reused, {"sample", "--checkpoint", "/dev/null", "--out", "x.png", "--style-mix"});
  reused.reset();
  parse(reused, {"sample", "--checkpoint", "/dev/null", "--out", "y.png"});
  CHECK(reused.sample.options.empty());
  CHECK(!reused.sample.style_mix);
  reused.reset();
  CHECK_THROWS_AS(parse(reused, {"sample", "--out", "y.png"}), CLI::ParseError);  // --checkpoint is required again
}
