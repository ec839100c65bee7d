//===- Model.cpp - An artifact with its weights ---------------------------===//
#include "runtime/exec/Executor.h"

#include "runtime/io/Safetensors.h"
#include "runtime/support/Sampling.h"

#include <cmath>

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

void Model::randomWeights(uint64_t seed) {
  Rng rng(seed);
  auto normal = [&rng]() { // Box-Muller
    double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  };
  auto endsWith = [](const std::string &s, const char *suffix) {
    size_t n = std::char_traits<char>::length(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
  };
  const auto *ws = artifact_->root().weights();
  for (uint32_t i = 0; i < ws->size(); ++i) {
    std::string name = ws->Get(i)->name()->str();
    std::vector<float> &w = weights_[i];
    if (endsWith(name, "A_log")) {
      // mamba_ssm: A uniform in [1, 16], stored as log(A).
      for (float &x : w)
        x = static_cast<float>(std::log(1.0 + 15.0 * rng.uniform()));
    } else if (endsWith(name, "dt_bias")) {
      // dt log-uniform in [1e-3, 1e-1]; dt_bias = softplus^-1(dt).
      for (float &x : w) {
        double dt = std::exp(std::log(1e-3) + rng.uniform() * (std::log(1e-1) - std::log(1e-3)));
        x = static_cast<float>(dt + std::log(-std::expm1(-dt)));
      }
    } else if (endsWith(name, ".D") || name.find("norm") != std::string::npos) {
      std::fill(w.begin(), w.end(), 1.f);
    } else if (endsWith(name, "_bias") || endsWith(name, ".bias")) {
      std::fill(w.begin(), w.end(), 0.f);
    } else {
      for (float &x : w)
        x = static_cast<float>(0.02 * normal());
    }
  }
}

} // namespace hybrid
