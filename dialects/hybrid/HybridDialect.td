//===- HybridDialect.td - The hybrid dialect ---------------*- tablegen -*-===//
#ifndef HYBRID_DIALECT
#define HYBRID_DIALECT

include "mlir/IR/OpBase.td"

def Hybrid_Dialect : Dialect {
  let name = "hybrid";
  let cppNamespace = "::mlir::hybrid";
  let summary = "Hybrid attention + Mamba-2 language models";
  let description = [{
    Two levels in one dialect. The architecture level describes a model as
    `hybrid.model` holding `hybrid.block`s (a sequence mixer: attention,
    mamba2 or a parallel pair; and an FFN), compact `hybrid.pattern` repeats
    and a layout-agnostic `hybrid.auto` form. The tensor level holds the ops of
    the computation (rmsnorm, linear, conv1d_causal, ssd_scan, attention,
    rope, ...) on ranked tensors whose batch and sequence dims are dynamic;
    `--hybrid-decompose` lowers the first level into the second.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::func::FuncDialect"];
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class Hybrid_Op<string mnemonic, list<Trait> traits = []>
    : Op<Hybrid_Dialect, mnemonic, traits>;

#endif // HYBRID_DIALECT
