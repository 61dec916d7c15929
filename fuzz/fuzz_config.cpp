// Config JSON with `--set key=value` overrides (input parts: the config file, then one
// assignment per line), resolved as the CLI does: load, set, presets, validate.
#include <sstream>

#include "cli/config.h"
#include "fuzz_util.h"
#include "letter/quant/presets.h"
#include "letter/rec/presets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  const auto parts = fuzz::split(fuzz::as_text(data, size), 2);
  const std::string path = fuzz::write_file("config.json", parts[0]);
  fuzz::run([&] {
    Config c = Config::load(path);
    std::vector<std::string> tok_keys, rec_keys;
    std::istringstream lines{std::string(parts[1])};
    for (std::string line; std::getline(lines, line);) {
      c.set(line);
      const auto key = line.substr(0, line.find('='));
      if (key.rfind("tokenizer.", 0) == 0) tok_keys.push_back(key.substr(10));
      if (key.rfind("recommender.", 0) == 0) rec_keys.push_back(key.substr(12));
    }
    quant::apply_preset(c.tokenizer, tok_keys);
    rec::apply_preset(c.recommender, rec_keys);
    c.validate();
    c.to_json().dump();
  });
  return 0;
}
