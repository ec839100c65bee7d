//===- Weights.h - The weight table of a model ------------------*- C++ -*-===//
//
// One place that knows which tensors a ModelSpec has: our canonical name,
// shape, and the Hugging Face tensor name of the model's family. The decompose
// pass, `hybridc report` (parameter count) and the artifact's weight table all
// read this list, so they can never disagree. For imported models the list
// equals the tensors of the family's safetensors file, one for one (tested on
// fixtures made with transformers).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILER_WEIGHTS_H
#define HYBRIDC_COMPILER_WEIGHTS_H

#include "compiler/ModelSpec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybridc {

struct WeightInfo {
  std::string name;          // canonical: "embed", "layers.3.attn.q", ...
  std::vector<int64_t> shape;
  std::string hfName;        // the family's HF tensor name
  int layer = -1;            // block index, -1 for model-level tensors
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

/// Every tensor of the model, in a stable order (embedding, blocks in order,
/// final norm, head). Tied embeddings produce no separate head tensor.
std::vector<WeightInfo> listWeights(const ModelSpec &spec);

/// Sum of numel() over listWeights(spec).
int64_t countParams(const ModelSpec &spec);

} // namespace hybridc

#endif // HYBRIDC_COMPILER_WEIGHTS_H
