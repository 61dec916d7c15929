// Item text assembly and the a.2 cleaning (see item_text.h).
#include "letter/embed/item_text.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "letter/common/error.h"
#include "letter/embed/wordpiece.h"

namespace letter::embed {

namespace {

struct Entity {
  const char* name;
  char32_t cp;
  int legacy;  ///< 1 = also recognised without the ';' (HTML5 legacy entities)
};

// The HTML 4 named entities plus &apos; and the upper-case legacy aliases (Python's
// html.entities.name2codepoint + html5 for those), sorted by name.
const Entity kEntities[] = {
    {"AElig", 0xC6, 1}, {"AMP", 0x26, 1}, {"Aacute", 0xC1, 1}, {"Acirc", 0xC2, 1},
    {"Agrave", 0xC0, 1}, {"Alpha", 0x391, 0}, {"Aring", 0xC5, 1}, {"Atilde", 0xC3, 1},
    {"Auml", 0xC4, 1}, {"Beta", 0x392, 0}, {"COPY", 0xA9, 1}, {"Ccedil", 0xC7, 1},
    {"Chi", 0x3A7, 0}, {"Dagger", 0x2021, 0}, {"Delta", 0x394, 0}, {"ETH", 0xD0, 1},
    {"Eacute", 0xC9, 1}, {"Ecirc", 0xCA, 1}, {"Egrave", 0xC8, 1}, {"Epsilon", 0x395, 0},
    {"Eta", 0x397, 0}, {"Euml", 0xCB, 1}, {"GT", 0x3E, 1}, {"Gamma", 0x393, 0},
    {"Iacute", 0xCD, 1}, {"Icirc", 0xCE, 1}, {"Igrave", 0xCC, 1}, {"Iota", 0x399, 0},
    {"Iuml", 0xCF, 1}, {"Kappa", 0x39A, 0}, {"LT", 0x3C, 1}, {"Lambda", 0x39B, 0},
    {"Mu", 0x39C, 0}, {"Ntilde", 0xD1, 1}, {"Nu", 0x39D, 0}, {"OElig", 0x152, 0},
    {"Oacute", 0xD3, 1}, {"Ocirc", 0xD4, 1}, {"Ograve", 0xD2, 1}, {"Omega", 0x3A9, 0},
    {"Omicron", 0x39F, 0}, {"Oslash", 0xD8, 1}, {"Otilde", 0xD5, 1}, {"Ouml", 0xD6, 1},
    {"Phi", 0x3A6, 0}, {"Pi", 0x3A0, 0}, {"Prime", 0x2033, 0}, {"Psi", 0x3A8, 0},
    {"QUOT", 0x22, 1}, {"REG", 0xAE, 1}, {"Rho", 0x3A1, 0}, {"Scaron", 0x160, 0},
    {"Sigma", 0x3A3, 0}, {"THORN", 0xDE, 1}, {"Tau", 0x3A4, 0}, {"Theta", 0x398, 0},
    {"Uacute", 0xDA, 1}, {"Ucirc", 0xDB, 1}, {"Ugrave", 0xD9, 1}, {"Upsilon", 0x3A5, 0},
    {"Uuml", 0xDC, 1}, {"Xi", 0x39E, 0}, {"Yacute", 0xDD, 1}, {"Yuml", 0x178, 0},
    {"Zeta", 0x396, 0}, {"aacute", 0xE1, 1}, {"acirc", 0xE2, 1}, {"acute", 0xB4, 1},
    {"aelig", 0xE6, 1}, {"agrave", 0xE0, 1}, {"alefsym", 0x2135, 0}, {"alpha", 0x3B1, 0},
    {"amp", 0x26, 1}, {"and", 0x2227, 0}, {"ang", 0x2220, 0}, {"apos", 0x27, 0},
    {"aring", 0xE5, 1}, {"asymp", 0x2248, 0}, {"atilde", 0xE3, 1}, {"auml", 0xE4, 1},
    {"bdquo", 0x201E, 0}, {"beta", 0x3B2, 0}, {"brvbar", 0xA6, 1}, {"bull", 0x2022, 0},
    {"cap", 0x2229, 0}, {"ccedil", 0xE7, 1}, {"cedil", 0xB8, 1}, {"cent", 0xA2, 1},
    {"chi", 0x3C7, 0}, {"circ", 0x2C6, 0}, {"clubs", 0x2663, 0}, {"cong", 0x2245, 0},
    {"copy", 0xA9, 1}, {"crarr", 0x21B5, 0}, {"cup", 0x222A, 0}, {"curren", 0xA4, 1},
    {"dArr", 0x21D3, 0}, {"dagger", 0x2020, 0}, {"darr", 0x2193, 0}, {"deg", 0xB0, 1},
    {"delta", 0x3B4, 0}, {"diams", 0x2666, 0}, {"divide", 0xF7, 1}, {"eacute", 0xE9, 1},
    {"ecirc", 0xEA, 1}, {"egrave", 0xE8, 1}, {"empty", 0x2205, 0}, {"emsp", 0x2003, 0},
    {"ensp", 0x2002, 0}, {"epsilon", 0x3B5, 0}, {"equiv", 0x2261, 0}, {"eta", 0x3B7, 0},
    {"eth", 0xF0, 1}, {"euml", 0xEB, 1}, {"euro", 0x20AC, 0}, {"exist", 0x2203, 0},
    {"fnof", 0x192, 0}, {"forall", 0x2200, 0}, {"frac12", 0xBD, 1}, {"frac14", 0xBC, 1},
    {"frac34", 0xBE, 1}, {"frasl", 0x2044, 0}, {"gamma", 0x3B3, 0}, {"ge", 0x2265, 0},
    {"gt", 0x3E, 1}, {"hArr", 0x21D4, 0}, {"harr", 0x2194, 0}, {"hearts", 0x2665, 0},
    {"hellip", 0x2026, 0}, {"iacute", 0xED, 1}, {"icirc", 0xEE, 1}, {"iexcl", 0xA1, 1},
    {"igrave", 0xEC, 1}, {"image", 0x2111, 0}, {"infin", 0x221E, 0}, {"int", 0x222B, 0},
    {"iota", 0x3B9, 0}, {"iquest", 0xBF, 1}, {"isin", 0x2208, 0}, {"iuml", 0xEF, 1},
    {"kappa", 0x3BA, 0}, {"lArr", 0x21D0, 0}, {"lambda", 0x3BB, 0}, {"lang", 0x2329, 0},
    {"laquo", 0xAB, 1}, {"larr", 0x2190, 0}, {"lceil", 0x2308, 0}, {"ldquo", 0x201C, 0},
    {"le", 0x2264, 0}, {"lfloor", 0x230A, 0}, {"lowast", 0x2217, 0}, {"loz", 0x25CA, 0},
    {"lrm", 0x200E, 0}, {"lsaquo", 0x2039, 0}, {"lsquo", 0x2018, 0}, {"lt", 0x3C, 1},
    {"macr", 0xAF, 1}, {"mdash", 0x2014, 0}, {"micro", 0xB5, 1}, {"middot", 0xB7, 1},
    {"minus", 0x2212, 0}, {"mu", 0x3BC, 0}, {"nabla", 0x2207, 0}, {"nbsp", 0xA0, 1},
    {"ndash", 0x2013, 0}, {"ne", 0x2260, 0}, {"ni", 0x220B, 0}, {"not", 0xAC, 1},
    {"notin", 0x2209, 0}, {"nsub", 0x2284, 0}, {"ntilde", 0xF1, 1}, {"nu", 0x3BD, 0},
    {"oacute", 0xF3, 1}, {"ocirc", 0xF4, 1}, {"oelig", 0x153, 0}, {"ograve", 0xF2, 1},
    {"oline", 0x203E, 0}, {"omega", 0x3C9, 0}, {"omicron", 0x3BF, 0}, {"oplus", 0x2295, 0},
    {"or", 0x2228, 0}, {"ordf", 0xAA, 1}, {"ordm", 0xBA, 1}, {"oslash", 0xF8, 1},
    {"otilde", 0xF5, 1}, {"otimes", 0x2297, 0}, {"ouml", 0xF6, 1}, {"para", 0xB6, 1},
    {"part", 0x2202, 0}, {"permil", 0x2030, 0}, {"perp", 0x22A5, 0}, {"phi", 0x3C6, 0},
    {"pi", 0x3C0, 0}, {"piv", 0x3D6, 0}, {"plusmn", 0xB1, 1}, {"pound", 0xA3, 1},
    {"prime", 0x2032, 0}, {"prod", 0x220F, 0}, {"prop", 0x221D, 0}, {"psi", 0x3C8, 0},
    {"quot", 0x22, 1}, {"rArr", 0x21D2, 0}, {"radic", 0x221A, 0}, {"rang", 0x232A, 0},
    {"raquo", 0xBB, 1}, {"rarr", 0x2192, 0}, {"rceil", 0x2309, 0}, {"rdquo", 0x201D, 0},
    {"real", 0x211C, 0}, {"reg", 0xAE, 1}, {"rfloor", 0x230B, 0}, {"rho", 0x3C1, 0},
    {"rlm", 0x200F, 0}, {"rsaquo", 0x203A, 0}, {"rsquo", 0x2019, 0}, {"sbquo", 0x201A, 0},
    {"scaron", 0x161, 0}, {"sdot", 0x22C5, 0}, {"sect", 0xA7, 1}, {"shy", 0xAD, 1},
    {"sigma", 0x3C3, 0}, {"sigmaf", 0x3C2, 0}, {"sim", 0x223C, 0}, {"spades", 0x2660, 0},
    {"sub", 0x2282, 0}, {"sube", 0x2286, 0}, {"sum", 0x2211, 0}, {"sup", 0x2283, 0},
    {"sup1", 0xB9, 1}, {"sup2", 0xB2, 1}, {"sup3", 0xB3, 1}, {"supe", 0x2287, 0},
    {"szlig", 0xDF, 1}, {"tau", 0x3C4, 0}, {"there4", 0x2234, 0}, {"theta", 0x3B8, 0},
    {"thetasym", 0x3D1, 0}, {"thinsp", 0x2009, 0}, {"thorn", 0xFE, 1}, {"tilde", 0x2DC, 0},
    {"times", 0xD7, 1}, {"trade", 0x2122, 0}, {"uArr", 0x21D1, 0}, {"uacute", 0xFA, 1},
    {"uarr", 0x2191, 0}, {"ucirc", 0xFB, 1}, {"ugrave", 0xF9, 1}, {"uml", 0xA8, 1},
    {"upsih", 0x3D2, 0}, {"upsilon", 0x3C5, 0}, {"uuml", 0xFC, 1}, {"weierp", 0x2118, 0},
    {"xi", 0x3BE, 0}, {"yacute", 0xFD, 1}, {"yen", 0xA5, 1}, {"yuml", 0xFF, 1},
    {"zeta", 0x3B6, 0}, {"zwj", 0x200D, 0}, {"zwnj", 0x200C, 0},
};

const std::unordered_map<std::string, const Entity*>& entity_map() {
  static const std::unordered_map<std::string, const Entity*> m = [] {
    std::unordered_map<std::string, const Entity*> out;
    for (const auto& e : kEntities) out[e.name] = &e;
    return out;
  }();
  return m;
}

// HTML5 "numeric character reference end state": 0x80-0x9F are read as Windows-1252.
char32_t numeric_ref(uint64_t v) {
  static const char32_t kCp1252[32] = {
      0x20AC, 0x81,   0x201A, 0x192,  0x201E, 0x2026, 0x2020, 0x2021, 0x2C6,  0x2030, 0x160,
      0x2039, 0x152,  0x8D,   0x17D,  0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x2DC,  0x2122, 0x161,  0x203A, 0x153,  0x9D,   0x17E,  0x178};
  if (v >= 0x80 && v <= 0x9F) return kCp1252[v - 0x80];
  if (v == 0 || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) return 0xFFFD;
  return static_cast<char32_t>(v);
}

bool is_word_byte(unsigned char c) {
  return std::isalnum(c) || c == '_' || c >= 0x80;  // non-ASCII: part of a Unicode \w (approx.)
}

std::string strip_ws(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

// Deletes tags matching </?\w+[^>]*>.
std::string strip_tags(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '<') {
      size_t j = i + 1;
      if (j < s.size() && s[j] == '/') ++j;
      size_t w = j;
      while (w < s.size() && is_word_byte(static_cast<unsigned char>(s[w]))) ++w;
      if (w > j) {
        size_t close = s.find('>', w);
        if (close != std::string::npos) {
          i = close + 1;
          continue;
        }
      }
    }
    out += s[i++];
  }
  return out;
}

int64_t count_chars(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string html_unescape(const std::string& s) {
  if (s.find('&') == std::string::npos) return s;
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '&') {
      out += s[i++];
      continue;
    }
    size_t j = i + 1;
    if (j < s.size() && s[j] == '#') {  // &#123; &#x7B; (';' optional)
      ++j;
      bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
      if (hex) ++j;
      size_t k = j;
      uint64_t v = 0;
      while (k < s.size() && (hex ? std::isxdigit(static_cast<unsigned char>(s[k]))
                                  : std::isdigit(static_cast<unsigned char>(s[k])))) {
        char c = s[k];
        int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
        v = std::min<uint64_t>(v * (hex ? 16 : 10) + d, 0x7FFFFFFF);
        ++k;
      }
      if (k == j) {  // "&#" without digits stays as is
        out += s[i++];
        continue;
      }
      detail::append_utf8(out, numeric_ref(v));
      i = (k < s.size() && s[k] == ';') ? k + 1 : k;
      continue;
    }
    // Named: up to 32 characters that are not white space, '<', '&', '#' or ';'.
    size_t k = j;
    while (k < s.size() && k - j < 32 && !std::strchr("\t\n\f <&#;", s[k])) ++k;
    std::string name = s.substr(j, k - j);
    const auto& m = entity_map();
    if (k < s.size() && s[k] == ';') {
      auto it = m.find(name);
      if (it != m.end()) {
        detail::append_utf8(out, it->second->cp);
        i = k + 1;
        continue;
      }
    }
    // Longest legacy entity that prefixes the name (&amp without ';', as html.unescape).
    bool done = false;
    for (size_t len = name.size(); len >= 2 && !done; --len) {
      auto it = m.find(name.substr(0, len));
      if (it != m.end() && it->second->legacy) {
        detail::append_utf8(out, it->second->cp);
        i = j + len;
        done = true;
      }
    }
    if (!done) out += s[i++];
  }
  return out;
}

std::string clean_field(const std::string& raw) {
  std::string t = html_unescape(strip_ws(raw));
  t = strip_tags(t);
  t.erase(std::remove_if(t.begin(), t.end(), [](char c) { return c == '"' || c == '\n' || c == '\r'; }),
          t.end());
  t = strip_ws(t);
  size_t end = t.size();
  while (end > 0 && t[end - 1] == '.') --end;
  t.resize(end);
  if (strip_ws(t).empty()) return "";  // departure from a.2: no lone "."
  t += '.';
  if (count_chars(t) >= 2000) return "";
  return t;
}

void ItemTexts::flatten(std::vector<std::string>& texts, std::vector<int64_t>& owner) const {
  texts.clear();
  owner.clear();
  for (size_t i = 0; i < parts.size(); ++i)
    for (const auto& t : parts[i]) {
      texts.push_back(t);
      owner.push_back(static_cast<int64_t>(i));
    }
}

namespace {

// A parsed template: literal pieces and field names, alternating.
struct Template {
  std::vector<std::string> literals;  ///< size = fields.size() + 1
  std::vector<std::string> fields;
};

Template parse_template(const std::string& t) {
  Template out;
  std::string cur;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '{' && i + 1 < t.size() && t[i + 1] == '{') {
      cur += '{';
      ++i;
    } else if (c == '}' && i + 1 < t.size() && t[i + 1] == '}') {
      cur += '}';
      ++i;
    } else if (c == '{') {
      size_t close = t.find('}', i);
      LETTER_USAGE_CHECK(close != std::string::npos, "embed.text_template '", t,
                         "': '{' at position ", i, " is not closed (write {{ for a literal brace)");
      std::string name = t.substr(i + 1, close - i - 1);
      LETTER_USAGE_CHECK(!name.empty() && name.find('{') == std::string::npos,
                         "embed.text_template '", t, "': bad placeholder at position ", i);
      out.literals.push_back(cur);
      out.fields.push_back(name);
      cur.clear();
      i = close;
    } else if (c == '}') {
      LETTER_USAGE_CHECK(false, "embed.text_template '", t, "': unmatched '}' at position ", i,
                         " (write }} for a literal brace)");
    } else {
      cur += c;
    }
  }
  out.literals.push_back(cur);
  LETTER_USAGE_CHECK(!out.fields.empty(), "embed.text_template '", t,
                     "' has no {field} placeholder");
  return out;
}

std::string collapse_ws(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

ItemTexts build_item_texts(const std::vector<ItemText>& items, int64_t num_items,
                           const ItemTextOptions& opt) {
  LETTER_USAGE_CHECK(opt.text_template.empty() || opt.combine == Combine::kConcat,
                     "embed.text_template needs embed.combine=concat (mean embeds each field "
                     "on its own)");
  std::optional<Template> tmpl;
  if (!opt.text_template.empty()) tmpl = parse_template(opt.text_template);
  else LETTER_USAGE_CHECK(!opt.fields.empty(), "embed.fields is empty: no text to embed");

  ItemTexts out;
  out.parts.resize(num_items);
  std::vector<std::string> names = tmpl ? tmpl->fields : opt.fields;
  for (int64_t i = 0; i < num_items; ++i) {
    std::map<std::string, std::string> cleaned;
    const int64_t emptied_before = out.emptied_long;
    if (i < static_cast<int64_t>(items.size())) {
      for (const auto& f : names) {
        if (cleaned.count(f)) continue;
        auto it = items[i].find(f);
        if (it == items[i].end()) continue;
        std::string c = clean_field(it->second);
        if (c.empty()) {
          if (count_chars(it->second) >= 2000) ++out.emptied_long;
          continue;
        }
        ++out.field_counts[f];
        cleaned[f] = std::move(c);
      }
    }
    if (cleaned.empty()) {
      if (out.emptied_long > emptied_before) ++out.missing_long;
      continue;
    }
    auto& parts = out.parts[i];
    if (tmpl) {
      std::string t = tmpl->literals[0];
      for (size_t k = 0; k < tmpl->fields.size(); ++k) {
        auto it = cleaned.find(tmpl->fields[k]);
        if (it != cleaned.end()) t += it->second;
        t += tmpl->literals[k + 1];
      }
      parts.push_back(collapse_ws(t));
    } else if (opt.combine == Combine::kConcat) {
      std::string t;
      for (const auto& f : opt.fields) {
        auto it = cleaned.find(f);
        if (it == cleaned.end()) continue;
        if (!t.empty()) t += ' ';
        t += it->second;
      }
      parts.push_back(collapse_ws(t));
    } else {
      for (const auto& f : opt.fields) {
        auto it = cleaned.find(f);
        if (it != cleaned.end()) parts.push_back(it->second);
      }
    }
  }
  for (int64_t i = 0; i < num_items; ++i)
    if (out.parts[i].empty()) out.missing.push_back(i);
  return out;
}

}  // namespace letter::embed
