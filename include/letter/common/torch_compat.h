// The few places where LibTorch 1.13 (Debian, CPU) and LibTorch 2.x (PyTorch wheels, CUDA)
// differ. Everything version-dependent goes through this header.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <sstream>
#include <string>
#include <type_traits>

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

/// RAII bf16 autocast on a CUDA device (no-op on CPU or when `enable` is false). The
/// autocast API moved from CUDA-only functions (1.x-2.3) to per-device-type ones (2.4+).
class CudaAutocast {
 public:
  CudaAutocast(const torch::Device& device, bool enable) {
    if (!enable || !device.is_cuda()) return;
    active_ = true;
#if LETTER_TORCH_AT_LEAST(2, 4)
    prev_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    prev_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    prev_enabled_ = at::autocast::is_enabled();
    prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
#endif
    at::autocast::increment_nesting();
  }
  ~CudaAutocast() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if LETTER_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_enabled(at::kCUDA, prev_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, prev_dtype_);
#else
    at::autocast::set_enabled(prev_enabled_);
    at::autocast::set_autocast_gpu_dtype(prev_dtype_);
#endif
  }
  CudaAutocast(const CudaAutocast&) = delete;
  CudaAutocast& operator=(const CudaAutocast&) = delete;

 private:
  bool active_ = false;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kFloat;
};
/// Key of a parameter in torch::optim::Optimizer::state(): LibTorch 1.x uses the string
/// form of the TensorImpl pointer (c10::guts::to_string, i.e. ostream <<), 2.x the pointer.
template <class Opt>  // a template so that only the branch for this LibTorch is instantiated
auto optimizer_state_key(const Opt& opt, const torch::Tensor& p) {
  using Key = typename std::decay_t<decltype(opt.state())>::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;
    os << p.unsafeGetTensorImpl();
    return os.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

}  // namespace letter::compat
