#include "config.h"

#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/json.h"
#include "letter/common/reflect.h"
#include "letter/quant/presets.h"
#include "letter/rec/presets.h"

namespace letter {

Config Config::from_json(const nlohmann::json& j, const std::string& source) {
  Config c;
  read_options(j, c, source);
  return c;
}

Config Config::load(const std::string& path) {
  std::string text = read_text_file(path, "config");
  return from_json(parse_json(text, path, /*usage=*/true), path);
}

nlohmann::json Config::to_json() const { return options_to_json(*this); }

void Config::set(const std::string& assignment) { set_option(*this, assignment); }

void Config::apply_presets(const std::vector<std::string>& assignments) {
  auto keys = [&](const std::string& section) {
    std::vector<std::string> out;
    for (const auto& s : assignments)
      if (s.rfind(section + ".", 0) == 0) out.push_back(s.substr(section.size() + 1, s.find('=') - section.size() - 1));
    return out;
  };
  quant::apply_preset(tokenizer, keys("tokenizer"));
  rec::apply_preset(recommender, keys("recommender"));
}

void Config::validate() const {
  check_options(*this);
  LETTER_USAGE_CHECK(device == "auto" || device == "cpu" || device == "cuda" || device.rfind("cuda:", 0) == 0,
                     "config device = '", device, "' must be auto, cpu, cuda or cuda:N");
  validate_options(embed);
  validate_options(cf);
  validate_options(tokenizer);
}

std::vector<detail::FieldDoc> Config::describe() { return describe_options<Config>(); }

}  // namespace letter
