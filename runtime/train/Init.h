//===- Init.h - Reference initialisation of a model's weights ---*- C++ -*-===//
//
// The inits a from-scratch training run starts from, by canonical weight
// name (compiler/Weights.cpp):
//   embed, lm_head, every linear weight        N(0, 0.02)
//   residual output projections (attn.o, mamba.out_proj, mix.out_proj,
//   ffn.down)                                  N(0, 0.02 / sqrt(2 x layers))
//                                              (GPT-2, mamba_ssm's rescale)
//   any name containing "norm"                 1
//   biases ("_bias", ".bias"), conv1d.bias     0
//   mamba.A_log                                log(U[1, 16])
//   mamba.D                                    1
//   mamba.dt_bias                              softplus^-1(dt), dt log-uniform
//                                              in [1e-3, 1e-1], floored at 1e-4
//   mamba.conv1d.weight [C, 1, K]              U(-1/sqrt(K), 1/sqrt(K))
//                                              (PyTorch's Conv1d fan-in default)
// Each tensor draws from its own generator seeded by (seed, name), so a
// tensor's values do not depend on the table's order or on other tensors.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_TRAIN_INIT_H
#define HYBRID_RUNTIME_TRAIN_INIT_H

#include <cstdint>
#include <string>
#include <vector>

namespace hybrid {

class Model;

/// The kind of init a canonical weight name gets (exposed for tests).
enum class InitKind { Normal, ResidualNormal, One, Zero, ALog, DtBias, ConvWeight };
InitKind initKindFor(const std::string &name);

/// Fills `out` (the product of `shape` elements) for weight `name` of a
/// model with `layers` blocks.
void initTensor(const std::string &name, const std::vector<int64_t> &shape, int64_t layers,
                uint64_t seed, std::vector<float> *out);

/// Every weight of `model` by its canonical name.
void initWeights(Model &model, uint64_t seed);

} // namespace hybrid

#endif // HYBRID_RUNTIME_TRAIN_INIT_H
