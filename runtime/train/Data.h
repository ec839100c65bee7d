//===- Data.h - Token streams and batches for training ----------*- C++ -*-===//
//
// Input formats (one or several files, concatenated in the order given):
//   bytes   any file; token id = byte value (0..255), as ByteTokenizer.
//   uint16  pre-tokenized: little-endian uint16 ids back to back (file size
//           a multiple of 2; e.g. numpy's arr.astype('<u2').tofile()).
//   uint32  the same with little-endian uint32 ids.
// Every id must be < the model's vocabulary; an error names the file, the
// token's position and its value.
//
// The stream is split once: the last ceil(N x valFraction) tokens are the
// held-out validation part, the rest trains. A training batch is `batch`
// windows of seq + 1 tokens at random offsets (ids = window[0:seq], labels =
// window[1:seq+1]); the offsets come from a generator seeded by (seed, step,
// micro-batch) alone, so a resumed run draws exactly the batches an
// uninterrupted one would. Validation uses a fixed list of windows spread
// evenly over the held-out part, the same at every evaluation.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_TRAIN_DATA_H
#define HYBRID_RUNTIME_TRAIN_DATA_H

#include "runtime/support/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybrid {

enum class DataFormat { Bytes, UInt16, UInt32 };

/// "bytes" | "uint16" | "uint32".
const char *dataFormatName(DataFormat format);
bool parseDataFormat(const std::string &name, DataFormat *format);

/// A token stream read from files.
struct TokenStream {
  std::vector<int32_t> tokens;
  /// FNV-1a over the ids, so a resumed run can tell the data changed.
  uint64_t fingerprint() const;
};

/// Reads and concatenates `paths`; every id must be < vocab.
StatusOr<TokenStream> loadTokenStream(const std::vector<std::string> &paths, DataFormat format,
                                      int64_t vocab);

/// A batch: ids and labels, both [batch, seq] row-major.
struct Batch {
  int64_t batch = 0, seq = 0;
  std::vector<int32_t> ids, labels;
};

class BatchSampler {
public:
  /// Splits `stream` (moved in) and checks that both parts hold at least
  /// seq + 1 tokens (the validation part only when valFraction > 0).
  static StatusOr<BatchSampler> create(std::vector<int32_t> stream, double valFraction,
                                       int64_t seq, uint64_t seed,
                                       const std::string &what = "the data");

  /// Training batch of update `step`, micro-batch `micro` (deterministic).
  void trainBatch(int64_t step, int64_t micro, int64_t batch, Batch *out) const;
  /// Offsets (into the training part) that trainBatch uses; for tests.
  std::vector<int64_t> trainOffsets(int64_t step, int64_t micro, int64_t batch) const;

  /// Number of fixed validation batches of `batch` windows available, at
  /// most `maxBatches` (0 when there is no held-out part).
  int64_t valBatchCount(int64_t batch, int64_t maxBatches) const;
  /// Validation batch `index` of the fixed list of count x batch windows.
  void valBatch(int64_t index, int64_t count, int64_t batch, Batch *out) const;

  int64_t trainTokens() const { return trainEnd_; }
  int64_t valTokens() const { return static_cast<int64_t>(tokens_.size()) - trainEnd_; }
  int64_t seq() const { return seq_; }

private:
  void fill(const int64_t *offsets, int64_t batch, Batch *out) const;
  std::vector<int32_t> tokens_;
  int64_t trainEnd_ = 0; // [0, trainEnd_) trains, [trainEnd_, size) validates
  int64_t seq_ = 0;
  uint64_t seed_ = 0;
};

} // namespace hybrid

#endif // HYBRID_RUNTIME_TRAIN_DATA_H
