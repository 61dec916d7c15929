// Checkpoints: module parameters and buffers, optional optimizer state, the CPU RNG state
// and a JSON header (format tag, version, resolved config, training state) in one LibTorch
// archive, written atomically. Loading checks the tag and version and tells the user what
// to re-run on a mismatch (style.md, practice 11).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace letter {

/// What a checkpoint says about itself.
struct CheckpointHeader {
  std::string format;      ///< e.g. "letter.tokenizer"
  int64_t version = 1;     ///< bumped when the layout changes
  nlohmann::json config;   ///< resolved config of the run
  nlohmann::json state;    ///< training state: epoch, step, best metric, ...
  std::string checksum{};  ///< read only: FNV-1a of the model's tensors as saved ("" in old files)
};

/// Saves `model` (and `optimizer` when non-null) with `header` and the CPU RNG state.
void save_checkpoint(const std::string& path, const torch::nn::Module& model,
                     const torch::optim::Optimizer* optimizer, const CheckpointHeader& header);

/// Loads into `model` (and `optimizer` when non-null; restores the CPU RNG state when
/// `restore_rng`). Throws letter::Error when the file is missing or corrupt, or when its
/// format/version differ from `expected_format` / `expected_version`.
CheckpointHeader load_checkpoint(const std::string& path, torch::nn::Module& model,
                                 torch::optim::Optimizer* optimizer,
                                 const std::string& expected_format, int64_t expected_version,
                                 bool restore_rng = false);

/// Reads only the header (no model needed).
CheckpointHeader read_checkpoint_header(const std::string& path);

/// Refuses to --resume the run whose checkpoint `path` stores the config `saved` with the
/// config `now`: every key of `now` (top-level values and one level into sections, e.g.
/// "seed", "recommender.lr") must equal the saved one, except the paths in `may_change`
/// ("cf.epochs"). Keys the saved config lacks (written by an older letter) are skipped.
/// Throws UsageError naming the differing keys and the way out.
void check_resume_config(const nlohmann::json& saved, const nlohmann::json& now,
                         const std::vector<std::string>& may_change, const std::string& path);

/// Copies of the parameters of `m` (the best model of a training run, kept in memory).
std::vector<torch::Tensor> snapshot_parameters(const torch::nn::Module& m);
/// Writes a snapshot_parameters() copy back into `m`.
void restore_parameters(torch::nn::Module& m, const std::vector<torch::Tensor>& snapshot);

}  // namespace letter
