//===- Checkpoint.h - Training checkpoint directories -----------*- C++ -*-===//
//
// A checkpoint is a directory:
//   weights.safetensors    F32 weights by HF tensor name (hybrid-run generate
//                          --weights DIR/weights.safetensors loads it)
//   optimizer.safetensors  AdamW moments: "exp_avg.<hf name>" (m) and
//                          "exp_avg_sq.<hf name>" (v), F32, same shapes
//   state.json             step, tokens seen, RNG/data seed, schedule,
//                          optimizer settings, the full run configuration
//   loss.csv, loss.svg     the loss history up to this step
//
// Writing is atomic at the directory level: everything goes into a fresh
// sibling DIR.tmp-XXXXXX (each file fsynced), which is then exchanged with
// DIR in one renameat2(RENAME_EXCHANGE) (or renamed into place when DIR does
// not exist yet); only then is the previous checkpoint deleted. A process
// killed at any instant leaves DIR either the old complete checkpoint or the
// new complete one (plus perhaps a stray DIR.tmp-* to delete by hand). On
// file systems without RENAME_EXCHANGE the old DIR is first renamed to
// DIR.old-XXXXXX, a window in which DIR is absent but the old copy survives.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_TRAIN_CHECKPOINT_H
#define HYBRID_RUNTIME_TRAIN_CHECKPOINT_H

#include "runtime/io/Safetensors.h"
#include "runtime/support/Status.h"

#include <string>
#include <utility>
#include <vector>

namespace hybrid {

/// The files of a checkpoint, in memory, before the write.
struct CheckpointFiles {
  std::vector<std::pair<std::string, TensorF32View>> weights;
  std::vector<std::pair<std::string, TensorF32View>> optimizer;
  std::string stateJson;
  /// Further small files by name (loss.csv, loss.svg).
  std::vector<std::pair<std::string, std::string>> extra;
};

/// The file names a checkpoint may hold; only these are deleted with an old
/// checkpoint.
extern const char *const kCheckpointFileNames[5];

/// Writes `files` as checkpoint `dir`, replacing an existing checkpoint
/// atomically. Refuses to replace a directory that is not a checkpoint
/// (non-empty and without state.json).
Status writeCheckpointDir(const std::string &dir, const CheckpointFiles &files);

/// True when `dir` exists and holds a state.json.
bool isCheckpointDir(const std::string &dir);

/// Reads a whole small file (state.json, loss.csv).
StatusOr<std::string> readTextFile(const std::string &path);

} // namespace hybrid

#endif // HYBRID_RUNTIME_TRAIN_CHECKPOINT_H
