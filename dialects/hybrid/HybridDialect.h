//===- HybridDialect.h - The hybrid dialect ---------------------*- C++ -*-===//
#ifndef HYBRIDC_DIALECTS_HYBRID_HYBRIDDIALECT_H
#define HYBRIDC_DIALECTS_HYBRID_HYBRIDDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/RegionKindInterface.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/ADT/Hashing.h"

#include <cstring>
#include <limits>

namespace mlir::hybrid {
/// A double attribute parameter (the uniquer needs a hash_value found by ADL).
struct F64 {
  double value = 0;
  F64() = default;
  F64(double v) : value(v) {}
  operator double() const { return value; }
};
inline llvm::hash_code hash_value(F64 f) {
  uint64_t bits;
  static_assert(sizeof bits == sizeof f.value);
  std::memcpy(&bits, &f.value, sizeof bits);
  return llvm::hash_value(bits);
}
// Attribute parameter helpers used by the generated parsers/printers.
FailureOr<F64> parseF64Param(AsmParser &parser);
void printF64Param(AsmPrinter &printer, F64 value);
FailureOr<bool> parseBoolParam(AsmParser &parser);
/// Shortest decimal form of `value` that reads back to the same double.
std::string formatF64(double value);
} // namespace mlir::hybrid

#include "dialects/hybrid/HybridDialect.h.inc"
#include "dialects/hybrid/HybridEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/hybrid/HybridAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/hybrid/HybridOps.h.inc"

#endif // HYBRIDC_DIALECTS_HYBRID_HYBRIDDIALECT_H
