//===- Artifact.cpp - Load and verify a .hyb artifact ---------------------===//
#include "runtime/hyb/Artifact.h"

#include <fstream>
#include <iterator>
#include <limits>

namespace hybrid {
namespace {

/// The flatbuffers Verifier (2.0.8) checks a vector's length field but not
/// the alignment of 8-byte elements; a corrupt file could make us read an
/// int64 vector at an odd address. Every such vector is checked here first.
bool aligned(const flatbuffers::Vector<int64_t> *v) {
  return !v || v->size() == 0 ||
         reinterpret_cast<uintptr_t>(v->data()) % alignof(int64_t) == 0;
}

/// Walks every int64 vector of the artifact before anything reads one.
bool allInt64VectorsAligned(const hyb::Artifact &a) {
  if (a.weights())
    for (const hyb::Weight *w : *a.weights())
      if (!aligned(w->shape()))
        return false;
  if (a.caches())
    for (const hyb::Cache *c : *a.caches())
      if (!aligned(c->kv()) || !aligned(c->conv()) || !aligned(c->ssm()))
        return false;
  if (a.programs())
    for (const hyb::Program *p : *a.programs()) {
      if (p->values())
        for (const hyb::Value *v : *p->values())
          if (!aligned(v->trailing()))
            return false;
      if (p->instrs())
        for (const hyb::Instr *in : *p->instrs())
          if (in->attrs())
            for (const hyb::Attr *at : *in->attrs())
              if (!aligned(at->ints()) ||
                  (at->floats() && at->floats()->size() &&
                   reinterpret_cast<uintptr_t>(at->floats()->data()) % alignof(double)))
                return false;
    }
  return true;
}

bool positive(const flatbuffers::Vector<int64_t> *dims, size_t rank) {
  if (!dims || dims->size() != rank)
    return false;
  for (int64_t d : *dims)
    if (d <= 0 || d > (int64_t(1) << 40))
      return false;
  return true;
}

Status checkProgram(const hyb::Artifact &a, const hyb::Program &p, const std::string &what) {
  if (!p.name())
    return HYBRID_ERROR(what, ": a program has no name");
  std::string name = p.name()->str();
  auto err = [&](auto... parts) {
    return HYBRID_ERROR(what, ": program '", name, "': ", parts...);
  };
  if (!p.values() || !p.instrs() || !p.inputs() || !p.outputs())
    return err("missing values, instructions, inputs or outputs");
  const int64_t nValues = p.values()->size();
  const int64_t nWeights = a.weights() ? a.weights()->size() : 0;
  const int64_t nCaches = a.caches() ? a.caches()->size() : 0;
  if (p.arena_bytes_per_token() < 0 || p.arena_bytes_per_token() > (int64_t(1) << 32))
    return err("arena of ", p.arena_bytes_per_token(), " bytes per token is out of range");
  if (p.fixed_arena_bytes() < 0 || p.fixed_arena_bytes() > (int64_t(1) << 40))
    return err("fixed arena of ", p.fixed_arena_bytes(), " bytes is out of range");
  for (int64_t i = 0; i < nValues; ++i) {
    const hyb::Value *v = p.values()->Get(i);
    int64_t elems = 1;
    if (v->trailing())
      for (int64_t d : *v->trailing()) {
        if (d <= 0 || d > (int64_t(1) << 32))
          return err("value ", i, " has a non-positive or huge dim ", d);
        elems *= d;
        if (elems > (int64_t(1) << 40))
          return err("value ", i, " is too large");
      }
    switch (v->kind()) {
    case hyb::ValueKind::Weight:
      if (v->weight() < 0 || v->weight() >= nWeights)
        return err("value ", i, " names weight ", v->weight(), " of ", nWeights);
      break;
    case hyb::ValueKind::Alias:
      if (v->alias_of() < 0 || v->alias_of() >= i)
        return err("value ", i, " aliases value ", v->alias_of(), " (must be an earlier value)");
      break;
    case hyb::ValueKind::Activation:
      if (v->bytes_per_token() != 4 * elems)
        return err("value ", i, " has ", v->bytes_per_token(), " bytes per token, its shape needs ",
                   4 * elems);
      if (v->offset_per_token() < 0 ||
          v->offset_per_token() + v->bytes_per_token() > p.arena_bytes_per_token())
        return err("value ", i, " lies outside the arena (offset ", v->offset_per_token(), " + ",
                   v->bytes_per_token(), " > ", p.arena_bytes_per_token(), " bytes per token)");
      break;
    case hyb::ValueKind::Fixed:
      if (v->bytes_fixed() != 4 * elems)
        return err("value ", i, " has ", v->bytes_fixed(), " bytes, its shape needs ", 4 * elems);
      if (v->offset_fixed() < 0 || v->offset_fixed() + v->bytes_fixed() > p.fixed_arena_bytes())
        return err("value ", i, " lies outside the fixed arena");
      if (v->grad_of() < -1 || v->grad_of() >= nWeights)
        return err("value ", i, " is the gradient of weight ", v->grad_of(), " of ", nWeights);
      break;
    case hyb::ValueKind::Input:
      if (v->dtype() != hyb::DType::I32)
        return err("input value ", i, " must be int32 token ids");
      break;
    default:
      return err("value ", i, " has an unknown kind");
    }
  }
  auto inRange = [&](const flatbuffers::Vector<int32_t> *ids) {
    if (!ids)
      return true;
    for (int32_t id : *ids)
      if (id < -1 || id >= nValues)
        return false;
    return true;
  };
  if (!inRange(p.inputs()) || !inRange(p.outputs()))
    return err("program inputs or outputs name unknown values");
  for (uint32_t i = 0; i < p.instrs()->size(); ++i) {
    const hyb::Instr *in = p.instrs()->Get(i);
    if (!in->op() || !in->inputs() || !in->outputs() || in->outputs()->size() == 0)
      return err("instruction ", i, " lacks an op name, operands or results");
    if (!inRange(in->inputs()) || !inRange(in->outputs()))
      return err("instruction ", i, " ('", in->op()->str(), "') names an unknown value");
    // A backward instruction skips the gradients nobody needs (-1).
    bool grad = in->op()->size() > 5 && in->op()->str().compare(in->op()->size() - 5, 5, ".grad") == 0;
    for (int32_t o : *in->outputs()) {
      if (o < 0 && grad)
        continue;
      auto kind = o < 0 ? hyb::ValueKind::Input : p.values()->Get(o)->kind();
      if (kind != hyb::ValueKind::Activation && kind != hyb::ValueKind::Fixed)
        return err("instruction ", i, " ('", in->op()->str(), "') writes a value that is not an activation");
    }
    if (in->cache() < -1 || in->cache() >= nCaches)
      return err("instruction ", i, " ('", in->op()->str(), "') names cache ", in->cache(), " of ",
                 nCaches);
    if (in->attrs())
      for (const hyb::Attr *at : *in->attrs())
        if (!at->key())
          return err("instruction ", i, " has an attribute without a key");
  }
  return Status();
}

Status verify(const hyb::Artifact &a, const std::string &what) {
  if (!allInt64VectorsAligned(a))
    return HYBRID_ERROR(what, ": corrupt .hyb file (misaligned integer vector)");
  if (a.format_version() != kFormatVersion)
    return HYBRID_ERROR(what, ": .hyb format version ", a.format_version(),
                        ", this runtime reads version ", kFormatVersion,
                        "; recompile the model with a matching hybridc");
  const hyb::Model *m = a.model();
  if (!m || !m->name() || m->vocab() <= 0 || m->d_model() <= 0 || m->max_context() <= 0)
    return HYBRID_ERROR(what, ": model dimensions missing or not positive");
  if (!a.weights() || !a.programs())
    return HYBRID_ERROR(what, ": no weight table or no programs");
  for (uint32_t i = 0; i < a.weights()->size(); ++i) {
    const hyb::Weight *w = a.weights()->Get(i);
    if (!w->name() || !w->hf_name() || !w->shape() || w->shape()->size() == 0 ||
        !positive(w->shape(), w->shape()->size()))
      return HYBRID_ERROR(what, ": weight ", i, " has no name or a bad shape");
  }
  if (a.caches())
    for (uint32_t i = 0; i < a.caches()->size(); ++i) {
      const hyb::Cache *c = a.caches()->Get(i);
      bool ok = (!c->kv() || positive(c->kv(), 3)) && (!c->conv() || positive(c->conv(), 2)) &&
                (!c->ssm() || positive(c->ssm(), 3)) && (c->kv() || c->conv() || c->ssm());
      if (!ok)
        return HYBRID_ERROR(what, ": cache ", i, " has a bad shape");
    }
  bool prefill = false, decode = false;
  for (const hyb::Program *p : *a.programs()) {
    HYBRID_RETURN_IF_ERROR(checkProgram(a, *p, what));
    prefill |= p->name()->str() == "prefill";
    decode |= p->name()->str() == "decode";
  }
  if (!prefill || !decode)
    return HYBRID_ERROR(what, ": the prefill and decode programs are both required");
  return Status();
}

} // namespace

StatusOr<std::unique_ptr<Artifact>> Artifact::loadBuffer(std::string bytes,
                                                         const std::string &what) {
  if (bytes.size() < 8)
    return HYBRID_ERROR(what, ": too small to be a .hyb file (", bytes.size(), " bytes)");
  if (bytes.size() >= (size_t(1) << 32))
    return HYBRID_ERROR(what, ": larger than 4 GiB");
  const auto *data = reinterpret_cast<const uint8_t *>(bytes.data());
  if (!hyb::ArtifactBufferHasIdentifier(data))
    return HYBRID_ERROR(what, ": not a .hyb file (identifier is not \"HYB1\")");
  flatbuffers::Verifier verifier(data, bytes.size(), /*max_depth=*/64, /*max_tables=*/10000000);
  if (!hyb::VerifyArtifactBuffer(verifier))
    return HYBRID_ERROR(what, ": truncated or corrupt .hyb file (flatbuffers verification failed)");
  std::unique_ptr<Artifact> a(new Artifact());
  a->bytes_ = std::move(bytes);
  a->root_ = hyb::GetArtifact(a->bytes_.data());
  HYBRID_RETURN_IF_ERROR(verify(*a->root_, what));
  return a;
}

StatusOr<std::unique_ptr<Artifact>> Artifact::loadFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return HYBRID_ERROR("cannot open '", path, "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    return HYBRID_ERROR("cannot read '", path, "'");
  return loadBuffer(std::move(bytes), path);
}

const hyb::Program *Artifact::program(const std::string &name) const {
  for (const hyb::Program *p : *root_->programs())
    if (p->name() && p->name()->str() == name)
      return p;
  return nullptr;
}

} // namespace hybrid
