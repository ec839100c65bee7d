//===- Status.h - Errors as values for the runtime --------------*- C++ -*-===//
//
// Library code of the runtime never aborts: every fallible call returns a
// Status (or StatusOr<T>) carrying a message and the file:line where it was
// made. Only tools' main() turn a failed Status into an exit code. The runtime
// has no MLIR/LLVM dependency, so this is our own small type.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_SUPPORT_STATUS_H
#define HYBRID_RUNTIME_SUPPORT_STATUS_H

#include <cassert>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

namespace hybrid {

class [[nodiscard]] Status {
public:
  Status() = default; // ok
  static Status error(std::string message, const char *file = "", int line = 0) {
    Status s;
    s.failed_ = true;
    s.message_ = std::move(message);
    s.where_ = file && *file ? std::string(file) + ":" + std::to_string(line) : "";
    return s;
  }
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string &message() const { return message_; }
  const std::string &where() const { return where_; }
  /// "message" plus " [file:line]" when known.
  std::string toString() const {
    if (ok())
      return "ok";
    return where_.empty() ? message_ : message_ + " [" + where_ + "]";
  }
  /// Prefixes the message with context ("loading model.hyb: ...").
  Status &context(const std::string &what) {
    if (failed_)
      message_ = what + ": " + message_;
    return *this;
  }

private:
  bool failed_ = false;
  std::string message_, where_;
};

template <typename T> class [[nodiscard]] StatusOr {
public:
  StatusOr(T value) : value_(std::move(value)) {}
  StatusOr(Status status) : status_(std::move(status)) {
    assert(!status_.ok() && "StatusOr built from an ok Status");
  }
  bool ok() const { return status_.ok(); }
  const Status &status() const { return status_; }
  T &value() { return *value_; }
  const T &value() const { return *value_; }
  T &operator*() { return *value_; }
  T *operator->() { return &*value_; }
  const T *operator->() const { return &*value_; }

private:
  Status status_;
  std::optional<T> value_;
};

/// Builds a message from streamable parts: errorf("bad dim ", d, " in ", name).
template <typename... Args> std::string strCat(const Args &...args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

} // namespace hybrid

#define HYBRID_ERROR(...) ::hybrid::Status::error(::hybrid::strCat(__VA_ARGS__), __FILE__, __LINE__)

#define HYBRID_RETURN_IF_ERROR(expr)                                           \
  do {                                                                         \
    ::hybrid::Status _st = (expr);                                             \
    if (!_st.ok())                                                             \
      return _st;                                                              \
  } while (0)

#define HYBRID_CONCAT_INNER(a, b) a##b
#define HYBRID_CONCAT(a, b) HYBRID_CONCAT_INNER(a, b)
/// HYBRID_ASSIGN_OR_RETURN(auto x, makeX()); returns the error if any.
#define HYBRID_ASSIGN_OR_RETURN(lhs, expr)                                     \
  HYBRID_ASSIGN_OR_RETURN_IMPL(HYBRID_CONCAT(_so_, __LINE__), lhs, expr)
#define HYBRID_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                           \
  auto tmp = (expr);                                                           \
  if (!tmp.ok())                                                               \
    return tmp.status();                                                       \
  lhs = std::move(tmp.value())

#endif // HYBRID_RUNTIME_SUPPORT_STATUS_H
