//===- ModelSpec.cpp - Names of ModelSpec enums ---------------------------===//
#include "compiler/ModelSpec.h"

namespace hybridc {

const char *toString(MixerKind k) {
  switch (k) {
  case MixerKind::None: return "none";
  case MixerKind::Attention: return "attention";
  case MixerKind::Mamba2: return "mamba2";
  case MixerKind::Parallel: return "parallel";
  }
  return "?";
}

const char *toString(FfnKind k) {
  switch (k) {
  case FfnKind::None: return "none";
  case FfnKind::SwiGLU: return "swiglu";
  case FfnKind::ReLU2: return "relu2";
  }
  return "?";
}

const char *toString(BranchNorm k) {
  switch (k) {
  case BranchNorm::None: return "none";
  case BranchNorm::RMS: return "rms";
  case BranchNorm::Group: return "group";
  }
  return "?";
}

const char *toString(Combine k) {
  switch (k) {
  case Combine::Add: return "add";
  case Combine::Mean: return "mean";
  case Combine::Diff: return "diff";
  case Combine::Concat: return "concat";
  }
  return "?";
}

} // namespace hybridc
