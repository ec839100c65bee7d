//===- Safetensors.h - Read and write .safetensors files --------*- C++ -*-===//
//
// File format (https://github.com/huggingface/safetensors):
//   bytes [0, 8)      N, the header length, unsigned 64-bit little endian
//   bytes [8, 8+N)    header: a UTF-8 JSON object (may be padded with spaces)
//                       { "<tensor name>": { "dtype": "F32" | "BF16" | ...,
//                                            "shape": [d0, d1, ...],
//                                            "data_offsets": [begin, end] },
//                         ...,
//                         "__metadata__": { "<key>": "<string value>", ... } }
//   bytes [8+N, ...)  the data area; each tensor's bytes are
//                     [8+N+begin, 8+N+end), little endian, C (row-major) order.
//
// The reader checks everything before any tensor is touched: N against the
// file size and a 100 MB cap, JSON well-formed, known dtype, non-negative
// shape whose element count and byte size do not overflow,
// end - begin == numel * dtype size, every span inside the data area, no two
// tensors overlapping, no duplicate names, metadata values are strings. Gaps
// between tensors and trailing bytes are tolerated (writers may align data).
// The file is mapped read-only; a file truncated by someone else while mapped
// would fault on access, as with any mmap reader.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_IO_SAFETENSORS_H
#define HYBRID_RUNTIME_IO_SAFETENSORS_H

#include "runtime/support/Status.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hybrid {

enum class SafetensorsDType {
  BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64
};

/// "F32", "BF16", ... as written in the header.
const char *dtypeName(SafetensorsDType dtype);
/// Bytes per element.
size_t dtypeSize(SafetensorsDType dtype);
/// The dtype spelled `name` in a header; false when unknown.
bool parseDType(const std::string &name, SafetensorsDType *dtype);

/// "[2, 3]" for error messages.
std::string shapeToString(const std::vector<int64_t> &shape);

struct TensorInfo {
  std::string name;
  SafetensorsDType dtype = SafetensorsDType::F32;
  std::vector<int64_t> shape;
  int64_t numel = 0;
  /// Byte span inside the data area (relative to the byte after the header).
  uint64_t begin = 0, end = 0;
  uint64_t byteSize() const { return end - begin; }
};

class SafetensorsFile {
public:
  /// Maps `path` read-only and validates its header.
  static StatusOr<std::unique_ptr<SafetensorsFile>> open(const std::string &path);
  /// Same checks on bytes in memory; they are copied, so the caller's buffer
  /// may go away. `displayName` names the source in messages.
  static StatusOr<std::unique_ptr<SafetensorsFile>>
  openFromBuffer(const void *data, size_t size, const std::string &displayName = "<buffer>");

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::string &path() const { return path_; }
  /// Tensor names in header order.
  std::vector<std::string> names() const;
  size_t size() const { return tensors_.size(); }
  /// All tensors, in header order.
  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  /// The tensor called `name`, or null.
  const TensorInfo *find(const std::string &name) const;
  const std::map<std::string, std::string> &metadata() const { return metadata_; }

  /// The raw little-endian bytes of `info` (no alignment guarantee).
  const uint8_t *rawData(const TensorInfo &info) const { return dataStart_ + info.begin; }

  /// Converts tensor `name` (F32, BF16 or F16) to float32 into `out`, which
  /// must hold numel floats. Fails, naming the tensor, the file and both
  /// shapes, when the tensor's shape is not `expectedShape`.
  Status readAsF32(const std::string &name, const std::vector<int64_t> &expectedShape,
                   float *out) const;
  /// Same without a shape check; `shape` (if given) receives the shape.
  StatusOr<std::vector<float>> readAsF32(const std::string &name,
                                         std::vector<int64_t> *shape = nullptr) const;

private:
  SafetensorsFile() = default;
  Status parse(size_t fileSize);
  Status convert(const TensorInfo &info, float *out) const;

  std::string path_;
  void *mapped_ = nullptr; // mmap base when opened from a file
  size_t mappedSize_ = 0;
  std::vector<uint8_t> owned_; // bytes when opened from a buffer
  const uint8_t *base_ = nullptr;
  const uint8_t *dataStart_ = nullptr;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

/// A float32 tensor to be written: `data` holds the product of `shape`
/// elements in C order.
struct TensorF32View {
  const float *data = nullptr;
  std::vector<int64_t> shape;
};

/// Serialises F32 tensors (in the given order, packed back to back) plus
/// string metadata into safetensors bytes. The header is padded with spaces
/// so that the data area starts 8-byte aligned.
StatusOr<std::string>
serializeSafetensors(const std::vector<std::pair<std::string, TensorF32View>> &tensors,
                     const std::map<std::string, std::string> &metadata = {});

/// serializeSafetensors, then writeFileAtomic: `path` is either the old file
/// or the complete new one.
Status writeSafetensors(const std::string &path,
                        const std::vector<std::pair<std::string, TensorF32View>> &tensors,
                        const std::map<std::string, std::string> &metadata = {});

/// IEEE half and bfloat16 bit patterns to float (exact: every value of both
/// is representable in float32, NaN payload kept).
float halfToFloat(uint16_t bits);
float bfloat16ToFloat(uint16_t bits);
/// fp32 -> bf16, rounding to nearest even (NaN -> the canonical quiet NaN):
/// what the CUDA executor stores for GEMM and embedding weights.
uint16_t floatToBfloat16(float f);

} // namespace hybrid

#endif // HYBRID_RUNTIME_IO_SAFETENSORS_H
