//===- hybrid-opt.cpp - mlir-opt for the hybrid dialect -------------------===//
//
// Runs any hybrid pass (or upstream pass) on .mlir files; out-of-tree passes
// load with --load-pass-plugin=lib.so.
//
//===----------------------------------------------------------------------===//
#include "dialects/hybrid/HybridDialect.h"
#include "compiler/Pipelines.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerTransformsPasses();
  mlir::hybrid::registerHybridPasses();
  hybridc::registerPipelines();
  mlir::DialectRegistry registry;
  registry.insert<mlir::hybrid::HybridDialect, mlir::func::FuncDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "hybrid optimizer driver\n", registry));
}
