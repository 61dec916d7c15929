// `letter config`: print the resolved configuration, or list every key with its default.
#include <iomanip>
#include <ostream>

#include "app.h"

namespace letter::cli {

void register_config(CLI::App& app, CommonOptions& common) {
  auto list = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "config", "Print the resolved config (defaults + --config + --set), or --list every key");
  cmd->add_flag("--list", *list, "List every key with type, default, allowed values and meaning");
  add_common_options(cmd, common);
  cmd->callback([&common, list] {
    if (*list) {
      for (const auto& f : Config::describe()) {
        out_stream() << std::left << std::setw(30) << f.path << std::setw(13) << f.type
                     << std::setw(26) << f.default_value.dump() << f.doc;
        if (!f.constraint.empty()) out_stream() << " [" << f.constraint << "]";
        out_stream() << "\n";
      }
      return;
    }
    RunContext ctx = make_context(common);
    out_stream() << ctx.config.to_json().dump(2) << "\n";
  });
}

}  // namespace letter::cli
