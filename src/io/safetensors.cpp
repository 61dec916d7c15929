// .safetensors reader and writer, following the format description in
// huggingface/safetensors (README, "Format"): u64 LE header length, JSON header, byte
// buffer. The reader checks every length and offset against the file size before reading,
// and rejects duplicate JSON keys (nlohmann::json would otherwise keep the last silently).
// The writer pads the header with spaces to a multiple of 8 bytes, as the reference does,
// so that every tensor starts 8-byte aligned when all earlier tensors are.
#include "letter/io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "letter/common/error.h"
#include "letter/common/json.h"
#include "letter/common/fs.h"

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "letter's .safetensors reader and writer assume a little-endian host");
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace letter::io {
namespace {

/// The reference implementation refuses headers above 100 MB (MAX_HEADER_SIZE).
constexpr uint64_t kMaxHeaderLen = 100'000'000;
/// Same cap as for .npy; real checkpoints stay far below it.
constexpr size_t kMaxDims = 64;
constexpr char kMetadataKey[] = "__metadata__";

struct StType {
  const char* name;
  torch::ScalarType type;
  int64_t itemsize;
};

constexpr StType kStTypes[] = {
    {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2}, {"BF16", torch::kBFloat16, 2},
    {"F64", torch::kFloat64, 8}, {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

constexpr const char* kSupportedDtypes = "F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL";

/// One validated header entry.
struct Entry {
  std::string name;
  const StType* type = nullptr;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

const StType* lookup_name(const std::string& name) {
  for (const StType& t : kStTypes) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

const StType* lookup_scalar_type(torch::ScalarType type) {
  for (const StType& t : kStTypes) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

/// A JSON integer >= 0 (nlohmann parses those as number_unsigned).
uint64_t get_uint(const json& v, const std::string& path, const std::string& where) {
  LETTER_CHECK(v.is_number_unsigned(), path, ": ", where, " must be a non-negative integer, got ",
               json_excerpt(v));
  return v.get<uint64_t>();
}

/// Validates one tensor entry of the header against a byte buffer of `buffer_size` bytes.
Entry parse_entry(const std::string& name, const json& v, uint64_t buffer_size,
                  const std::string& path) {
  const std::string where = "tensor '" + name + "'";
  LETTER_CHECK(v.is_object(), path, ": ", where, ": header entry must be an object, got ",
               json_excerpt(v));
  for (const auto& field : v.items()) {
    LETTER_CHECK(field.key() == "dtype" || field.key() == "shape" || field.key() == "data_offsets",
                 path, ": ", where, ": unknown field '", field.key(),
                 "' (expected dtype, shape, data_offsets)");
  }
  LETTER_CHECK(v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"), path, ": ",
               where, ": entry needs dtype, shape and data_offsets, got ", json_excerpt(v));

  Entry e;
  e.name = name;
  const json& dtype = v.at("dtype");
  LETTER_CHECK(dtype.is_string(), path, ": ", where, ": dtype must be a string, got ",
               json_excerpt(dtype));
  e.type = lookup_name(dtype.get<std::string>());
  LETTER_CHECK(e.type != nullptr, path, ": ", where, ": unsupported dtype ", json_excerpt(dtype),
               " (supported: ", kSupportedDtypes, ")");

  const json& shape = v.at("shape");
  LETTER_CHECK(shape.is_array(), path, ": ", where, ": shape must be an array, got ", json_excerpt(shape));
  LETTER_CHECK(shape.size() <= kMaxDims, path, ": ", where, ": ", shape.size(),
               " dimensions, at most ", kMaxDims, " supported");
  for (const json& d : shape) {
    const uint64_t dim = get_uint(d, path, where + " shape entry");
    LETTER_CHECK(dim <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), path, ": ",
                 where, ": dimension ", dim, " does not fit in int64");
    e.shape.push_back(static_cast<int64_t>(dim));
  }

  const json& offsets = v.at("data_offsets");
  LETTER_CHECK(offsets.is_array() && offsets.size() == 2, path, ": ", where,
               ": data_offsets must be [begin, end], got ", json_excerpt(offsets));
  e.begin = get_uint(offsets[0], path, where + " data_offsets[0]");
  e.end = get_uint(offsets[1], path, where + " data_offsets[1]");
  LETTER_CHECK(e.begin <= e.end, path, ": ", where, ": data_offsets [", e.begin, ", ", e.end,
               "] has begin > end");
  LETTER_CHECK(e.end <= buffer_size, path, ": ", where, ": data_offsets [", e.begin, ", ", e.end,
               "] point past the end of the ", buffer_size, "-byte data buffer (truncated file?)");

  // numel * itemsize; LibTorch's contiguous strides multiply max(d, 1), so bound that too.
  const auto max_i64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t bound = static_cast<uint64_t>(e.type->itemsize);
  uint64_t nbytes = bound;
  for (const int64_t d : e.shape) {
    const auto m = static_cast<uint64_t>(std::max<int64_t>(d, 1));
    LETTER_CHECK(bound <= max_i64 / m, path, ": ", where, ": shape ", shape_str(e.shape),
                 " is too large (byte count overflows int64)");
    bound *= m;
    nbytes *= static_cast<uint64_t>(d);
  }
  LETTER_CHECK(e.end - e.begin == nbytes, path, ": ", where, ": data_offsets [", e.begin, ", ",
               e.end, "] span ", e.end - e.begin, " bytes, but shape ", shape_str(e.shape), " of ",
               e.type->name, " needs ", nbytes);
  return e;
}

/// Parses the JSON header, rejecting syntax errors and duplicate keys at any depth.
json parse_header_json(const std::string& text, const std::string& path) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  const json::parser_callback_t track_keys = [&](int /*depth*/, json::parse_event_t event,
                                                 json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  json header = parse_json(text, path + ": .safetensors JSON header", false, track_keys);
  LETTER_CHECK(duplicate.empty(), path, ": duplicate key '", duplicate,
               "' in the .safetensors JSON header");
  LETTER_CHECK(header.is_object(), path, ": the .safetensors JSON header must be an object, got ",
               header.type_name());
  return header;
}

}  // namespace

const torch::Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& [n, t] : tensors) {
    if (n == name) return &t;
  }
  return nullptr;
}

SafetensorsFile read_safetensors(const std::string& path) {
  int64_t size = 0;
  std::ifstream in = open_binary_input(path, &size);
  LETTER_CHECK(size >= 8, path, ": truncated .safetensors file: ", size,
               " bytes, the header length field alone needs 8");
  unsigned char len_bytes[8];
  read_exact(in, 0, reinterpret_cast<char*>(len_bytes), 8, path, "the header length");
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= static_cast<uint64_t>(len_bytes[i]) << (8 * i);
  const auto after_len = static_cast<uint64_t>(size - 8);
  LETTER_CHECK(header_len <= after_len, path, ": header length ", header_len, " exceeds the ",
               after_len, " bytes that follow it (truncated, or not a .safetensors file)");
  LETTER_CHECK(header_len <= kMaxHeaderLen, path, ": header length ", header_len,
               " exceeds the format's limit of ", kMaxHeaderLen, " bytes");
  LETTER_CHECK(header_len >= 2, path, ": header length ", header_len,
               " is too small for a JSON object");
  std::string text(static_cast<size_t>(header_len), '\0');
  read_exact(in, 8, text.data(), static_cast<int64_t>(header_len), path, "the header");
  const json header = parse_header_json(text, path);

  const uint64_t data_start = 8 + header_len;
  const uint64_t buffer_size = static_cast<uint64_t>(size) - data_start;
  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& item : header.items()) {
    if (item.key() == kMetadataKey) {
      const json& meta = item.value();
      if (meta.is_null()) continue;
      LETTER_CHECK(meta.is_object(), path, ": __metadata__ must be an object of strings, got ",
                   json_excerpt(meta));
      for (const auto& kv : meta.items()) {
        LETTER_CHECK(kv.value().is_string(), path, ": __metadata__ value for '", kv.key(),
                     "' must be a string, got ", json_excerpt(kv.value()));
        file.metadata[kv.key()] = kv.value().get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(item.key(), item.value(), buffer_size, path));
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });

  file.tensors.reserve(entries.size());
  for (const Entry& e : entries) {
    // Bools are read as bytes and normalised, so a stray byte other than 0/1 cannot produce
    // an invalid bool value.
    const bool is_bool = e.type->type == torch::kBool;
    torch::Tensor t =
        torch::empty(e.shape, torch::TensorOptions().dtype(is_bool ? torch::kUInt8 : e.type->type));
    read_exact(in, static_cast<int64_t>(data_start + e.begin), static_cast<char*>(t.data_ptr()),
               static_cast<int64_t>(e.end - e.begin), path, "the data of tensor '" + e.name + "'");
    file.tensors.emplace_back(e.name, is_bool ? t.ne(0) : t);
  }
  return file;
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  std::set<std::string> names;
  std::vector<torch::Tensor> data;
  data.reserve(tensors.size());
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const std::string& name = tensors[i].first;
    const torch::Tensor& t = tensors[i].second;
    LETTER_CHECK(!name.empty(), "cannot write ", path, ": tensor #", i, " has an empty name");
    LETTER_CHECK(name != kMetadataKey, "cannot write ", path, ": '", kMetadataKey,
                 "' is reserved and cannot name a tensor");
    LETTER_CHECK(names.insert(name).second, "cannot write ", path, ": duplicate tensor name '",
                 name, "'");
    LETTER_CHECK(t.defined(), "cannot write ", path, ": tensor '", name, "' is undefined");
    LETTER_CHECK(t.layout() == torch::kStrided, "cannot write ", path, ": tensor '", name,
                 "' is not dense (strided)");
    const StType* type = lookup_scalar_type(t.scalar_type());
    LETTER_CHECK(type != nullptr, "cannot write ", path, ": tensor '", name, "' has dtype ",
                 c10::toString(t.scalar_type()), ", not representable in safetensors here (",
                 "supported: ", kSupportedDtypes, ")");
    LETTER_CHECK(static_cast<size_t>(t.dim()) <= kMaxDims, "cannot write ", path, ": tensor '",
                 name, "' has ", t.dim(), " dimensions, at most ", kMaxDims, " supported");

    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const auto nbytes = static_cast<uint64_t>(c.numel() * type->itemsize);
    json entry = json::object();
    entry["dtype"] = type->name;
    entry["shape"] = c.sizes().vec();
    entry["data_offsets"] = json::array({offset, offset + nbytes});
    header[name] = std::move(entry);
    offset += nbytes;
    data.push_back(std::move(c));
  }
  if (!metadata.empty()) header[kMetadataKey] = metadata;

  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    LETTER_FAIL("cannot write ", path, ": tensor names and metadata must be valid UTF-8 (",
                e.what(), ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  write_atomic(path, [&](std::ofstream& out) {
    char len_bytes[8];
    const uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    out.write(len_bytes, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const torch::Tensor& c : data) {
      const int64_t nbytes = c.numel() * static_cast<int64_t>(c.element_size());
      if (nbytes > 0) out.write(static_cast<const char*>(c.data_ptr()), nbytes);
    }
  });
}

}  // namespace letter::io
