//===- Tokenizer.h - Byte-level tokenizer and --prompt-ids parsing -*- C++ -*-===//
//
// The byte-level tokenizer has a vocabulary of 256: token id = byte value, so
// every string round-trips exactly (no normalisation, any bytes incl. NUL and
// invalid UTF-8). Decoding is strict: an id outside [0, 256) is an error
// naming the id and its position, because silently dropping or replacing it
// would hide a model/tokenizer mismatch. decodeForDisplay() is the lenient
// variant for printing generations of larger-vocabulary models: it renders
// such ids visibly as "<|id|>".
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_SUPPORT_TOKENIZER_H
#define HYBRID_RUNTIME_SUPPORT_TOKENIZER_H

#include "runtime/support/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybrid {

class ByteTokenizer {
public:
  static constexpr int32_t kVocabSize = 256;

  /// One id per byte of `text`.
  static std::vector<int32_t> encode(const std::string &text);
  /// The bytes of `ids`; fails on an id outside [0, 256).
  static StatusOr<std::string> decode(const std::vector<int32_t> &ids);
  /// Like decode, but an out-of-range id becomes the text "<|id|>".
  static std::string decodeForDisplay(const std::vector<int32_t> &ids);
};

/// Parses a --prompt-ids value such as "1,2,3" (spaces around items are
/// allowed). Fails with a message naming the item and its position on an
/// empty list, an empty item ("1,,2", trailing comma), anything but decimal
/// digits, or an id outside [0, vocabSize).
StatusOr<std::vector<int32_t>> parseIdList(const std::string &text,
                                           int64_t vocabSize = ByteTokenizer::kVocabSize);

} // namespace hybrid

#endif // HYBRID_RUNTIME_SUPPORT_TOKENIZER_H
