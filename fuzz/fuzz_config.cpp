// Config JSON with `--set key=value` overrides (input parts: the config file, then one
// assignment per line), resolved as the CLI does: load, set, presets, validate.
#include <sstream>

#include "cli/config.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  const auto parts = fuzz::split(fuzz::as_text(data, size), 2);
  const std::string path = fuzz::write_file("config.json", parts[0]);
  fuzz::run([&] {
    Config c = Config::load(path);
    std::vector<std::string> sets;
    std::istringstream lines{std::string(parts[1])};
    for (std::string line; std::getline(lines, line);) {
      c.set(line);
      sets.push_back(line);
    }
    c.apply_presets(sets);
    c.validate();
    c.to_json().dump();
  });
  return 0;
}
