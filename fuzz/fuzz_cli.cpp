// fuzz/fuzz_cli.cpp — libFuzzer target: the `gantry` command line (examples/gantry_cli.hpp).
// The input is argv after "gantry", one argument per line (at most kMaxArgs of them, the
// input at most kMaxBytes), parsed and validated by GantryCli::parse and never run; a
// CLI::ParseError (a bad flag, --help) is then formatted by CLI::App::exit, as gantry does.
// One GantryCli serves every input, reset() before each: building it (hundreds of flags)
// costs ~30x a parse under ASan (tests/cli checks that a reset one parses as a new one).
// CLI::ParseError and gantry::Error are the documented rejections; any other exception,
// a crash, a sanitizer report or a hang is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "examples/gantry_cli.hpp"

namespace {
constexpr size_t kMaxBytes = 4096;  // a command line longer than this adds nothing new
constexpr size_t kMaxArgs = 128;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxBytes) return 0;
  std::vector<std::string> args{"gantry"};
  std::string arg;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      args.push_back(arg);
      arg.clear();
    } else {
      arg += (char)data[i];
    }
  }
  if (size) args.push_back(arg);
  if (args.size() > kMaxArgs) return 0;
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  static gantry::cli::GantryCli cli;
  cli.reset();
  try {
    cli.parse((int)argv.size(), argv.data());
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    cli.app.exit(e, out, err);
  } catch (const gantry::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_cli: undocumented exception: %s\n", e.what());
    std::abort();
  }
  return 0;
}
