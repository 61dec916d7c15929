#include "letter/common/fs.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>

#include "letter/common/error.h"
#include "letter/common/json.h"

namespace fs = std::filesystem;

namespace letter {

std::string read_text_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  LETTER_CHECK(fs::exists(path, ec), what, " file not found: ", path);
  LETTER_CHECK(!fs::is_directory(path, ec), what, " path is a folder, expected a file: ", path);
  std::ifstream in(path, std::ios::binary);
  LETTER_CHECK(in.good(), "cannot open ", what, " file ", path, ": ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  LETTER_CHECK(!in.bad(), "error reading ", what, " file ", path);
  return ss.str();
}

void ensure_dir(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  LETTER_CHECK(!ec && fs::is_directory(dir), "cannot create folder ", dir, ": ", ec.message());
}

bool path_exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

void write_atomic(const std::string& path, const std::function<void(std::ofstream&)>& write,
                  bool binary) {
  fs::path target(path);
  if (target.has_parent_path()) ensure_dir(target.parent_path().string());
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  try {
    {
      std::ofstream out(tmp, binary ? std::ios::binary | std::ios::trunc : std::ios::trunc);
      LETTER_CHECK(out.good(), "cannot write ", tmp, ": ", std::strerror(errno));
      write(out);
      out.flush();
      LETTER_CHECK(out.good(), "error writing ", tmp, " (disk full?)");
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    LETTER_CHECK(!ec, "cannot rename ", tmp, " to ", path, ": ", ec.message());
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

void write_text_atomic(const std::string& path, const std::string& text) {
  write_atomic(path, [&](std::ofstream& out) { out << text; }, false);
}

void write_json_atomic(const std::string& path, const nlohmann::json& j, int indent) {
  // dump_json: a string that is not UTF-8 (a file name from a flag) is written with U+FFFD
  // instead of failing a finished stage at its last write.
  write_text_atomic(path, dump_json(j, indent) + "\n");
}

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  return parse_json(read_text_file(path, what), detail::concat(path, " (", what, ")"));
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return (fs::path(dir) / name).string();
}

std::ifstream open_binary_input(const std::string& path, int64_t* size) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  LETTER_CHECK(fs::exists(st), path, ": file not found",
               ec ? " (" + ec.message() + ")" : std::string());
  LETTER_CHECK(fs::is_regular_file(st), path, ": not a regular file");
  const std::uintmax_t n = fs::file_size(path, ec);
  LETTER_CHECK(!ec, path, ": cannot get the file size: ", ec.message());
  LETTER_CHECK(n <= static_cast<std::uintmax_t>(std::numeric_limits<int64_t>::max()), path,
               ": file too large");
  std::ifstream in(path, std::ios::binary);
  LETTER_CHECK(in.is_open(), path, ": cannot open: ", std::strerror(errno));
  *size = static_cast<int64_t>(n);
  return in;
}

void read_exact(std::ifstream& in, int64_t offset, char* dst, int64_t n, const std::string& path,
                const std::string& what) {
  if (n == 0) return;
  in.clear();
  in.seekg(offset);
  in.read(dst, n);
  LETTER_CHECK(in.gcount() == n, path, ": read error in ", what, ": expected ", n,
               " bytes at offset ", offset, ", got ", in.gcount(),
               " (was the file modified while reading?)");
}

}  // namespace letter
