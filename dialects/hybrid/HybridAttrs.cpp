//===- HybridAttrs.cpp - Architecture attributes --------------------------===//
//
// Parameter parsing helpers and the attribute verifiers: every dimension rule
// of a single mixer or FFN lives here; rules that need d_model live in the
// model verifier.
//
//===----------------------------------------------------------------------===//
#include "dialects/hybrid/HybridDialect.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace mlir::hybrid;

std::string mlir::hybrid::formatF64(double value) {
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  char buf[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.1f", value);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value)
      break;
  }
  std::string s(buf);
  // Keep a float look ("10000.0", "1.0e-05") so that it never reads as an int.
  if (s.find_first_of(".en") == std::string::npos)
    s += ".0";
  return s;
}

FailureOr<F64> mlir::hybrid::parseF64Param(AsmParser &parser) {
  double value = 0;
  if (succeeded(parser.parseOptionalKeyword("inf")))
    return F64(std::numeric_limits<double>::infinity());
  bool negative = succeeded(parser.parseOptionalMinus());
  if (parser.parseFloat(value))
    return failure();
  return F64(negative ? -value : value);
}

void mlir::hybrid::printF64Param(AsmPrinter &printer, F64 value) {
  printer << formatF64(value);
}

FailureOr<bool> mlir::hybrid::parseBoolParam(AsmParser &parser) {
  if (succeeded(parser.parseOptionalKeyword("true")))
    return true;
  if (succeeded(parser.parseOptionalKeyword("false")))
    return false;
  return parser.emitError(parser.getCurrentLocation(), "expected 'true' or 'false'");
}

#include "dialects/hybrid/HybridEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/hybrid/HybridAttrs.cpp.inc"

void HybridDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/hybrid/HybridAttrs.cpp.inc"
      >();
}

LogicalResult
RopeScalingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        StringRef type, F64 factor, F64 lowFreqFactor,
                        F64 highFreqFactor, int64_t originalMaxPosition) {
  if (type != "linear" && type != "llama3")
    return emitError() << "unsupported rope scaling type '" << type
                       << "' (expected linear or llama3)";
  if (!(factor > 0))
    return emitError() << "rope scaling factor must be positive";
  if (type == "llama3" && !(highFreqFactor > lowFreqFactor))
    return emitError() << "llama3 rope scaling needs high_freq_factor > low_freq_factor";
  if (originalMaxPosition <= 0)
    return emitError() << "rope scaling original_max_position must be positive";
  return success();
}

LogicalResult
AttentionAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      int64_t heads, int64_t kvHeads, int64_t headDim, bool rope,
                      F64 ropeTheta, RopeScalingAttr, int64_t ropeDim,
                      int64_t window, bool, bool) {
  if (heads <= 0 || kvHeads <= 0 || headDim <= 0)
    return emitError() << "attention heads, kv_heads and head_dim must be positive";
  if (heads % kvHeads != 0)
    return emitError() << "attention kv_heads (" << kvHeads
                       << ") must divide heads (" << heads << ")";
  if (rope && headDim % 2 != 0)
    return emitError() << "attention head_dim (" << headDim
                       << ") must be even to apply RoPE";
  if (rope && !(ropeTheta > 0))
    return emitError() << "attention rope_theta must be positive";
  if (ropeDim < 0 || ropeDim > headDim || ropeDim % 2 != 0)
    return emitError() << "attention rope_dim (" << ropeDim
                       << ") must be even and at most head_dim (" << headDim
                       << "); 0 rotates the whole head";
  if (window < 0)
    return emitError() << "attention window must be >= 0 (0: full causal)";
  return success();
}

LogicalResult
Mamba2Attr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t heads,
                   int64_t headDim, int64_t state, int64_t groups, int64_t conv,
                   int64_t chunk, int64_t expand, F64 dtMin, F64 dtMax,
                   F64 dtLimitLo, F64 dtLimitHi, bool, bool, bool,
                   bool, int64_t normGroups) {
  if (heads <= 0 || headDim <= 0 || state <= 0)
    return emitError() << "mamba2 heads, head_dim and state must be positive";
  if (groups <= 0 || heads % groups != 0)
    return emitError() << "mamba2 groups (" << groups
                       << ") must divide heads (" << heads << ")";
  if (conv <= 0)
    return emitError() << "mamba2 conv width must be positive";
  if (chunk <= 0)
    return emitError() << "mamba2 chunk must be positive";
  if (expand < 0)
    return emitError() << "mamba2 expand must be >= 0 (0: not given)";
  if (!(dtMin > 0) || !(dtMax >= dtMin))
    return emitError() << "mamba2 needs 0 < dt_min <= dt_max";
  if (!(dtLimitLo >= 0) || !(dtLimitHi > dtLimitLo))
    return emitError() << "mamba2 needs 0 <= dt_limit_lo < dt_limit_hi";
  int64_t inner = heads * headDim;
  if (normGroups < 0 || (normGroups > 0 && inner % normGroups != 0))
    return emitError() << "mamba2 norm_groups (" << normGroups
                       << ") must divide the inner width (" << inner << ")";
  return success();
}

LogicalResult FuseAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               BranchNorm, Combine combine, OutProj outProj,
                               F64, F64) {
  if (outProj == OutProj::separate && combine != Combine::add)
    return emitError() << "separate out projections are summed: combine must be add";
  return success();
}

LogicalResult ParallelAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   AttentionAttr attention, Mamba2Attr mamba,
                                   FuseAttr fuse) {
  if (!attention || !mamba || !fuse)
    return emitError() << "parallel mixer needs attention, mamba and fuse";
  int64_t attnWidth = attention.getHeads() * attention.getHeadDim();
  int64_t ssmWidth = mamba.getInner();
  if (fuse.getCombine() != Combine::concat &&
      fuse.getOutProj() == OutProj::shared && attnWidth != ssmWidth)
    return emitError() << "parallel branches must have equal widths to "
                       << stringifyCombine(fuse.getCombine())
                       << " them: attention " << attention.getHeads() << " x "
                       << attention.getHeadDim() << " = " << attnWidth
                       << ", mamba2 " << mamba.getHeads() << " x "
                       << mamba.getHeadDim() << " = " << ssmWidth;
  return success();
}

LogicalResult FfnAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                              FfnKind, int64_t hidden, bool) {
  if (hidden <= 0)
    return emitError() << "ffn hidden width must be positive";
  return success();
}
