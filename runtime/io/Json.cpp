//===- Json.cpp - A small strict JSON parser for the runtime --------------===//
#include "runtime/io/Json.h"

#include <cmath>
#include <cstdlib>

namespace hybrid {

const JsonValue *JsonValue::get(const std::string &key) const {
  if (kind_ != Kind::Object)
    return nullptr;
  for (const auto &member : object_)
    if (member.first == key)
      return &member.second;
  return nullptr;
}

const char *JsonValue::kindName(Kind k) {
  switch (k) {
  case Kind::Null: return "null";
  case Kind::Bool: return "bool";
  case Kind::Number: return "number";
  case Kind::String: return "string";
  case Kind::Array: return "array";
  case Kind::Object: return "object";
  }
  return "?";
}

namespace {
void appendUtf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}
} // namespace

class JsonParser {
public:
  JsonParser(const char *text, size_t size) : p_(text), size_(size) {}

  Status parseDocument(JsonValue &out) {
    skipSpace();
    HYBRID_RETURN_IF_ERROR(parseValue(out, 0));
    skipSpace();
    if (pos_ != size_)
      return fail("unexpected data after the JSON value");
    return Status();
  }

private:
  const char *p_;
  size_t size_;
  size_t pos_ = 0;

  Status fail(const std::string &what) const {
    return HYBRID_ERROR("JSON error at byte ", pos_, ": ", what);
  }
  bool atEnd() const { return pos_ >= size_; }
  unsigned char peek() const { return static_cast<unsigned char>(p_[pos_]); }
  void skipSpace() {
    while (!atEnd() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
      ++pos_;
  }
  bool consumeWord(const char *word) {
    size_t i = 0;
    for (; word[i]; ++i)
      if (pos_ + i >= size_ || p_[pos_ + i] != word[i])
        return false;
    pos_ += i;
    return true;
  }

  Status parseValue(JsonValue &out, int depth) {
    if (depth > JsonValue::kMaxDepth)
      return fail(strCat("nesting deeper than ", JsonValue::kMaxDepth));
    if (atEnd())
      return fail("unexpected end of input, expected a value");
    switch (peek()) {
    case '{': return parseObject(out, depth);
    case '[': return parseArray(out, depth);
    case '"':
      out.kind_ = JsonValue::Kind::String;
      return parseString(out.string_);
    case 't':
    case 'f':
    case 'n':
      if (consumeWord("true")) {
        out.kind_ = JsonValue::Kind::Bool;
        out.bool_ = true;
      } else if (consumeWord("false")) {
        out.kind_ = JsonValue::Kind::Bool;
        out.bool_ = false;
      } else if (consumeWord("null")) {
        out.kind_ = JsonValue::Kind::Null;
      } else {
        return fail("invalid literal");
      }
      return Status();
    default:
      if (peek() == '-' || (peek() >= '0' && peek() <= '9'))
        return parseNumber(out);
      return fail(strCat("unexpected character '", static_cast<char>(peek()), "'"));
    }
  }

  Status parseObject(JsonValue &out, int depth) {
    out.kind_ = JsonValue::Kind::Object;
    ++pos_; // '{'
    skipSpace();
    if (!atEnd() && peek() == '}') {
      ++pos_;
      return Status();
    }
    while (true) {
      skipSpace();
      if (atEnd() || peek() != '"')
        return fail("expected a string key");
      std::string key;
      HYBRID_RETURN_IF_ERROR(parseString(key));
      skipSpace();
      if (atEnd() || peek() != ':')
        return fail("expected ':' after key");
      ++pos_;
      skipSpace();
      out.object_.emplace_back(std::move(key), JsonValue());
      HYBRID_RETURN_IF_ERROR(parseValue(out.object_.back().second, depth + 1));
      skipSpace();
      if (atEnd())
        return fail("unterminated object");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return Status();
      }
      return fail("expected ',' or '}' in object");
    }
  }

  Status parseArray(JsonValue &out, int depth) {
    out.kind_ = JsonValue::Kind::Array;
    ++pos_; // '['
    skipSpace();
    if (!atEnd() && peek() == ']') {
      ++pos_;
      return Status();
    }
    while (true) {
      skipSpace();
      out.array_.emplace_back();
      HYBRID_RETURN_IF_ERROR(parseValue(out.array_.back(), depth + 1));
      skipSpace();
      if (atEnd())
        return fail("unterminated array");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return Status();
      }
      return fail("expected ',' or ']' in array");
    }
  }

  Status parseHex4(uint32_t &cp) {
    if (size_ - pos_ < 4)
      return fail("truncated \\u escape");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      unsigned char c = peek();
      uint32_t d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return fail("bad hex digit in \\u escape");
      cp = cp * 16 + d;
      ++pos_;
    }
    return Status();
  }

  /// Copies one UTF-8 encoded code point, rejecting overlong forms,
  /// surrogates and values above U+10FFFF.
  Status copyUtf8(std::string &out) {
    unsigned char c = peek();
    int extra;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return fail("invalid UTF-8 in string");
    }
    if (size_ - pos_ < static_cast<size_t>(extra) + 1)
      return fail("truncated UTF-8 sequence in string");
    for (int i = 1; i <= extra; ++i) {
      unsigned char cc = static_cast<unsigned char>(p_[pos_ + i]);
      if ((cc & 0xC0) != 0x80)
        return fail("invalid UTF-8 in string");
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return fail("invalid UTF-8 in string");
    out.append(p_ + pos_, extra + 1);
    pos_ += extra + 1;
    return Status();
  }

  Status parseString(std::string &out) {
    ++pos_; // '"'
    while (true) {
      if (atEnd())
        return fail("unterminated string");
      unsigned char c = peek();
      if (c == '"') {
        ++pos_;
        return Status();
      }
      if (c < 0x20)
        return fail("control character in string");
      if (c >= 0x80) {
        HYBRID_RETURN_IF_ERROR(copyUtf8(out));
        continue;
      }
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        ++pos_;
        continue;
      }
      ++pos_;
      if (atEnd())
        return fail("unterminated escape");
      char e = static_cast<char>(peek());
      ++pos_;
      switch (e) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        uint32_t cp = 0;
        HYBRID_RETURN_IF_ERROR(parseHex4(cp));
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return fail("unpaired low surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (size_ - pos_ < 2 || p_[pos_] != '\\' || p_[pos_ + 1] != 'u')
            return fail("unpaired high surrogate in \\u escape");
          pos_ += 2;
          uint32_t lo = 0;
          HYBRID_RETURN_IF_ERROR(parseHex4(lo));
          if (lo < 0xDC00 || lo > 0xDFFF)
            return fail("bad low surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        --pos_;
        return fail(strCat("bad escape '\\", e, "'"));
      }
    }
  }

  Status parseNumber(JsonValue &out) {
    size_t start = pos_;
    bool negative = false, integral = true;
    if (peek() == '-') {
      negative = true;
      ++pos_;
    }
    auto digits = [&]() {
      size_t n = 0;
      while (!atEnd() && peek() >= '0' && peek() <= '9')
        ++pos_, ++n;
      return n;
    };
    if (atEnd() || !(peek() >= '0' && peek() <= '9'))
      return fail("expected a digit");
    if (peek() == '0') {
      ++pos_;
      if (!atEnd() && peek() >= '0' && peek() <= '9')
        return fail("leading zero in number");
    } else {
      digits();
    }
    if (!atEnd() && peek() == '.') {
      integral = false;
      ++pos_;
      if (digits() == 0)
        return fail("expected a digit after '.'");
    }
    if (!atEnd() && (peek() == 'e' || peek() == 'E')) {
      integral = false;
      ++pos_;
      if (!atEnd() && (peek() == '+' || peek() == '-'))
        ++pos_;
      if (digits() == 0)
        return fail("expected a digit in exponent");
    }
    out.kind_ = JsonValue::Kind::Number;
    std::string token(p_ + start, pos_ - start);
    // The grammar was checked above, so strtod sees a well-formed number.
    out.number_ = std::strtod(token.c_str(), nullptr);
    if (!std::isfinite(out.number_))
      return fail(strCat("number out of range: ", token));
    if (integral && !negative) {
      // Exact unsigned value; stays "not an integer" on overflow.
      uint64_t v = 0;
      bool overflow = false;
      for (char ch : token) {
        uint64_t d = static_cast<uint64_t>(ch - '0');
        if (v > (UINT64_MAX - d) / 10) {
          overflow = true;
          break;
        }
        v = v * 10 + d;
      }
      out.isU64_ = !overflow;
      out.u64_ = overflow ? 0 : v;
    }
    return Status();
  }
};

StatusOr<JsonValue> parseJson(const char *text, size_t size) {
  JsonValue value;
  JsonParser parser(text, size);
  Status st = parser.parseDocument(value);
  if (!st.ok())
    return st;
  return value;
}

std::string jsonQuote(const std::string &s) {
  static const char *hex = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (c < 0x20) {
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
      } else {
        out.push_back(ch);
      }
    }
  }
  out.push_back('"');
  return out;
}

} // namespace hybrid
