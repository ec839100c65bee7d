//===- HFImport.h - Hugging Face config.json -> ModelSpec -------*- C++ -*-===//
//
// Reads a transformers `config.json` of the families hybridc understands
// (llama, mamba2, bamba, nemotron_h, falcon_h1) into a ModelSpec. Every field
// that changes the computation is read; a field whose value hybridc cannot
// express (a RoPE scaling type, MoE layers, ...) is an error that names the
// field and the value, never a silent guess. HFImport.cpp documents, per
// family, how each field maps (e.g. where Falcon-H1's multipliers apply).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILER_HFIMPORT_H
#define HYBRIDC_COMPILER_HFIMPORT_H

#include "compiler/ModelSpec.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace hybridc {

/// Parses the text of a config.json. `name` becomes ModelSpec::name.
llvm::Expected<ModelSpec> importHFConfig(llvm::StringRef jsonText,
                                         llvm::StringRef name);

/// Reads DIR/config.json (or the given .json file). The model is named after
/// the directory that holds the config.
llvm::Expected<ModelSpec> importHFPath(llvm::StringRef dirOrConfigJson);

} // namespace hybridc

#endif // HYBRIDC_COMPILER_HFIMPORT_H
