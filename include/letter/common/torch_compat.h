// The few places where LibTorch 1.13 (Debian, CPU) and LibTorch 2.x (PyTorch wheels, CUDA)
// differ. Everything version-dependent goes through this header.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <string>

#define LETTER_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||         \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace letter::compat {

/// "1.13.1" etc.
inline std::string torch_version() { return TORCH_VERSION; }

/// True when this LibTorch was built with CUDA and a device is visible.
inline bool cuda_available() { return torch::cuda::is_available(); }

/// Number of visible CUDA devices (0 on CPU-only builds).
inline int64_t cuda_device_count() { return static_cast<int64_t>(torch::cuda::device_count()); }

}  // namespace letter::compat
