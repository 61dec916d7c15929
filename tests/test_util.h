// Test helpers: a self-deleting temporary folder, paths of the bundled data, the message of
// a thrown letter::Error, and the CLI run in-process.
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <torch/torch.h>

#include "cli/app.h"
#include "letter/common/error.h"
#include "letter/rec/options.h"

namespace letter::test {

/// A fresh folder under the system temp dir, removed with its contents on destruction.
struct TempDir {
  std::filesystem::path root;
  TempDir() {
    static std::atomic<int> counter{0};
    root = std::filesystem::temp_directory_path() /
           ("letter_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(root);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  std::string path(const std::string& name) const { return (root / name).string(); }
  /// Writes `content` to `name` and returns its path.
  std::string file(const std::string& name, const std::string& content) const {
    auto p = root / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
};

/// The bundled tiny dataset folder.
inline std::string tiny_dir() { return std::string(LETTER_SOURCE_DIR) + "/data/tiny"; }

/// The real datasets beside the checkout (may be absent: tests then skip).
inline std::string shared_data(const std::string& rel) {
  return std::string(LETTER_SOURCE_DIR) + "/../shared/data/" + rel;
}

/// The message of the letter::Error that f() throws; "" when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

/// Recommender options of a one-layer model with d_model 16 (2 heads x 8, d_ff 32).
inline RecommenderOptions tiny_recommender_options() {
  RecommenderOptions ro;
  ro.encoder_layers = ro.decoder_layers = 1;
  ro.d_model = 16;
  ro.heads = 2;
  ro.d_kv = 8;
  ro.d_ff = 32;
  return ro;
}

/// Exit code and output of one `letter ...` run in-process.
struct CliResult {
  int code;
  std::string out, err;
};

/// Runs the CLI on `args` (without the program name). The CLI sets the process-wide thread
/// count from --threads; the caller's count is restored afterwards.
inline CliResult run_cli(std::vector<std::string> args) {
  const int threads = torch::get_num_threads();
  args.insert(args.begin(), "letter");
  std::ostringstream out, err;
  const int code = cli::run(args, out, err);
  torch::set_num_threads(threads);
  return {code, out.str(), err.str()};
}

}  // namespace letter::test
