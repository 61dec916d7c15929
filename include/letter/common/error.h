// Errors: the library throws letter::Error (runtime) or letter::UsageError (bad flags or
// config); main() catches once and prints one "error: ..." line. See style.md, practice 6.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace letter {

/// A runtime failure caused by input or environment (missing file, bad data). Exit code 1.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// A usage failure: bad command-line flags or configuration values. Exit code 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(what) {}
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace letter

/// Throws letter::Error with the concatenated message parts when `cond` is false.
/// Example: LETTER_CHECK(n > 0, "empty catalog in ", path);
#define LETTER_CHECK(cond, ...)                                        \
  do {                                                                 \
    if (!(cond)) throw ::letter::Error(::letter::detail::concat(__VA_ARGS__)); \
  } while (0)

/// Like LETTER_CHECK but throws letter::UsageError (exit code 2).
#define LETTER_USAGE_CHECK(cond, ...)                                       \
  do {                                                                      \
    if (!(cond)) throw ::letter::UsageError(::letter::detail::concat(__VA_ARGS__)); \
  } while (0)

/// Unconditional throw of letter::Error.
#define LETTER_FAIL(...) throw ::letter::Error(::letter::detail::concat(__VA_ARGS__))
