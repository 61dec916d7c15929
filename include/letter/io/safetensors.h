// Hugging Face .safetensors reader and writer.
//
// File layout (huggingface/safetensors, "Format"):
//   N: u64 little-endian | N bytes of UTF-8 JSON header | byte buffer.
// The header maps each tensor name to {"dtype": "F32", "shape": [2, 3],
// "data_offsets": [begin, end]} (offsets relative to the start of the byte buffer) and may
// hold "__metadata__": {string: string}. Tensor data is little-endian, C order.
// Dtypes: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace letter::io {

/// The contents of a .safetensors file.
struct SafetensorsFile {
  /// (name, CPU tensor) pairs in file offset order.
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  /// The "__metadata__" map; empty when the file has none.
  std::map<std::string, std::string> metadata;

  /// The tensor called `name`, or nullptr if absent. The pointer is valid while this object
  /// lives and `tensors` is not modified.
  const torch::Tensor* find(const std::string& name) const;
};

/// Reads every tensor of a .safetensors file into CPU tensors.
/// Validates: header length against the file size (and the format's 100 MB header limit),
/// JSON syntax, unique names, field types, known dtypes, non-negative shapes, offsets
/// inside the buffer, end - begin == numel * itemsize. Overlapping or gapped tensors are
/// not rejected. Throws letter::Error naming the file, and the tensor where one is at fault.
SafetensorsFile read_safetensors(const std::string& path);

/// Writes `tensors` (CPU contiguous copies, in the given order) with `metadata`, atomically
/// (write_atomic from common/fs.h). Names must be unique, non-empty and not
/// "__metadata__"; dtypes must be one of those listed above. The header is padded with
/// spaces to a multiple of 8 bytes, as the reference writer does. Nothing is written when
/// it throws.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace letter::io
