// Parsing untrusted JSON text: a nesting-depth limit checked before nlohmann parses (its
// serializer and our visitors recurse, so a file of 66,000 brackets would overflow the
// stack), every nlohmann exception turned into one error naming the source, and short
// excerpts of values for error messages (never a whole 300 KB value in one line).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "letter/common/error.h"

namespace letter {

/// Deepest nesting of arrays and objects accepted in any JSON input (configs, LETTER files,
/// safetensors headers, requests, checkpoint headers nest at most 4 levels).
inline constexpr int kMaxJsonDepth = 64;

/// Throws Error (`usage`: UsageError) "<where>: JSON nested deeper than kMaxJsonDepth levels
/// (at byte N)" when `text` nests deeper; strings and escapes are skipped correctly.
void check_json_depth(std::string_view text, const std::string& where, bool usage = false);

/// Replaces every byte sequence of `text` that is not well-formed UTF-8 (stray continuation
/// bytes, truncated sequences, overlong forms, surrogates, code points above U+10FFFF) by
/// U+FFFD, one per maximal invalid subpart as the Unicode standard recommends; returns how
/// many were replaced. nlohmann refuses such strings, so item text is repaired before parsing.
int64_t replace_invalid_utf8(std::string& text);

/// `j.dump(indent)` that never throws on bytes: a string that is not UTF-8 (a raw id or file
/// name from the user) is written with U+FFFD. Every JSON text letter writes goes through it.
template <class Json>
std::string dump_json(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

/// `j.dump()` cut to at most `max_chars` characters ("..." marks the cut).
std::string json_excerpt(const nlohmann::json& j, size_t max_chars = 60);
std::string json_excerpt(const nlohmann::ordered_json& j, size_t max_chars = 60);

namespace detail {
[[noreturn]] void throw_json_error(const std::string& where, const char* what, bool usage);
}

/// Parses `text` (checked with check_json_depth first); any nlohmann error (syntax, a number
/// out of range such as 1e999) becomes Error (`usage`: UsageError) "<where>: malformed JSON:
/// ...". `callback` as nlohmann's parser callback.
template <class Json = nlohmann::json>
Json parse_json(const std::string& text, const std::string& where, bool usage = false,
                typename Json::parser_callback_t callback = nullptr) {
  check_json_depth(text, where, usage);
  try {
    return Json::parse(text, callback);
  } catch (const nlohmann::json::exception& e) {
    detail::throw_json_error(where, e.what(), usage);
  }
}

}  // namespace letter
