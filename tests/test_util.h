// Test helpers: a self-deleting temporary folder, and paths of the bundled data.
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

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

}  // namespace letter::test
