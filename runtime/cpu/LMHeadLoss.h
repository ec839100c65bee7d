//===- LMHeadLoss.h - Chunked LM head + cross entropy -----------*- C++ -*-===//
//
// The training loss without the [tokens, vocab] logits: `chunk` tokens at a
// time, logits = scale * x W^T, loss = mean over labelled tokens of
// logsumexp(logits) - logits[label]. The backward recomputes each chunk's
// logits: dlogits = dloss * scale * (softmax - onehot) / count, dx = dlogits
// W, dW += dlogits^T x. Memory: one [chunk, vocab] buffer.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_CPU_LMHEADLOSS_H
#define HYBRID_RUNTIME_CPU_LMHEADLOSS_H

#include "runtime/exec/OpContext.h"

namespace hybrid {

/// x [B, L, D], w [V, D], labels [B, L] -> loss (0-d).
Status runLMHeadLoss(OpContext &ctx);
/// x, w, labels, loss, dloss -> dx, dw, (no gradient for labels).
Status runLMHeadLossGrad(OpContext &ctx);

} // namespace hybrid

#endif // HYBRID_RUNTIME_CPU_LMHEADLOSS_H
