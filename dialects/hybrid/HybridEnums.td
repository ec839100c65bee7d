//===- HybridEnums.td - Enums of the hybrid dialect --------*- tablegen -*-===//
#ifndef HYBRID_ENUMS
#define HYBRID_ENUMS

include "mlir/IR/EnumAttr.td"

def Hybrid_BranchNorm : I32EnumAttr<"BranchNorm",
    "normalisation of each parallel branch's output", [
      I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"rms", 1>,
      I32EnumAttrCase<"group", 2>]> {
  let cppNamespace = "::mlir::hybrid";
  let genSpecializedAttr = 0;
}

def Hybrid_Combine : I32EnumAttr<"Combine",
    "how the two branches of a parallel mixer are combined", [
      I32EnumAttrCase<"add", 0>, I32EnumAttrCase<"mean", 1>,
      I32EnumAttrCase<"diff", 2>, I32EnumAttrCase<"concat", 3>]> {
  let cppNamespace = "::mlir::hybrid";
  let genSpecializedAttr = 0;
}

def Hybrid_OutProj : I32EnumAttr<"OutProj",
    "out projections of a parallel mixer", [
      I32EnumAttrCase<"shared", 0>, I32EnumAttrCase<"separate", 1>]> {
  let cppNamespace = "::mlir::hybrid";
  let genSpecializedAttr = 0;
}

def Hybrid_FfnKind : I32EnumAttr<"FfnKind", "feed-forward network kind", [
      I32EnumAttrCase<"swiglu", 0>, I32EnumAttrCase<"relu2", 1>]> {
  let cppNamespace = "::mlir::hybrid";
  let genSpecializedAttr = 0;
}

def Hybrid_Objective : I32EnumAttr<"Objective",
    "what --hybrid-select-layout optimises", [
      I32EnumAttrCase<"quality", 0>, I32EnumAttrCase<"throughput", 1>,
      I32EnumAttrCase<"memory", 2>]> {
  let cppNamespace = "::mlir::hybrid";
  let genSpecializedAttr = 0;
}

def Hybrid_Layout : I32EnumAttr<"Layout", "hybrid layout to consider", [
      I32EnumAttrCase<"any", 0>, I32EnumAttrCase<"inter", 1>,
      I32EnumAttrCase<"intra", 2>]> {
  let cppNamespace = "::mlir::hybrid";
  let genSpecializedAttr = 0;
}

#endif // HYBRID_ENUMS
