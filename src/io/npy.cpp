// .npy reader and writer. The format follows numpy/lib/format.py: a magic string, a
// version, a little-endian header length, a Python dict literal describing the array, and
// the raw C-order data. The header is parsed by a small hand-written parser that accepts
// exactly the literals numpy writes (strings, True/False, tuples of non-negative ints) and
// throws on anything else; every length is checked against the file size before reading.
#include "letter/io/npy.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "letter/common/error.h"
#include "letter/common/fs.h"

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "letter's .npy reader and writer assume a little-endian host");
#endif

namespace fs = std::filesystem;

namespace letter::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
/// numpy pads the header so the data starts on a multiple of this (format.ARRAY_ALIGN).
constexpr size_t kArrayAlign = 64;
/// numpy's own limit on dimensions (NPY_MAXDIMS in numpy 2; 32 before).
constexpr size_t kMaxDims = 64;
/// How much of a malformed header to quote in an error message.
constexpr size_t kQuoteLen = 200;

/// One supported element type: the descr code without its byte-order character.
struct NpyType {
  const char* code;
  torch::ScalarType type;
  int64_t itemsize;
};

constexpr NpyType kNpyTypes[] = {
    {"f4", torch::kFloat32, 4}, {"f2", torch::kFloat16, 2}, {"f8", torch::kFloat64, 8},
    {"i8", torch::kInt64, 8},   {"i4", torch::kInt32, 4},   {"i2", torch::kInt16, 2},
    {"b1", torch::kBool, 1},    {"u1", torch::kUInt8, 1},   {"i1", torch::kInt8, 1},
};

constexpr const char* kSupportedDescrs = "<f4, <f2, <f8, <i8, <i4, <i2, |b1, |u1, |i1";

/// Printable form of raw bytes for error messages: ASCII as is, the rest as \xNN.
std::string escape_bytes(const std::string& bytes, size_t max_len = kQuoteLen) {
  std::string out;
  const size_t n = std::min(bytes.size(), max_len);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (bytes.size() > max_len) out += "...";
  return out;
}

/// "()", "(5,)", "(3, 4)": Python's repr of a shape tuple, as numpy writes it.
std::string shape_repr(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

uint64_t load_le(const std::string& bytes, size_t pos, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[pos + i])) << (8 * i);
  }
  return v;
}

/// Recursive-descent parser for the header dict. Grammar (Python literal subset):
///   dict  := '{' [ key ':' value { ',' key ':' value } [','] ] '}'
///   value := string | 'True' | 'False' | tuple-of-ints
/// with optional whitespace between tokens and only whitespace after the closing brace.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  /// Fills descr, fortran_order and shape of `h`.
  void parse(NpyHeader* h) {
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    skip_ws();
    expect('{', "'{' opening the header dict");
    skip_ws();
    while (!peek_is('}')) {
      const std::string key = parse_string("a dict key");
      skip_ws();
      expect(':', "':' after a dict key");
      skip_ws();
      if (key == "descr") {
        check_unique(&seen_descr, key);
        if (peek_is('[')) fail("structured dtypes (descr is a list) are not supported");
        h->descr = parse_string("the descr string");
      } else if (key == "fortran_order") {
        check_unique(&seen_fortran, key);
        h->fortran_order = parse_bool();
      } else if (key == "shape") {
        check_unique(&seen_shape, key);
        h->shape = parse_shape();
      } else {
        fail("unexpected key '" + escape_bytes(key) +
             "' (a .npy header has exactly descr, fortran_order, shape)");
      }
      skip_ws();
      if (peek_is(',')) {
        ++pos_;
        skip_ws();
      } else if (!peek_is('}')) {
        fail("expected ',' or '}' after a dict value");
      }
    }
    ++pos_;  // '}'
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text after the header dict");
    if (!seen_descr) fail("missing key 'descr'");
    if (!seen_fortran) fail("missing key 'fortran_order'");
    if (!seen_shape) fail("missing key 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    LETTER_FAIL(path_, ": malformed .npy header at byte ", pos_, ": ", msg, " (header: \"",
                escape_bytes(s_), "\")");
  }

  bool at_end() const { return pos_ >= s_.size(); }
  bool peek_is(char c) const { return !at_end() && s_[pos_] == c; }

  void skip_ws() {
    while (!at_end() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  void expect(char c, const char* what) {
    if (!peek_is(c)) fail(std::string("expected ") + what);
    ++pos_;
  }

  void check_unique(bool* seen, const std::string& key) const {
    if (*seen) fail("duplicate key '" + key + "'");
    *seen = true;
  }

  /// A quoted string without escapes ('...' or "...", optional Python 2 'u' prefix).
  std::string parse_string(const char* what) {
    if (peek_is('u') && pos_ + 1 < s_.size() && (s_[pos_ + 1] == '\'' || s_[pos_ + 1] == '"')) {
      ++pos_;
    }
    if (!peek_is('\'') && !peek_is('"')) fail(std::string("expected a quoted string for ") + what);
    const char quote = s_[pos_++];
    const size_t begin = pos_;
    while (!at_end() && s_[pos_] != quote) {
      if (s_[pos_] == '\\') fail("escape sequences in strings are not supported");
      ++pos_;
    }
    if (at_end()) fail(std::string("unterminated string for ") + what);
    std::string out = s_.substr(begin, pos_ - begin);
    ++pos_;  // closing quote
    return out;
  }

  bool parse_bool() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("fortran_order must be True or False");
  }

  /// A non-negative decimal int; Python 2 numpy wrote longs with an 'L' suffix ("3L").
  int64_t parse_dim() {
    if (peek_is('-')) fail("negative dimension in shape");
    if (at_end() || s_[pos_] < '0' || s_[pos_] > '9') fail("expected an integer in shape");
    int64_t v = 0;
    while (!at_end() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      const int digit = s_[pos_] - '0';
      if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) {
        fail("dimension does not fit in int64");
      }
      v = v * 10 + digit;
      ++pos_;
    }
    if (peek_is('L') || peek_is('l')) ++pos_;
    return v;
  }

  /// "()", "(5,)", "(3, 4)" or "(3, 4,)". "(5)" is an int in Python, not a tuple: rejected.
  std::vector<int64_t> parse_shape() {
    if (!peek_is('(')) fail("shape must be a tuple such as (3, 4)");
    ++pos_;
    skip_ws();
    std::vector<int64_t> shape;
    bool trailing_comma = false;
    while (!peek_is(')')) {
      if (shape.size() == kMaxDims) fail("more than 64 dimensions");
      shape.push_back(parse_dim());
      skip_ws();
      trailing_comma = false;
      if (peek_is(',')) {
        ++pos_;
        trailing_comma = true;
        skip_ws();
      } else if (!peek_is(')')) {
        fail("expected ',' or ')' in shape");
      }
    }
    ++pos_;  // ')'
    if (shape.size() == 1 && !trailing_comma) {
      fail("shape (n) is not a tuple; a 1-D shape is written (n,)");
    }
    return shape;
  }

  const std::string& s_;
  const std::string& path_;
  size_t pos_ = 0;
};

/// Reads and parses the preamble and header of an open file of `size` bytes.
NpyHeader parse_npy_header(std::ifstream& in, int64_t size, const std::string& path) {
  std::string pre(static_cast<size_t>(std::min<int64_t>(size, 12)), '\0');
  read_exact(in, 0, pre.data(), static_cast<int64_t>(pre.size()), path, "the preamble");
  const size_t magic_have = std::min(pre.size(), kMagicLen);
  LETTER_CHECK(pre.compare(0, magic_have, kMagic, magic_have) == 0, path,
               ": not a .npy file (bad magic: expected \"\\x93NUMPY\", found \"",
               escape_bytes(pre.substr(0, magic_have)), "\")");
  LETTER_CHECK(size >= 10, path, ": truncated .npy file: ", size,
               " bytes, the preamble alone needs 10");
  const int major = static_cast<unsigned char>(pre[6]);
  const int minor = static_cast<unsigned char>(pre[7]);
  LETTER_CHECK((major == 1 || major == 2 || major == 3) && minor == 0, path,
               ": unsupported .npy format version ", major, ".", minor,
               " (supported: 1.0, 2.0, 3.0)");
  const size_t len_width = major == 1 ? 2 : 4;
  const int64_t prefix = static_cast<int64_t>(kMagicLen + 2 + len_width);
  LETTER_CHECK(size >= prefix, path, ": truncated .npy file: ", size, " bytes, the version ", major,
               ".0 preamble needs ", prefix);
  const auto header_len = static_cast<int64_t>(load_le(pre, kMagicLen + 2, len_width));
  LETTER_CHECK(header_len <= size - prefix, path, ": truncated .npy header: header length is ",
               header_len, " bytes but only ", size - prefix, " bytes follow the preamble");
  std::string text(static_cast<size_t>(header_len), '\0');
  read_exact(in, prefix, text.data(), header_len, path, "the header");

  NpyHeader h;
  HeaderParser(text, path).parse(&h);
  h.data_offset = prefix + header_len;
  return h;
}

/// The element type for `descr`; throws naming the file for unsupported or big-endian ones.
const NpyType& lookup_descr(const std::string& descr, const std::string& path) {
  const char order = descr.empty() ? '\0' : descr[0];
  const bool has_order = order == '<' || order == '>' || order == '|' || order == '=';
  if (has_order) {
    const std::string code = descr.substr(1);
    for (const NpyType& t : kNpyTypes) {
      if (code != t.code) continue;
      // One-byte types have no byte order; '|' and '=' mean native, i.e. little-endian here.
      LETTER_CHECK(order != '>' || t.itemsize == 1, path, ": big-endian dtype '", descr,
                   "' is not supported; convert with arr.astype('<", code, "') before saving");
      return t;
    }
  }
  LETTER_FAIL(path, ": unsupported .npy dtype '", escape_bytes(descr),
              "' (supported: ", kSupportedDescrs, ")");
}

/// numel * itemsize, checking that the shape is small enough for LibTorch to describe:
/// its contiguous strides multiply max(d, 1) over the dimensions.
int64_t checked_nbytes(const std::vector<int64_t>& shape, int64_t itemsize,
                       const std::string& path) {
  int64_t bound = itemsize;
  int64_t nbytes = itemsize;
  for (const int64_t d : shape) {
    LETTER_CHECK(d >= 0, path, ": negative dimension in shape ", shape_repr(shape));
    const int64_t m = std::max<int64_t>(d, 1);
    LETTER_CHECK(bound <= std::numeric_limits<int64_t>::max() / m, path, ": shape ",
                 shape_repr(shape), " is too large (byte count overflows int64)");
    bound *= m;
    nbytes *= d;
  }
  return nbytes;
}

const NpyType* lookup_scalar_type(torch::ScalarType type) {
  for (const NpyType& t : kNpyTypes) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

}  // namespace

namespace detail {

std::string encode_npy_header(const std::string& descr, const std::vector<int64_t>& shape) {
  // numpy's _wrap_header: the dict, then spaces and '\n' so that magic + version + length
  // + header is a multiple of ARRAY_ALIGN (1 to 64 spaces). Version 1.0 stores the length
  // as u16; when it does not fit, version 2.0 uses u32.
  const std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_repr(shape) + ", }";
  const size_t hlen = dict.size() + 1;  // + '\n'
  size_t len_width = 2;
  size_t padlen = kArrayAlign - (kMagicLen + 2 + len_width + hlen) % kArrayAlign;
  if (hlen + padlen > 65535) {
    len_width = 4;
    padlen = kArrayAlign - (kMagicLen + 2 + len_width + hlen) % kArrayAlign;
  }
  const uint64_t total = hlen + padlen;
  std::string out(kMagic, kMagicLen);
  out += static_cast<char>(len_width == 2 ? 1 : 2);
  out += '\0';
  for (size_t i = 0; i < len_width; ++i) out += static_cast<char>((total >> (8 * i)) & 0xff);
  out += dict;
  out.append(padlen, ' ');
  out += '\n';
  return out;
}

}  // namespace detail

NpyHeader read_npy_header(const std::string& path) {
  int64_t size = 0;
  std::ifstream in = open_binary_input(path, &size);
  return parse_npy_header(in, size, path);
}

torch::Tensor read_npy(const std::string& path) {
  int64_t size = 0;
  std::ifstream in = open_binary_input(path, &size);
  const NpyHeader h = parse_npy_header(in, size, path);
  const NpyType& type = lookup_descr(h.descr, path);
  LETTER_CHECK(!h.fortran_order, path,
               ": fortran_order is True (column-major data) is not supported; save a C-order "
               "array, e.g. np.save(path, np.ascontiguousarray(arr))");
  const int64_t nbytes = checked_nbytes(h.shape, type.itemsize, path);
  const int64_t available = size - h.data_offset;
  LETTER_CHECK(available >= nbytes, path, ": truncated .npy data: shape ", shape_repr(h.shape),
               " of '", h.descr, "' needs ", nbytes, " bytes after the header, but the file has ",
               available);
  LETTER_CHECK(available == nbytes, path, ": ", available - nbytes,
               " unexpected trailing bytes after the data: shape ", shape_repr(h.shape), " of '",
               h.descr, "' needs ", nbytes, " bytes after the header, but the file has ",
               available);

  // Bools are read as bytes and normalised, so a stray byte other than 0/1 cannot produce
  // an invalid bool value.
  const bool is_bool = type.type == torch::kBool;
  torch::Tensor t =
      torch::empty(h.shape, torch::TensorOptions().dtype(is_bool ? torch::kUInt8 : type.type));
  read_exact(in, h.data_offset, static_cast<char*>(t.data_ptr()), nbytes, path, "the data");
  return is_bool ? t.ne(0) : t;
}

void write_npy(const std::string& path, const torch::Tensor& t) {
  LETTER_CHECK(t.defined(), "cannot write ", path, ": the tensor is undefined");
  LETTER_CHECK(t.layout() == torch::kStrided, "cannot write ", path,
               ": only dense (strided) tensors can be saved as .npy");
  LETTER_CHECK(t.scalar_type() != torch::kBFloat16, "cannot write ", path,
               ": bfloat16 is not representable in .npy; convert with t.to(torch::kFloat32) "
               "or save as safetensors");
  const NpyType* type = lookup_scalar_type(t.scalar_type());
  LETTER_CHECK(type != nullptr, "cannot write ", path, ": dtype ", c10::toString(t.scalar_type()),
               " is not representable in .npy (supported: float32, float16, float64, int64, "
               "int32, int16, bool, uint8, int8)");
  LETTER_CHECK(static_cast<size_t>(t.dim()) <= kMaxDims, "cannot write ", path, ": ", t.dim(),
               " dimensions, .npy allows at most ", kMaxDims);

  const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
  const std::string descr = std::string(type->itemsize == 1 ? "|" : "<") + type->code;
  const std::string header = detail::encode_npy_header(descr, c.sizes().vec());
  const int64_t nbytes = c.numel() * type->itemsize;
  write_atomic(path, [&](std::ofstream& out) {
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    if (nbytes > 0) out.write(static_cast<const char*>(c.data_ptr()), nbytes);
  });
}

}  // namespace letter::io
