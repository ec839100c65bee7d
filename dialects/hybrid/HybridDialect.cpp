//===- HybridDialect.cpp - Dialect registration ---------------------------===//
#include "dialects/hybrid/HybridDialect.h"

using namespace mlir;
using namespace mlir::hybrid;

#include "dialects/hybrid/HybridDialect.cpp.inc"

void HybridDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "dialects/hybrid/HybridOps.cpp.inc"
      >();
}
