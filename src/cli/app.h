// The command-line front end: shared options (defined once, added to every subcommand),
// the run context every subcommand starts from, and the subcommand registry.
#pragma once

#include <functional>
#include <memory>
#include <iosfwd>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "config.h"
#include "letter/common/runtime.h"

namespace letter::cli {

/// Options every subcommand accepts. Flags given explicitly override the config file.
struct CommonOptions {
  std::string config;             ///< --config FILE
  std::vector<std::string> sets;  ///< --set key.path=value (repeatable)
  std::string out;                ///< --out RUN_DIR
  std::string device;             ///< --device (empty = config's)
  int64_t threads = -1;           ///< --threads (-1 = config's)
  int64_t seed = -1;              ///< --seed (-1 = config's)
  bool quiet = false;             ///< --quiet
  bool verbose = false;           ///< --verbose
  bool resume = false;            ///< --resume
};

/// What a subcommand works with after the shared options are applied.
struct RunContext {
  Config config;                       ///< resolved and validated
  torch::Device device{torch::kCPU};   ///< resolved device
  int64_t threads = 1;                 ///< threads in effect
  std::string out;                     ///< run directory ("" when not given)
  bool resume = false;
  bool quiet = false;
};

/// Shortcut flags of a subcommand, declared once each: a flag (or positional argument) sets
/// one config key exactly as `--set key=value` would, so the resolved config records it and
/// the config's own checks (choices, ranges, "did you mean") apply.
class Shortcuts {
 public:
  /// Adds `flag` ("--method", or a positional name without dashes) for `key`
  /// ("tokenizer.method"); `type` names the value in --help.
  void add(CLI::App* sub, const std::string& flag, const std::string& key, const std::string& help,
           const std::string& type = "VALUE");
  /// "key=value" for every shortcut given on the command line, in declaration order.
  std::vector<std::string> sets() const;

 private:
  std::vector<std::pair<std::string, std::shared_ptr<std::string>>> values_;
};

/// The library's view of a run: device, seed, run directory, resume flag, resolved config.
RunEnv run_env(const RunContext& ctx);

/// Loads the config (file or defaults), applies `extra_sets` (subcommand shortcuts such as a
/// positional dataset path or --method), the user's --set and the explicit flags; with
/// `presets`, resolves tokenizer.preset and recommender.preset (a preset replaces the config
/// file's values but not the keys given by --set); validates; sets up logging, threads,
/// seed and device. When `out` is set and `write_config`, creates it and writes the resolved
/// config there as config.json. Precedence: defaults < config file < preset < shortcuts <
/// --set < --seed/--device/--threads.
RunContext make_context(const CommonOptions& common, const std::vector<std::string>& extra_sets = {},
                        bool write_config = true, bool presets = true);

/// Adds the shared options to a subcommand.
void add_common_options(CLI::App* sub, CommonOptions& common);

/// Registers a subcommand: its `setup` adds options and sets the callback.
using Register = std::function<void(CLI::App& app, CommonOptions& common)>;

void register_data(CLI::App& app, CommonOptions& common);
void register_config(CLI::App& app, CommonOptions& common);
void register_embed(CLI::App& app, CommonOptions& common);
void register_train_cf(CLI::App& app, CommonOptions& common);
void register_train_recommender(CLI::App& app, CommonOptions& common);
void register_evaluate(CLI::App& app, CommonOptions& common);
void register_recommend(CLI::App& app, CommonOptions& common);
void register_train_tokenizer(CLI::App& app, CommonOptions& common);
/// `data import-codes` (a subcommand of `data`, registered by register_data).
void register_import_codes(CLI::App* data, CommonOptions& common);

/// Builds the whole command line: description, version flag and every subcommand.
void build_app(CLI::App& app, CommonOptions& common);

/// Runs the CLI on `args` (args[0] = program name). Output goes to `out`, errors to `err`.
/// Returns the exit code: 0 ok, 1 runtime error, 2 usage error.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

/// The stream subcommands print results to (set by run()).
std::ostream& out_stream();

}  // namespace letter::cli
