//===- Tokenizer.cpp - Byte-level tokenizer and --prompt-ids parsing ------===//
#include "runtime/support/Tokenizer.h"

namespace hybrid {

std::vector<int32_t> ByteTokenizer::encode(const std::string &text) {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (char c : text)
    ids.push_back(static_cast<int32_t>(static_cast<unsigned char>(c)));
  return ids;
}

StatusOr<std::string> ByteTokenizer::decode(const std::vector<int32_t> &ids) {
  std::string out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= kVocabSize)
      return HYBRID_ERROR("token id ", ids[i], " at position ", i,
                          " is outside the byte vocabulary [0, ", kVocabSize, ")");
    out.push_back(static_cast<char>(static_cast<unsigned char>(ids[i])));
  }
  return out;
}

std::string ByteTokenizer::decodeForDisplay(const std::vector<int32_t> &ids) {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || id >= kVocabSize)
      out += "<|" + std::to_string(id) + "|>";
    else
      out.push_back(static_cast<char>(static_cast<unsigned char>(id)));
  }
  return out;
}

StatusOr<std::vector<int32_t>> parseIdList(const std::string &text, int64_t vocabSize) {
  if (vocabSize <= 0)
    return HYBRID_ERROR("vocabulary size must be positive, got ", vocabSize);
  std::vector<int32_t> ids;
  size_t pos = 0;
  size_t item = 0;
  auto isSpace = [](char c) { return c == ' ' || c == '\t'; };
  if (text.find_first_not_of(" \t") == std::string::npos)
    return HYBRID_ERROR("empty token id list (expected e.g. \"1,2,3\")");
  while (true) {
    size_t comma = text.find(',', pos);
    size_t stop = comma == std::string::npos ? text.size() : comma;
    size_t b = pos, e = stop;
    while (b < e && isSpace(text[b]))
      ++b;
    while (e > b && isSpace(text[e - 1]))
      --e;
    std::string tok = text.substr(b, e - b);
    if (tok.empty())
      return HYBRID_ERROR("empty item ", item + 1, " in token id list '", text, "'");
    // Digits only: no sign, no hex, no trailing junk. Saturate on overflow
    // (it is then out of range anyway) so the value never wraps.
    int64_t value = 0;
    for (char c : tok) {
      if (c < '0' || c > '9')
        return HYBRID_ERROR("item ", item + 1, " '", tok, "' in token id list '", text,
                            "' is not a non-negative decimal integer");
      if (value <= INT64_MAX / 10 - 9)
        value = value * 10 + (c - '0');
      else
        value = INT64_MAX;
    }
    if (value >= vocabSize || value > INT32_MAX)
      return HYBRID_ERROR("token id ", tok, " (item ", item + 1, ") is outside the vocabulary [0, ",
                          vocabSize, ")");
    ids.push_back(static_cast<int32_t>(value));
    ++item;
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return ids;
}

} // namespace hybrid
