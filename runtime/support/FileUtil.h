//===- FileUtil.h - Atomic file writes and .npy output ----------*- C++ -*-===//
#ifndef HYBRID_RUNTIME_SUPPORT_FILEUTIL_H
#define HYBRID_RUNTIME_SUPPORT_FILEUTIL_H

#include "runtime/support/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybrid {

/// Writes `bytes` to `path` atomically: a temporary file in the same folder,
/// fsync, then rename over `path`. On failure `path` is left untouched.
Status writeFileAtomic(const std::string &path, const void *data, size_t size);

/// A float32 .npy (format 1.0, little endian, C order) of `shape`.
std::string npyFloat32(const float *data, const std::vector<int64_t> &shape);

/// HYBRIDC_DUMP_VALUES=DIR: the executors write every output of every
/// prefill instruction to DIR as float32 .npy, named by valueDumpPath, so
/// that tools/compare_dumps.py can find the first op where two executors
/// part (a debugging aid; empty when the variable is unset).
std::string valueDumpDir();
std::string valueDumpPath(const std::string &dir, int instr, const std::string &op, int id);

/// Reads a float32 .npy written by numpy (format 1.0/2.0, '<f4', C order).
StatusOr<std::vector<float>> readNpyFloat32(const std::string &path,
                                            std::vector<int64_t> *shape);

} // namespace hybrid

#endif // HYBRID_RUNTIME_SUPPORT_FILEUTIL_H
