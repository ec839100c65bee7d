//===- Model.cpp - An artifact with its weights ---------------------------===//
#include "runtime/exec/Executor.h"

#include "runtime/io/Safetensors.h"
#include "runtime/train/Init.h"

namespace hybrid {

StatusOr<std::unique_ptr<Model>> Model::fromArtifact(std::unique_ptr<Artifact> artifact) {
  std::unique_ptr<Model> m(new Model());
  m->artifact_ = std::move(artifact);
  const auto *ws = m->artifact_->root().weights();
  m->weights_.resize(ws->size());
  for (uint32_t i = 0; i < ws->size(); ++i) {
    int64_t n = 1;
    for (int64_t d : *ws->Get(i)->shape())
      n *= d;
    m->weights_[i].assign(static_cast<size_t>(n), 0.f);
  }
  return m;
}

StatusOr<std::unique_ptr<Model>> Model::load(const std::string &hybPath,
                                             const std::string &weightsPath) {
  HYBRID_ASSIGN_OR_RETURN(auto artifact, Artifact::loadFile(hybPath));
  HYBRID_ASSIGN_OR_RETURN(auto model, fromArtifact(std::move(artifact)));
  HYBRID_RETURN_IF_ERROR(model->readWeights(weightsPath));
  return model;
}

StatusOr<std::unique_ptr<Model>> Model::loadWithRandomWeights(const std::string &hybPath,
                                                              uint64_t seed) {
  HYBRID_ASSIGN_OR_RETURN(auto artifact, Artifact::loadFile(hybPath));
  HYBRID_ASSIGN_OR_RETURN(auto model, fromArtifact(std::move(artifact)));
  model->randomWeights(seed);
  return model;
}

Status Model::readWeights(const std::string &weightsPath) {
  HYBRID_ASSIGN_OR_RETURN(auto file, SafetensorsFile::open(weightsPath));
  const auto *ws = artifact_->root().weights();
  std::vector<std::string> missing;
  for (uint32_t i = 0; i < ws->size(); ++i) {
    const hyb::Weight *w = ws->Get(i);
    std::string hf = w->hf_name()->str();
    if (!file->find(hf)) {
      missing.push_back(hf);
      continue;
    }
    std::vector<int64_t> shape(w->shape()->begin(), w->shape()->end());
    HYBRID_RETURN_IF_ERROR(file->readAsF32(hf, shape, weights_[i].data()));
  }
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 5; ++i)
      list += (i ? ", " : "") + missing[i];
    if (missing.size() > 5)
      list += ", ...";
    return HYBRID_ERROR(weightsPath, ": ", missing.size(), " tensor(s) of the model are missing: ",
                        list);
  }
  return Status();
}

void Model::randomWeights(uint64_t seed) { initWeights(*this, seed); }

std::vector<bool> Model::bf16StorageMask() const {
  const auto *ws = artifact_->root().weights();
  std::vector<bool> mask(ws->size(), false);
  for (const char *name : {"prefill", "decode"}) {
    const hyb::Program *p = artifact_->program(name);
    if (!p)
      continue;
    const auto *values = p->values();
    for (const hyb::Instr *in : *p->instrs()) {
      const std::string op = in->op()->str();
      if (op != "linear" && op != "lm_head" && op != "linear_group" && op != "linear_sum" &&
          op != "fused_linear" && op != "swiglu_linear" && op != "embedding")
        continue;
      for (int32_t id : *in->inputs()) {
        if (id < 0)
          continue;
        while (values->Get(id)->kind() == hyb::ValueKind::Alias)
          id = values->Get(id)->alias_of();
        const hyb::Value *v = values->Get(id);
        if (v->kind() == hyb::ValueKind::Weight && ws->Get(v->weight())->shape()->size() == 2)
          mask[v->weight()] = true;
      }
    }
  }
  return mask;
}

void Model::roundToBf16Storage() {
  std::vector<bool> mask = bf16StorageMask();
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i])
      for (float &f : weights_[i])
        f = bfloat16ToFloat(floatToBfloat16(f));
}

} // namespace hybrid
