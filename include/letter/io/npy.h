// NumPy .npy reader and writer (format versions 1.0, 2.0 and 3.0).
//
// File layout (numpy/lib/format.py, "Format Version 1.0"):
//   "\x93NUMPY" | major u8 | minor u8 | header_len (u16 LE for 1.0, u32 LE for 2.0/3.0)
//   | header: a Python dict literal, e.g. "{'descr': '<f4', 'fortran_order': False,
//     'shape': (3, 4), }", padded with spaces and ending in '\n' so that the data starts
//     on a 64-byte boundary | raw element data in C order.
// Only little-endian, C-order arrays of plain numeric dtypes are supported; everything
// else is rejected with a letter::Error naming the file and the problem.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace letter::io {

/// The parsed header of a .npy file.
struct NpyHeader {
  /// The dtype string as written in the file, e.g. "<f4", "|b1".
  std::string descr;
  /// True when the data is stored in Fortran (column-major) order.
  bool fortran_order = false;
  /// Array shape; empty for a 0-d (scalar) array.
  std::vector<int64_t> shape;
  /// Byte offset of the first data byte from the start of the file.
  int64_t data_offset = 0;
};

/// Reads a .npy file (format versions 1.0, 2.0, 3.0; C order only; little-endian) into a
/// CPU tensor with the file's shape.
/// Dtypes: <f4 float32, <f2 float16, <f8 float64, <i8 int64, <i4 int32, <i2 int16,
/// |b1 bool, |u1 uint8, |i1 int8 ('=' and '|' byte orders are read as little-endian).
/// The file size must equal data_offset + numel * itemsize exactly.
/// Throws letter::Error naming the file and the problem (bad magic, unsupported or
/// big-endian dtype, fortran_order True, truncated data with expected vs actual bytes,
/// malformed header).
torch::Tensor read_npy(const std::string& path);

/// Parses only the header (for quick shape/dtype checks without reading the data).
/// Validates the magic and the header syntax, but not the dtype, the order or the data
/// size, so it also describes files that read_npy rejects (e.g. fortran_order True).
NpyHeader read_npy_header(const std::string& path);

/// Writes a contiguous CPU copy of `t` as .npy v1.0 (v2.0 if the header exceeds 65535
/// bytes), atomically (write_atomic from common/fs.h), byte-identical to numpy's np.save.
/// Supported dtypes: float32, float16, float64, int64, int32, int16, bool, uint8, int8.
/// bfloat16 has no .npy representation and throws (convert to float32 or use
/// safetensors); so do other dtypes, undefined and non-strided tensors, and > 64 dims.
/// Nothing is written when it throws.
void write_npy(const std::string& path, const torch::Tensor& t);

namespace detail {

/// The complete .npy prefix (magic, version, header length, padded header dict) that
/// np.save writes for an array of this descr and C-order shape. Exposed for tests.
std::string encode_npy_header(const std::string& descr, const std::vector<int64_t>& shape);

}  // namespace detail

}  // namespace letter::io
