//===- Train.cpp - One training step of a compiled model ------------------===//
#include "runtime/exec/Train.h"

#include "runtime/exec/ProgramRunner.h"

namespace hybrid {
namespace {

StatusOr<const hyb::Program *> trainProgram(const Model &model) {
  const hyb::Program *p = model.artifact().program("train_step");
  if (!p)
    return HYBRID_ERROR("this artifact has no train_step program: compile it with "
                        "`hybridc compile --train`");
  HYBRID_RETURN_IF_ERROR(ProgramRunner::checkKernels(*p));
  return p;
}

Status checkBatch(const Model &model, const int32_t *ids, const int32_t *labels, int64_t batch,
                  int64_t seq) {
  if (batch <= 0 || seq <= 0)
    return HYBRID_ERROR("a training batch needs batch > 0 and seq > 0, got ", batch, " x ", seq);
  const int64_t vocab = model.vocab();
  for (int64_t i = 0; i < batch * seq; ++i) {
    if (ids[i] < 0 || ids[i] >= vocab)
      return HYBRID_ERROR("token id ", ids[i], " at position ", i, " is outside the vocabulary (",
                          vocab, ")");
    if (labels[i] >= vocab)
      return HYBRID_ERROR("label ", labels[i], " at position ", i,
                          " is outside the vocabulary (", vocab, ")");
  }
  return Status();
}

StatusOr<double> runStep(const Model &model, const int32_t *ids, const int32_t *labels,
                         int64_t batch, int64_t seq, Gradients *grads) {
  HYBRID_ASSIGN_OR_RETURN(const hyb::Program *p, trainProgram(model));
  HYBRID_RETURN_IF_ERROR(checkBatch(model, ids, labels, batch, seq));
  std::vector<int64_t> pos0(batch, 0);
  ProgramRun r;
  r.model = &model;
  r.program = p;
  r.batch = batch;
  r.seq = seq;
  r.inputs = {ids, labels};
  r.pos0 = pos0.data();
  r.forwardOnly = grads == nullptr;
  // One runner per thread would be the place for reuse; a step allocates its
  // arenas once, which is small next to its arithmetic.
  ProgramRunner runner;
  HYBRID_RETURN_IF_ERROR(runner.run(r));
  double loss = runner.view(p->outputs()->Get(0)).f()[0];
  if (grads) {
    const auto *ws = model.artifact().root().weights();
    grads->byWeight.resize(ws->size());
    for (uint32_t i = 0; i < ws->size(); ++i)
      grads->byWeight[i].assign(model.weight(i).size(), 0.f);
    for (uint32_t o = 1; o < p->outputs()->size(); ++o) {
      int id = p->outputs()->Get(o);
      int w = p->values()->Get(id)->grad_of();
      if (w < 0)
        continue;
      TensorRef g = runner.view(id);
      if (g.numel() != (int64_t)grads->byWeight[w].size())
        return HYBRID_ERROR("gradient of weight ", w, " has ", g.numel(), " elements, expected ",
                            grads->byWeight[w].size());
      std::copy(g.f(), g.f() + g.numel(), grads->byWeight[w].begin());
    }
  }
  return loss;
}

} // namespace

StatusOr<double> runTrainStep(const Model &model, const int32_t *ids, const int32_t *labels,
                              int64_t batch, int64_t seq, Gradients *grads) {
  if (!grads)
    return HYBRID_ERROR("runTrainStep needs a Gradients to fill");
  return runStep(model, ids, labels, batch, seq, grads);
}

StatusOr<double> evalLoss(const Model &model, const int32_t *ids, const int32_t *labels,
                          int64_t batch, int64_t seq) {
  return runStep(model, ids, labels, batch, seq, nullptr);
}

} // namespace hybrid
