// File helpers: whole-file reads with clear errors, and atomic artifact writes (write to a
// temporary name in the same folder, rename when complete) so a failure never leaves a
// half-written artifact behind (design.md, "Errors").
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace letter {

/// Reads a whole file. `what` names the file's role in the error ("config", "item text").
std::string read_text_file(const std::string& path, const std::string& what = "file");

/// Creates `dir` and its parents if needed; throws naming the folder on failure.
void ensure_dir(const std::string& dir);

/// True when `path` exists.
bool path_exists(const std::string& path);

/// Writes `path` atomically: `write` receives a stream opened on `path + ".tmp-<pid>"`;
/// the file is renamed onto `path` only when `write` returns and the stream is good.
/// On any failure the temporary file is removed and the error rethrown.
void write_atomic(const std::string& path, const std::function<void(std::ofstream&)>& write,
                  bool binary = true);

/// Writes text atomically.
void write_text_atomic(const std::string& path, const std::string& text);

/// Writes JSON (indent 2, trailing newline) atomically.
void write_json_atomic(const std::string& path, const nlohmann::json& j, int indent = 2);

/// Parses a JSON file; errors name the file and the parse position.
nlohmann::json read_json_file(const std::string& path, const std::string& what = "file");

/// `dir` + "/" + `name`, or `name` when `dir` is empty.
std::string join(const std::string& dir, const std::string& name);

/// Opens `path` for binary reading and stores its size in `size`. Errors name the file
/// (missing, not a regular file, unreadable).
std::ifstream open_binary_input(const std::string& path, int64_t* size);

/// Reads exactly `n` bytes at `offset` of `in` (the caller has checked that they lie inside
/// the file); `what` names the part in the error ("the header").
void read_exact(std::ifstream& in, int64_t offset, char* dst, int64_t n, const std::string& path,
                const std::string& what);

}  // namespace letter
