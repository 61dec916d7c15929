// Shared pieces of the libFuzzer targets (one binary per parser of untrusted input, built by
// `-DLETTER_FUZZ=ON`, run by scripts/fuzz.sh). The parsers read paths, so each input is
// written to a file in a per-process scratch folder first. The rule every target checks: a
// parser either succeeds or throws letter::Error (one clear "error:" line in the CLI). Any
// other exception escapes and libFuzzer reports it as a crash, as it does signals,
// sanitizer findings and allocations above -malloc_limit_mb.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "letter/common/error.h"
#include "letter/data/dataset.h"
#include "test_util.h"

namespace letter::fuzz {

/// The scratch folder of this process (created on first use, under /dev/shm when present).
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base = std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                      : std::filesystem::temp_directory_path();
    auto d = base / ("letter_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

/// Writes `bytes` to `name` in the scratch folder; returns the path.
inline std::string write_file(const std::string& name, std::string_view bytes) {
  auto p = scratch() / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p.string();
}

/// The input as text.
inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Splits the input at each occurrence of `sep` into at most `parts` pieces (the last piece
/// keeps the rest); missing pieces are empty. Lets one input carry several files.
inline std::vector<std::string_view> split(std::string_view in, size_t parts, std::string_view sep = "\n#####\n") {
  std::vector<std::string_view> out;
  while (out.size() + 1 < parts) {
    auto at = in.find(sep);
    if (at == std::string_view::npos) break;
    out.push_back(in.substr(0, at));
    in.remove_prefix(at + sep.size());
  }
  out.push_back(in);
  out.resize(parts);
  return out;
}

/// Runs f(); letter::Error (the parsers' documented failure) is swallowed, anything else
/// escapes.
template <class F>
void run(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

/// The log is silenced before the fuzzer starts (warnings about bad rows would flood its
/// output).
inline const bool kQuietLog = [] {
  spdlog::set_level(spdlog::level::off);
  return true;
}();

/// The bundled data/tiny dataset, loaded once.
inline const Dataset& tiny() {
  static const Dataset ds = [] {
    DataOptions opt;
    opt.path = test::tiny_dir();
    return load_dataset(opt);
  }();
  return ds;
}

/// Writes `main_file` (and `side_file` when not empty) into a fresh scratch folder `dir`
/// and loads it as a dataset of `format` without the k-core filter.
inline void load_folder(const std::string& dir, DataFormat format, const std::string& main_name,
                        std::string_view main_file, const std::string& side_name, std::string_view side_file) {
  std::filesystem::remove_all(scratch() / dir);
  write_file(dir + "/" + main_name, main_file);
  if (!side_file.empty()) write_file(dir + "/" + side_name, side_file);
  DataOptions opt;
  opt.path = (scratch() / dir).string();
  opt.format = format;
  opt.kcore = 0;
  run([&] { load_dataset(opt); });
}

}  // namespace letter::fuzz
