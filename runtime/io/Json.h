//===- Json.h - A small strict JSON parser for the runtime ------*- C++ -*-===//
//
// The runtime has no LLVM, so it carries its own JSON reader, sized for file
// headers (safetensors, small configs). It follows RFC 8259 strictly: one
// value, optional surrounding whitespace, no comments, no trailing commas,
// no NaN/Infinity, strings must be valid UTF-8 with escapes decoded (\uXXXX
// including surrogate pairs). Objects keep their members in file order and
// keep duplicate keys, so that a caller can reject them with its own message.
// Nesting depth is capped so that hostile input cannot exhaust the stack.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_IO_JSON_H
#define HYBRID_RUNTIME_IO_JSON_H

#include "runtime/support/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hybrid {

class JsonValue {
public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isBool() const { return kind_ == Kind::Bool; }
  bool isNumber() const { return kind_ == Kind::Number; }
  bool isString() const { return kind_ == Kind::String; }
  bool isArray() const { return kind_ == Kind::Array; }
  bool isObject() const { return kind_ == Kind::Object; }

  bool asBool() const { return bool_; }
  double asDouble() const { return number_; }
  /// True for a number written without sign, fraction or exponent whose value
  /// fits in uint64_t; then asUInt64() is exact (a double would round above
  /// 2^53, which matters for byte offsets).
  bool isUInt64() const { return kind_ == Kind::Number && isU64_; }
  uint64_t asUInt64() const { return u64_; }
  const std::string &asString() const { return string_; }
  const std::vector<JsonValue> &asArray() const { return array_; }
  const std::vector<std::pair<std::string, JsonValue>> &asObject() const { return object_; }

  /// The first member named `key`, or null when absent / not an object.
  const JsonValue *get(const std::string &key) const;

  /// "null", "bool", "number", ... for error messages.
  static const char *kindName(Kind k);

  static constexpr int kMaxDepth = 64;

private:
  friend class JsonParser;
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  bool isU64_ = false;
  double number_ = 0;
  uint64_t u64_ = 0;
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<std::pair<std::string, JsonValue>> object_;
};

/// Parses the whole of `text` as one JSON value. Errors give the byte offset.
StatusOr<JsonValue> parseJson(const char *text, size_t size);
inline StatusOr<JsonValue> parseJson(const std::string &text) {
  return parseJson(text.data(), text.size());
}

/// `s` as a JSON string literal, quotes included (control characters and
/// quotes escaped; other bytes copied as they are).
std::string jsonQuote(const std::string &s);

} // namespace hybrid

#endif // HYBRID_RUNTIME_IO_JSON_H
