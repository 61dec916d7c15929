#include "letter/common/json.h"

namespace letter {

void check_json_depth(std::string_view text, const std::string& where, bool usage) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        const std::string msg = detail::concat(where, ": JSON nested deeper than ", kMaxJsonDepth,
                                               " levels (at byte ", i, ")");
        if (usage) throw UsageError(msg);
        throw Error(msg);
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

namespace {
// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when invalid; `*bad` is
// then the length of the maximal invalid subpart to replace (at least 1).
size_t utf8_sequence(const std::string& s, size_t i, size_t* bad) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlongs
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // <= U+10FFFF
  } else {
    *bad = 1;
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    const size_t j = i + k;
    const bool ok = j < s.size() && (k == 1 ? b(j) >= lo && b(j) <= hi : (b(j) & 0xC0) == 0x80);
    if (!ok) {
      *bad = k;
      return 0;
    }
  }
  return len;
}

template <class Json>
std::string excerpt(const Json& j, size_t max_chars) {
  std::string s = dump_json(j);
  if (s.size() > max_chars) s = s.substr(0, max_chars > 3 ? max_chars - 3 : 0) + "...";
  return s;
}
}  // namespace

int64_t replace_invalid_utf8(std::string& text) {
  size_t i = 0, bad = 0;
  for (; i < text.size(); ++i) {  // fast path: nothing to replace
    if (static_cast<unsigned char>(text[i]) < 0x80) continue;
    const size_t n = utf8_sequence(text, i, &bad);
    if (n == 0) break;
    i += n - 1;
  }
  if (i >= text.size()) return 0;
  std::string out(text, 0, i);
  int64_t replaced = 0;
  while (i < text.size()) {
    const size_t n = utf8_sequence(text, i, &bad);
    if (n > 0) {
      out.append(text, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++replaced;
      i += bad;
    }
  }
  text = std::move(out);
  return replaced;
}

std::string json_excerpt(const nlohmann::json& j, size_t max_chars) { return excerpt(j, max_chars); }
std::string json_excerpt(const nlohmann::ordered_json& j, size_t max_chars) {
  return excerpt(j, max_chars);
}

namespace detail {
void throw_json_error(const std::string& where, const char* what, bool usage) {
  std::string msg = concat(where, ": malformed JSON: ", what);
  if (msg.size() > 300) msg = msg.substr(0, 297) + "...";
  if (usage) throw UsageError(msg);
  throw Error(msg);
}
}  // namespace detail

}  // namespace letter
