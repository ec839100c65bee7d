//===- Artifact.h - Load and verify a .hyb artifact -------------*- C++ -*-===//
//
// A .hyb file is the FlatBuffer of runtime/hyb/hyb.fbs (identifier "HYB1").
// Loading checks, in order, and reports the first failure clearly:
//   1. size: at least 8 bytes, at most 4 GiB;
//   2. identifier "HYB1" (else: not a .hyb file);
//   3. the flatbuffers Verifier (else: truncated or corrupt);
//   4. format_version == kFormatVersion (else: names both versions);
//   5. semantics: model dims positive; weight shapes positive; cache shapes
//      of rank 3 / 2 / 3; programs "prefill" and "decode" present; every value
//      id, weight index, alias and cache index in range; activations sized
//      bytes_per_token = 4 x prod(trailing) and inside the arena; no op
//      without a kernel on the chosen backend (checked by the executor).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_HYB_ARTIFACT_H
#define HYBRID_RUNTIME_HYB_ARTIFACT_H

#include "runtime/hyb/Version.h"
#include "runtime/hyb/hyb_generated.h"
#include "runtime/support/Status.h"

#include <memory>
#include <string>

namespace hybrid {

class Artifact {
public:
  static StatusOr<std::unique_ptr<Artifact>> loadFile(const std::string &path);
  /// `what` names the source in messages.
  static StatusOr<std::unique_ptr<Artifact>> loadBuffer(std::string bytes,
                                                        const std::string &what);

  const hyb::Artifact &root() const { return *root_; }
  const hyb::Model &model() const { return *root_->model(); }
  /// The program called `name`, or null.
  const hyb::Program *program(const std::string &name) const;
  const std::string &bytes() const { return bytes_; }

private:
  Artifact() = default;
  std::string bytes_;
  const hyb::Artifact *root_ = nullptr;
};

} // namespace hybrid

#endif // HYBRID_RUNTIME_HYB_ARTIFACT_H
