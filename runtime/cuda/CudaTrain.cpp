//===- CudaTrain.cpp - train_step and AdamW on the GPU --------------------===//
//
// The training half of the CUDA executor: runs the artifact's train_step
// program (forward ops through CudaSession::launchOp, backward ops and the
// loss through launchTrainOp below), accumulates the weight gradients over
// micro-batches and applies AdamW on the device (codegen/kernels/optim.cuh),
// so the host only sees the loss unless it asks for more.
//
// Precision: forward values as in prefill (bf16 activations, fp32 residual
// stream and Mamba inputs; ProgramView); every gradient fp32; GEMMs take
// bf16 operands (fp32 gradients are copied to bf16 for them) and accumulate
// in fp32; weight gradients, master weights and moments are fp32.
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda/CudaSessionImpl.h"

#include "runtime/io/Safetensors.h"
#include "runtime/support/FileUtil.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

namespace hybrid {
namespace cudart {

namespace {
int64_t align256(int64_t n) { return (n + 255) / 256 * 256; }

/// Rows of logits per chunk of the fused LM head + cross entropy: large
/// GEMMs, without the whole batch's logits (4096 x 32000 x 6 bytes = 786 MB).
int64_t lossChunkRows(int64_t T) { return std::min<int64_t>(T, 4096); }

/// Sub-buffers of the scratch buffer, 256-byte aligned, in order.
struct Bump {
  CUdeviceptr base;
  int64_t used = 0;
  CUdeviceptr take(int64_t bytes) {
    CUdeviceptr p = base + used;
    used += align256(bytes);
    return p;
  }
};
} // namespace

Status CudaSession::initTrain() {
  if (train_)
    return Status();
  const hyb::Artifact &a = model_.artifact().root();
  const hyb::Program *p = model_.artifact().program("train_step");
  if (!p)
    return HYBRID_ERROR("the artifact has no train_step program: compile it with "
                        "`hybridc compile --train --target cuda`");
  trainView_ = std::make_unique<ProgramView>(a, *p);
  HYBRID_RETURN_IF_ERROR(loadKernels(*p, *trainView_));
  for (const KernelInst &k : kn::optimizer()) {
    CUfunction f;
    CUresult r = cuModuleGetFunction(&f, module_, k.name.c_str());
    if (r == CUDA_ERROR_NOT_FOUND)
      return HYBRID_ERROR("the optimizer kernel '", k.name, "' is not in the artifact's fatbin: "
                          "recompile with `hybridc compile --train --target cuda`");
    HYB_CUDA(r);
    fns_[k.name] = f;
  }
  for (auto &[name, f] : fns_) {
    int n = 0, ps = 0;
    int bytes = 0;
    if (std::sscanf(name.c_str(), "hyb_ssd_chunk_train_n%d_p%d", &n, &ps) == 2)
      bytes = ::hyb::ssdChunkSmemBytes(n, ps);
    else if (std::sscanf(name.c_str(), "hyb_ssd_bwd_state_n%d_p%d", &n, &ps) == 2)
      bytes = ::hyb::ssdChunkBwdSmemBytes(0, n, 32);
    else if (std::sscanf(name.c_str(), "hyb_ssd_bwd_chunk_n%d_p%d", &n, &ps) == 2)
      bytes = ::hyb::ssdChunkBwdSmemBytes(1, n, ps, 2);
    else if (std::sscanf(name.c_str(), "hyb_ssd_bwd_chunk1_n%d_p%d", &n, &ps) == 2)
      bytes = ::hyb::ssdChunkBwdSmemBytes(1, n, ps, 1);
    else if (std::sscanf(name.c_str(), "hyb_ssd_bwd_simple_n%d_p%d", &n, &ps) == 2)
      bytes = ::hyb::ssdChunkBwdSimpleSmemBytes(n, ps);
    else if (std::sscanf(name.c_str(), "hyb_attn_bwd_dkdv_mma_%d", &n) == 1)
      bytes = ::hyb::attnBwdDkdvSmemBytes(n);
    else if (std::sscanf(name.c_str(), "hyb_attn_bwd_dq_mma_%d", &n) == 1)
      bytes = ::hyb::attnBwdDqSmemBytes(n);
    if (bytes > 48 * 1024 && bytes <= dev_->smemOptin)
      HYB_CUDA(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes));
  }
  // fp32 masters of the weights the GEMMs read in bf16 (the others are fp32
  // already and are updated in place).
  master_.clear();
  master_.resize(weights_.size());
  for (size_t i = 0; i < weights_.size(); ++i)
    if (weightBf16_[i]) {
      const std::vector<float> &w = model_.weight((int)i);
      HYBRID_RETURN_IF_ERROR(master_[i].alloc(w.size() * 4));
      HYB_CUDA(cuMemcpyHtoD(master_[i].p, w.data(), w.size() * 4));
    }
  HYBRID_RETURN_IF_ERROR(zeroPos_.alloc(16));
  HYB_CUDA(cuMemsetD8(zeroPos_.p, 0, 16));
  const int64_t fixed = std::max<int64_t>(p->fixed_arena_bytes(), 4);
  HYBRID_RETURN_IF_ERROR(trainWs_.fixed.alloc(fixed));
  HYBRID_RETURN_IF_ERROR(gradAcc_.alloc(fixed));
  HYBRID_RETURN_IF_ERROR(momentM_.alloc(fixed));
  HYBRID_RETURN_IF_ERROR(momentV_.alloc(fixed));
  HYB_CUDA(cuMemsetD8(momentM_.p, 0, fixed));
  HYB_CUDA(cuMemsetD8(momentV_.p, 0, fixed));
  train_ = p;
  return Status();
}

double CudaSession::trainDeviceBytes() const {
  double b = weightBytes_;
  for (const DevBuf &m : master_)
    b += (double)m.bytes;
  b += (double)trainWs_.fixed.bytes + gradAcc_.bytes + momentM_.bytes + momentV_.bytes;
  b += (double)trainWs_.arena.bytes + trainWs_.scratch.bytes;
  for (const auto &[id, sv] : saved_)
    for (const DevBuf *d : {&sv.act, &sv.y, &sv.dt, &sv.states, &sv.q, &sv.k, &sv.lse, &sv.g, &sv.u})
      b += (double)d->bytes;
  return b;
}

int64_t CudaSession::trainScratchBytes(int64_t B, int64_t L) const {
  const ProgramView &pv = *trainView_;
  const int64_t T = B * L;
  int64_t best = scratchPerToken(*train_, pv) * T + kScratchSlack;
  for (const hyb::Instr *in : *train_->instrs()) {
    const std::string op = in->op()->str();
    InstrAttrs at{*in};
    auto in0 = [&](size_t i) { return in->inputs()->Get(i); };
    int64_t need = 0;
    if (op == "rope_attention") {  // rotated q and k, bf16
      need = align256(T * pv.numelTrailing(in0(0)) * 2) + align256(T * pv.numelTrailing(in0(1)) * 2);
    } else if (op == "linear.grad" || op == "linear_sum.grad") {
      // bf16 copy of dy
      need = align256(T * pv.numelTrailing(in->inputs()->Get(in->inputs()->size() - 1)) * 2);
    } else if (op == "mamba2_core.grad") {
      const int64_t H = at.i("heads", 0), P = at.i("head_dim", 0), N = at.i("state", 0);
      const int64_t inner = H * P, gn = at.i("groups", 1) * N, convDim = inner + 2 * gn;
      const int64_t nChunks = (L + ::hyb::ssdChunkLen - 1) / ::hyb::ssdChunkLen;
      const int64_t K = pv.shape(in->inputs()->Get(in->outputs()->size() - 6)).back();
      need = align256(T * convDim * 4) * 2          // act, dact
             + align256(T * inner * 4) * 3          // y, dy, dx
             + align256(T * H * 4) * 2              // dt, ddt
             + align256(B * H * nChunks * P * N * 4) * 2  // chunk states, their gradients
             + align256(2 * H * B * nChunks * 4)
             + align256(std::max<int64_t>(1024 * inner, 2048 * H) * 4)  // norm / dt partials
             + align256((int64_t)::hyb::convBwdPartials((int)B, (int)L) * convDim * (K + 1) * 4)
             + align256(4 * H * 4) + align256(4 * N * 4);
    } else if (op == "rope_attention.grad") {
      const int64_t q = pv.numelTrailing(in0(0)), k = pv.numelTrailing(in0(1));
      const int64_t hq = pv.shape(in0(0))[0];
      need = align256(T * q * 2) * 3 + align256(T * k * 2) + align256(T * hq * 4) +
             align256(T * hq * 8) + align256(T * q * 4) + align256(T * k * 4) * 2;
    } else if (op == "rmsnorm.grad" || op == "add_rmsnorm.grad" || op == "branch_combine.grad") {
      need = align256(4 * dev_->sms * 1024 * 4) * 2;  // per-block partial rows
    } else if (op == "swiglu_linear.grad") {
      need = align256(T * pv.shape(in0(1))[0] * 2) * 4;  // g, u, dg, du (bf16)
    } else if (op == "embedding.grad") {
      const int64_t V = pv.shape(in0(0))[0], D = pv.shape(in0(0))[1];
      need = align256((V + 1) * 4) + 2 * align256(T * 4) +
             align256(2 * ((T + ::hyb::embBwdChunk - 1) / ::hyb::embBwdChunk) * D * 4);
    } else if (op == "lm_head_loss" || op == "lm_head_loss.grad") {
      const int64_t V = pv.shape(in0(1))[0];
      need = align256(lossChunkRows(T) * V * 6) + align256(T * 4) + 256;
    } else if (op == "linear_group.grad") {
      int64_t widest = 0;
      for (size_t i = 1; i < in->outputs()->size(); ++i)
        widest = std::max(widest, pv.shape(in0(i))[0]);
      need = align256(T * widest * 2);
    }
    best = std::max(best, need + kScratchSlack);
  }
  return best;
}

Status CudaSession::castRows(CUdeviceptr src, int64_t lds, CUdeviceptr dst, int64_t ldd,
                             int64_t rows, int64_t width, bool toBf16) {
  // Four elements a thread where the rows and pointers allow it.
  const bool v4 = width % 4 == 0 && lds % 4 == 0 && ldd % 4 == 0 && src % 16 == 0 &&
                  dst % (toBf16 ? 8 : 16) == 0;
  const int vec = v4 ? 4 : 1;
  ::hyb::RowsCastArgs a{reinterpret_cast<const float *>(src), reinterpret_cast<void *>(dst),
                        (int)rows, (int)width, (int)lds, (int)ldd};
  return launch(kn::rowsCast(vec, toBf16),
                (unsigned)::hyb::rowsElemBlocks(rows * width / vec, dev_->sms), 1, 1, 0, &a);
}

Status CudaSession::f32Axpy(CUdeviceptr a, CUdeviceptr b, CUdeviceptr out, int64_t n, float f) {
  const bool v4 = n % 4 == 0 && a % 16 == 0 && b % 16 == 0 && out % 16 == 0;
  const int vec = v4 ? 4 : 1;
  ::hyb::RowsF32Args args{reinterpret_cast<const float *>(a), reinterpret_cast<const float *>(b),
                          reinterpret_cast<float *>(out), nullptr, n, f};
  return launch(b ? kn::f32Add(vec) : kn::f32Scale(vec),
                (unsigned)::hyb::rowsElemBlocks(n / vec, dev_->sms), 1, 1, 0, &args);
}

Status CudaSession::gemmEx(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
                           CUdeviceptr A, int64_t lda, CUdeviceptr B, int64_t ldb, CUdeviceptr C,
                           int64_t ldc, float alpha, float beta, bool cF32) {
  auto al = [](CUdeviceptr p, int64_t ld, int es) {
    int a = 256;
    while (a > 2 && ((uint64_t)p % a || (ld * es) % a))
      a /= 2;
    return a;
  };
  const int alA = al(A, lda, 2), alB = al(B, ldb, 2), alC = al(C, ldc, cF32 ? 4 : 2);
  auto key = std::make_tuple((int)transA | (transB ? 2 : 0) | (cF32 ? 4 : 0) | (beta != 0 ? 8 : 0),
                             alA * 1024 + alB, m, n, k, lda, ldb, ldc, alC, 0);
  auto it = gemmExCache_.find(key);
  if (it == gemmExCache_.end()) {
    HYBRID_ASSIGN_OR_RETURN(Gemm g,
                            makeGemm(transA, transB, m, n, k, lda, ldb, ldc, cF32, alA, alB, alC));
    it = gemmExCache_.emplace(key, std::make_tuple(g)).first;
  }
  Gemm &g = std::get<0>(it->second);
  HYB_CUDA(cublasLtMatmul(lt_, g.desc, &alpha, (const void *)A, g.a, (const void *)B, g.b, &beta,
                          (const void *)C, g.c, (void *)C, g.c, &g.algo, (void *)gemmWs_.p,
                          gemmWs_.bytes, stream_));
  pdlNext_ = false;
  return Status();
}

CudaSession::SavedForward *CudaSession::savedFor(const ProgramView &pv, int id) {
  if (!saveForward_ || !pv.training() || id < 0)
    return nullptr;
  auto it = saved_.find(pv.root(id));
  return it == saved_.end() ? nullptr : &it->second;
}

/// Keep the forward state of every mamba2_core and rope_attention when it
/// fits beside the arena with 4 GB to spare (HYBRIDC_CUDA_RECOMPUTE=1: never):
/// their backward then skips recomputing the scan and the attention forward.
Status CudaSession::planSavedForward(int64_t B, int64_t L) {
  if (savedTokens_ == B * L)
    return Status();
  saved_.clear();
  saveForward_ = false;
  savedTokens_ = B * L;
  if (envOn("HYBRIDC_CUDA_RECOMPUTE", false))
    return Status();
  const ProgramView &pv = *trainView_;
  const int64_t T = B * L, nChunks = (L + ::hyb::ssdChunkLen - 1) / ::hyb::ssdChunkLen;
  struct Need {
    int id;
    bool mamba;
    int64_t act, y, dt, states, q, k, lse, g, u;
    int tier;  // 0: the scan and attention state (larger savings a byte), 1: SwiGLU's GEMMs
  };
  std::vector<Need> needs;
  int64_t total[2] = {0, 0};
  for (const hyb::Instr *in : *train_->instrs()) {
    const std::string op = in->op()->str();
    InstrAttrs at{*in};
    Need n{pv.root(in->outputs()->Get(0)), op == "mamba2_core", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    if (op == "mamba2_core") {
      const int64_t H = at.i("heads", 0), P = at.i("head_dim", 0), N = at.i("state", 0);
      const int64_t inner = H * P, convDim = inner + 2 * at.i("groups", 1) * N;
      n.act = T * convDim * 4, n.y = T * inner * 4, n.dt = T * H * 4;
      n.states = B * H * nChunks * P * N * 4;
    } else if (op == "rope_attention") {
      const int64_t hq = pv.shape(in->inputs()->Get(0))[0];
      n.q = T * pv.numelTrailing(in->inputs()->Get(0)) * 2;
      n.k = T * pv.numelTrailing(in->inputs()->Get(1)) * 2;
      n.lse = T * hq * 4;
    } else if (op == "swiglu_linear" && in->inputs()->size() == 3) {
      n.g = n.u = T * pv.shape(in->inputs()->Get(1))[0] * 2;
      n.tier = 1;
    } else {
      continue;
    }
    total[n.tier] += n.act + n.y + n.dt + n.states + n.q + n.k + n.lse + n.g + n.u;
    needs.push_back(n);
  }
  size_t freeB = 0, totalB = 0;
  HYB_CUDA(cuMemGetInfo(&freeB, &totalB));
  int tiers = 0;  // how many tiers fit beside the arena with 4 GB to spare
  if ((double)total[0] + 4e9 <= (double)freeB)
    tiers = (double)total[0] + total[1] + 4e9 <= (double)freeB ? 2 : 1;
  if (needs.empty() || tiers == 0)
    return Status();
  for (const Need &n : needs) {
    if (n.tier >= tiers)
      continue;
    SavedForward &sv = saved_[n.id];
    if (n.g) {
      HYBRID_RETURN_IF_ERROR(sv.g.alloc(n.g));
      HYBRID_RETURN_IF_ERROR(sv.u.alloc(n.u));
      continue;
    }
    if (n.mamba) {
      HYBRID_RETURN_IF_ERROR(sv.act.alloc(n.act));
      HYBRID_RETURN_IF_ERROR(sv.y.alloc(n.y));
      HYBRID_RETURN_IF_ERROR(sv.dt.alloc(n.dt));
      HYBRID_RETURN_IF_ERROR(sv.states.alloc(n.states));
    } else {
      HYBRID_RETURN_IF_ERROR(sv.q.alloc(n.q));
      HYBRID_RETURN_IF_ERROR(sv.k.alloc(n.k));
      HYBRID_RETURN_IF_ERROR(sv.lse.alloc(n.lse));
    }
  }
  saveForward_ = true;
  return Status();
}

StatusOr<double> CudaSession::trainStep(const int32_t *ids, const int32_t *labels, int64_t seq,
                                        bool backward, bool accumulate) {
  HYBRID_RETURN_IF_ERROR(initTrain());
  if (seq <= 0)
    return HYBRID_ERROR("a training batch needs at least one token per sequence");
  const int64_t B = batch_, T = B * seq, V = model_.vocab();
  for (int64_t t = 0; t < T; ++t) {
    if (ids[t] < 0 || ids[t] >= V)
      return HYBRID_ERROR("token id ", ids[t], " at position ", t,
                          " is outside the vocabulary [0, ", V, ")");
    if (labels[t] >= V)
      return HYBRID_ERROR("label ", labels[t], " at position ", t,
                          " is outside the vocabulary [0, ", V, ")");
  }
  Workspace &ws = trainWs_;
  HYBRID_RETURN_IF_ERROR(ws.arena.alloc(train_->arena_bytes_per_token() * T));
  HYBRID_RETURN_IF_ERROR(ws.scratch.alloc(trainScratchBytes(B, seq)));
  HYBRID_RETURN_IF_ERROR(ws.ids.alloc(T * 4));
  HYBRID_RETURN_IF_ERROR(ws.labels.alloc(T * 4));
  ws.tokens = T;
  HYBRID_RETURN_IF_ERROR(planSavedForward(B, seq));
  if (backward && accumulate && accumulated_ > 0 && gradsInFixed_) {
    HYB_CUDA(cuMemcpyDtoDAsync(gradAcc_.p, ws.fixed.p, train_->fixed_arena_bytes(), stream_));
    gradsInFixed_ = false;
  }
  HYB_CUDA(cuMemcpyHtoDAsync(ws.ids.p, ids, T * 4, stream_));
  HYB_CUDA(cuMemcpyHtoDAsync(ws.labels.p, labels, T * 4, stream_));
  pdlProgram_ = pdlNext_ = false;
  int index = -1;
  const std::string dump = valueDumpDir();
  // HYBRIDC_CUDA_PROFILE_OPS=1: time every instruction with events and print
  // the step's milliseconds by op to stderr (the events serialize nothing).
  const bool profile = envOn("HYBRIDC_CUDA_PROFILE_OPS", false);
  std::vector<CUevent> marks;
  auto mark = [&]() -> Status {
    CUevent e;
    HYB_CUDA(cuEventCreate(&e, CU_EVENT_DEFAULT));
    HYB_CUDA(cuEventRecord(e, stream_));
    marks.push_back(e);
    return Status();
  };
  if (profile)
    HYBRID_RETURN_IF_ERROR(mark());
  std::vector<std::string> names;
  for (const hyb::Instr *in : *train_->instrs()) {
    ++index;
    if (!backward && trainView_->isBackward(*in))
      break;
    Status s = launchOp(*train_, *trainView_, *in, seq, ws);
    if (!s.ok())
      return s.context("train_step op '" + in->op()->str() + "'");
    if (profile) {
      HYBRID_RETURN_IF_ERROR(mark());
      names.push_back(in->op()->str());
    }
    if (!dump.empty())
      HYBRID_RETURN_IF_ERROR(dumpOutputs(*trainView_, *in, index, seq, ws, dump));
  }
  if (profile) {
    HYB_CUDA(cuStreamSynchronize(stream_));
    std::map<std::string, std::pair<double, int>> byOp;
    double total = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      float ms = 0;
      HYB_CUDA(cuEventElapsedTime(&ms, marks[i], marks[i + 1]));
      byOp[names[i]].first += ms, byOp[names[i]].second++, total += ms;
    }
    for (CUevent e : marks)
      cuEventDestroy(e);
    std::vector<std::pair<double, std::string>> rows;
    for (auto &[n, v] : byOp)
      rows.push_back({v.first, n + " x" + std::to_string(v.second)});
    std::sort(rows.rbegin(), rows.rend());
    std::fprintf(stderr, "train_step by op (%.2f ms):\n", total);
    for (auto &[ms, n] : rows)
      std::fprintf(stderr, "  %9.3f ms  %5.1f%%  %s\n", ms, 100 * ms / total, n.c_str());
  }
  const int64_t fixed = train_->fixed_arena_bytes();
  if (backward) {
    // One micro-batch: the gradients stay in the fixed arena. More: summed in
    // gradAcc_ (the first copied there before the second overwrote it).
    if (!accumulate || accumulated_ == 0) {
      gradsInFixed_ = true;
      accumulated_ = 1;
    } else {
      HYBRID_RETURN_IF_ERROR(f32Axpy(ws.fixed.p, gradAcc_.p, gradAcc_.p, fixed / 4));
      ++accumulated_;
    }
  }
  const int lossId = train_->outputs()->Get(0);
  const hyb::Value *lv = trainView_->val(trainView_->root(lossId));
  float loss = 0;
  HYB_CUDA(cuMemcpyDtoHAsync(&loss, ws.fixed.p + lv->offset_fixed(), 4, stream_));
  HYB_CUDA(cuStreamSynchronize(stream_));
  return (double)loss;
}

namespace {
/// Each weight's gradient in the fixed arena (program outputs 1..).
struct GradSlot {
  int weight;
  int64_t offset, n;
};
std::vector<GradSlot> gradSlots(const hyb::Program &p, const ProgramView &pv, size_t numWeights) {
  std::vector<GradSlot> out;
  for (size_t o = 1; o < p.outputs()->size(); ++o) {
    const int id = p.outputs()->Get(o);
    const hyb::Value *v = pv.val(pv.root(id));
    int w = pv.val(id)->grad_of() >= 0 ? pv.val(id)->grad_of() : v->grad_of();
    if (w < 0 || w >= (int)numWeights || v->kind() != hyb::ValueKind::Fixed)
      continue;
    out.push_back({w, v->offset_fixed(), v->bytes_fixed() / 4});
  }
  return out;
}
} // namespace

Status CudaSession::downloadGradients(std::vector<std::vector<float>> *grads) {
  if (!train_ || accumulated_ == 0)
    return HYBRID_ERROR("no gradients: run a training step first");
  HYB_CUDA(cuStreamSynchronize(stream_));
  grads->assign(weights_.size(), {});
  const float inv = 1.f / (float)accumulated_;
  for (const GradSlot &slot : gradSlots(*train_, *trainView_, weights_.size())) {
    std::vector<float> &g = (*grads)[slot.weight];
    g.resize(model_.weight(slot.weight).size());
    HYB_CUDA(cuMemcpyDtoH(g.data(), gradSource() + slot.offset, g.size() * 4));
    if (accumulated_ > 1)
      for (float &x : g)
        x *= inv;
  }
  return Status();
}

Status CudaSession::launchTrainOp(const hyb::Program &p, const ProgramView &pv,
                                  const hyb::Instr &in, int64_t seq, Workspace &ws) {
  const std::string op = in.op()->str();
  InstrAttrs at{in};
  const int64_t B = batch_, L = seq, T = B * L;
  const int nIn = (int)in.inputs()->size(), nOut = (int)in.outputs()->size();
  auto ref = [&](int id) { return refOf(p, pv, id, ws, B, L); };
  auto inRef = [&](int i) { return ref(i < nIn ? in.inputs()->Get(i) : -1); };
  auto outRef = [&](int i) { return ref(i < nOut ? in.outputs()->Get(i) : -1); };
  auto f32p = [](CUdeviceptr d) { return reinterpret_cast<float *>(d); };
  Bump scratch{ws.scratch.p};
  auto zero = [&](const Ref &r) -> Status {
    if (r.p)
      HYB_CUDA(cuMemsetD32Async(r.p, 0, r.numel(), stream_));
    pdlNext_ = false;
    return Status();
  };
  // The bf16 copy of a gradient [T, N] (a GEMM operand).
  auto bf16Copy = [&](const Ref &g) -> StatusOr<CUdeviceptr> {
    CUdeviceptr d = scratch.take(g.numel() * 2);
    HYBRID_RETURN_IF_ERROR(castRows(g.p, g.last(), d, g.last(), g.rows(), g.last(), true));
    return d;
  };
  // out_i = s (x W^T): dx (+)= s dy W, dW = s dy^T x (x and W bf16).
  auto linearBack = [&](const Ref &x, const Ref &w, CUdeviceptr dyBf, float s, const Ref &dx,
                        bool accumulateDx, const Ref &dw) -> Status {
    const int64_t K = w.shape[1], N = w.shape[0];
    if (dx.p)
      HYBRID_RETURN_IF_ERROR(gemmEx(false, false, K, T, N, w.p, K, dyBf, N, dx.p, K, s,
                                    accumulateDx ? 1.f : 0.f, true));
    if (dw.p)
      HYBRID_RETURN_IF_ERROR(gemmEx(false, true, K, N, T, x.p, K, dyBf, N, dw.p, K, s, 0.f, true));
    return Status();
  };
  auto scaleOf = [&](int i, int n) {
    std::vector<double> sc = at.nums("scales");
    return sc.size() == (size_t)n ? (float)sc[i] : 1.f;
  };

  if (op == "add") {
    Ref a = inRef(0), b = inRef(1), o = outRef(0);
    return f32Axpy(a.p, b.p, o.p, o.numel());
  }
  if (op == "scale") {
    Ref x = inRef(0), o = outRef(0);
    ::hyb::UnaryArgs a{reinterpret_cast<const void *>(x.p), reinterpret_cast<void *>(o.p),
                       o.numel(), (float)at.f("factor", 1.0), 0};
    return launch1d(kn::unary(4, x.f32, true), o.numel(), &a);
  }
  if (op == "linear.grad") {  // x, w, [b], y, dy -> dx, dw, [db]
    Ref x = inRef(0), w = inRef(1), dy = inRef(nIn - 1), dx = outRef(0), dw = outRef(1);
    if (!dy.p) {
      HYBRID_RETURN_IF_ERROR(zero(dx));
      return zero(dw);
    }
    HYBRID_ASSIGN_OR_RETURN(CUdeviceptr dyBf, bf16Copy(dy));
    return linearBack(x, w, dyBf, 1.f, dx, false, dw);
  }
  if (op == "linear_group.grad") {  // x, w_1..n, y_1..n, dy_1..n -> dx, dw_1..n
    const int n = nOut - 1;
    Ref x = inRef(0), dx = outRef(0);
    bool first = true;
    for (int i = 0; i < n; ++i) {
      Ref w = inRef(1 + i), dy = inRef(1 + 2 * n + i), dw = outRef(1 + i);
      if (!dy.p) {
        HYBRID_RETURN_IF_ERROR(zero(dw));
        continue;
      }
      Bump mark = scratch;
      HYBRID_ASSIGN_OR_RETURN(CUdeviceptr dyBf, bf16Copy(dy));
      HYBRID_RETURN_IF_ERROR(linearBack(x, w, dyBf, scaleOf(i, n), dx, !first, dw));
      scratch = mark;
      first = false;
    }
    return first ? zero(dx) : Status();
  }
  if (op == "linear_sum.grad") {  // x_1..n, w_1..n, y, dy -> dx_1..n, dw_1..n
    const int n = nOut / 2;
    Ref dy = inRef(nIn - 1);
    if (!dy.p) {
      for (int i = 0; i < nOut; ++i)
        HYBRID_RETURN_IF_ERROR(zero(outRef(i)));
      return Status();
    }
    HYBRID_ASSIGN_OR_RETURN(CUdeviceptr dyBf, bf16Copy(dy));
    for (int i = 0; i < n; ++i)
      HYBRID_RETURN_IF_ERROR(
          linearBack(inRef(i), inRef(n + i), dyBf, scaleOf(i, n), outRef(i), false, outRef(n + i)));
    return Status();
  }

  if (op == "rmsnorm.grad" || op == "add_rmsnorm.grad") {
    // rmsnorm: x, w, out, dout -> dx, dw; add_rmsnorm: a, b, w, sum, normed,
    // dsum, dnormed -> da, db, dw (da = db).
    const bool add = op == "add_rmsnorm.grad";
    Ref x = inRef(add ? 3 : 0), w = inRef(add ? 2 : 1), dout = inRef(add ? 6 : 3);
    Ref dsum = add ? inRef(5) : Ref();
    Ref dx = outRef(0), dx2 = add ? outRef(1) : Ref(), dw = outRef(add ? 2 : 1);
    const int64_t D = x.last(), rows = x.rows();
    if (!dout.p) {  // no gradient through the norm: zeros, plus dsum
      dout.p = scratch.take(rows * D * 4);
      HYB_CUDA(cuMemsetD32Async(dout.p, 0, rows * D, stream_));
    }
    CUdeviceptr dxp = dx.p ? dx.p : dx2.p ? dx2.p : scratch.take(rows * D * 4);
    const int grid = ::hyb::rmsNormBwdBlocks((int)rows, (int)D, dev_->sms);
    CUdeviceptr part = dw.p ? scratch.take((int64_t)grid * D * 4) : 0;
    ::hyb::RmsNormBwdArgs a{reinterpret_cast<const void *>(x.p), f32p(w.p), f32p(dout.p),
                            dsum.p ? f32p(dsum.p) : nullptr, f32p(dxp), nullptr,
                            part ? f32p(part) : nullptr, (int)rows, (float)at.f("eps", 1e-5)};
    HYBRID_RETURN_IF_ERROR(launch(kn::rmsnormBwd(D, x.f32), (unsigned)grid, 1, 1, 0, &a));
    if (add && dx.p && dx2.p) {
      HYB_CUDA(cuMemcpyDtoDAsync(dx2.p, dx.p, rows * D * 4, stream_));
      pdlNext_ = false;
    }
    if (dw.p) {
      ::hyb::RowsColSumArgs c{f32p(part), f32p(dw.p), grid, (int)D, (int)D, 0};
      HYBRID_RETURN_IF_ERROR(launch(kn::rowsColsum(), (unsigned)((D + 31) / 32), 1, 1, 0, &c));
    }
    return Status();
  }
  if (op == "swiglu_linear.grad") {  // x, wg, wu, out, dout -> dx, dwg, dwu
    Ref x = inRef(0), wg = inRef(1), wu = inRef(2), dout = inRef(nIn - 1);
    Ref dx = outRef(0), dwg = outRef(1), dwu = outRef(2);
    const int64_t K = wg.shape[1], F = wg.shape[0];
    if (!dout.p) {
      for (int i = 0; i < 3; ++i)
        HYBRID_RETURN_IF_ERROR(zero(outRef(i)));
      return Status();
    }
    CUdeviceptr g = scratch.take(T * F * 2), u = scratch.take(T * F * 2);
    CUdeviceptr dg = scratch.take(T * F * 2), du = scratch.take(T * F * 2);
    SavedForward *sv = savedFor(pv, in.inputs()->Get(nIn - 2));
    if (sv && sv->g.p) {  // the forward kept its two projections
      g = sv->g.p, u = sv->u.p;
    } else {
      HYBRID_RETURN_IF_ERROR(gemm(x.p, K, wg.p, g, F, T, K, F, 1.f, 0.f, false));
      HYBRID_RETURN_IF_ERROR(gemm(x.p, K, wu.p, u, F, T, K, F, 1.f, 0.f, false));
    }
    const int vec = F % 4 == 0 ? 4 : F % 2 == 0 ? 2 : 1;
    ::hyb::SwigluBwdArgs a{reinterpret_cast<const void *>(g), reinterpret_cast<const void *>(u),
                           f32p(dout.p), reinterpret_cast<::hyb::bf16_t *>(dg),
                           reinterpret_cast<::hyb::bf16_t *>(du), (int)T, (int)F, (int)F, (int)F,
                           (int)F, (int)F, (float)at.f("gate_scale", 1.0)};
    HYBRID_RETURN_IF_ERROR(launch(kn::swigluBwd(false, vec),
                                  (unsigned)::hyb::rowsElemBlocks(T * F / vec, dev_->sms), 1, 1, 0,
                                  &a));
    HYBRID_RETURN_IF_ERROR(linearBack(x, wg, dg, 1.f, dx, false, dwg));
    return linearBack(x, wu, du, 1.f, dx, true, dwu);
  }
  if (op == "embedding.grad") {  // table, ids, out, dout -> dtable, -
    Ref table = inRef(0), ids = inRef(1), dout = inRef(3), dt = outRef(0);
    if (!dt.p)
      return Status();
    if (!dout.p)
      return zero(dt);
    const int64_t V = table.shape[0], D = table.shape[1];
    if (embCounts_.bytes < (size_t)V * 4) {
      HYBRID_RETURN_IF_ERROR(embCounts_.alloc(V * 4));
      HYB_CUDA(cuMemsetD32Async(embCounts_.p, 0, V, stream_));
    }
    ::hyb::EmbeddingBwdArgs a{};
    a.ids = reinterpret_cast<const int32_t *>(ids.p), a.dout = f32p(dout.p), a.dtable = f32p(dt.p);
    a.counts = reinterpret_cast<int *>(embCounts_.p);
    a.offsets = reinterpret_cast<int *>(scratch.take((V + 1) * 4));
    a.slots = reinterpret_cast<int *>(scratch.take(T * 4));
    a.order = reinterpret_cast<int *>(scratch.take(T * 4));
    a.partial = f32p(scratch.take(
        2 * ((T + ::hyb::embBwdChunk - 1) / ::hyb::embBwdChunk) * D * 4));
    a.T = (int)T, a.V = (int)V;
    auto ks = kn::embeddingBwd(D);
    const unsigned tb = (unsigned)((T + 255) / 256);
    const unsigned grids[6] = {tb, 1, tb, tb,
                               (unsigned)((T + ::hyb::embBwdChunk - 1) / ::hyb::embBwdChunk),
                               (unsigned)((V + ::hyb::embBwdIdsPerBlock - 1) /
                                          ::hyb::embBwdIdsPerBlock)};
    for (int i = 0; i < 6; ++i)
      HYBRID_RETURN_IF_ERROR(launch(ks[i], grids[i], 1, 1, 0, &a));
    return Status();
  }
  if (op == "lm_head_loss" || op == "lm_head_loss.grad") {
    // x, w, labels [, loss, dloss] -> loss | dx, dw: the logits of a chunk
    // of rows at a time (GEMM, fp32), cross entropy per row, and for the
    // gradient d(logits) in bf16 through two more GEMMs.
    const bool grad = op == "lm_head_loss.grad";
    Ref x = inRef(0), w = inRef(1), labels = inRef(2);
    Ref dloss = grad && nIn > 4 ? inRef(4) : Ref();
    const int64_t D = w.shape[1], V = w.shape[0];
    const float lscale = (float)at.f("scale", 1.0);
    const int64_t C = lossChunkRows(T);
    CUdeviceptr logits = scratch.take(C * V * 4), dlog = scratch.take(C * V * 2);
    CUdeviceptr rowLoss = scratch.take(T * 4), scalars = scratch.take(64);
    const int32_t *lab = reinterpret_cast<const int32_t *>(labels.p);
    ::hyb::CeLossArgs la{lab, f32p(rowLoss), dloss.p ? f32p(dloss.p) : nullptr,
                         grad ? f32p(scalars) + 2 : f32p(outRef(0).p), f32p(scalars),
                         reinterpret_cast<int *>(scalars + 4), (int)T, lscale};
    HYBRID_RETURN_IF_ERROR(launch(kn::ceGradScale(), 1, 1, 1, 0, &la));
    Ref dx = grad ? outRef(0) : Ref(), dw = grad ? outRef(1) : Ref();
    for (int64_t t0 = 0; t0 < T; t0 += C) {
      const int64_t n = std::min(C, T - t0);
      CUdeviceptr xc = x.p + t0 * D * 2;
      HYBRID_RETURN_IF_ERROR(gemm(xc, D, w.p, logits, V, n, D, V, lscale, 0.f, true));
      ::hyb::CeRowsArgs ca{f32p(logits), lab + t0, f32p(scalars), 0.f, f32p(rowLoss) + t0,
                           reinterpret_cast<::hyb::bf16_t *>(dlog), (int)n, (int)V, (int)V,
                           (int)V};
      HYBRID_RETURN_IF_ERROR(launch(kn::ceRows(V), (unsigned)n, 1, 1, 0, &ca));
      if (!grad)
        continue;
      if (dx.p)  // dx rows of the chunk: dlogits W
        HYBRID_RETURN_IF_ERROR(gemmEx(false, false, D, n, V, w.p, D, dlog, V, dx.p + t0 * D * 4, D,
                                      1.f, 0.f, true));
      if (dw.p)  // dW += dlogits^T x
        HYBRID_RETURN_IF_ERROR(gemmEx(false, true, D, V, n, xc, D, dlog, V, dw.p, D, 1.f,
                                      t0 > 0 ? 1.f : 0.f, true));
    }
    if (!grad)
      HYBRID_RETURN_IF_ERROR(launch(kn::ceLossMean(), 1, 1, 1, 0, &la));
    return Status();
  }
  if (op == "branch_combine.grad") {  // a, b, wa, wb, out, dout -> da, db, dwa, dwb
    Ref ra = inRef(0), rb = inRef(1), dout = inRef(5);
    Ref da = outRef(0), db = outRef(1), dwa = outRef(2), dwb = outRef(3);
    const int64_t Da = ra.last(), Db = rb.last();
    if (!dout.p) {
      for (int i = 0; i < 4; ++i)
        HYBRID_RETURN_IF_ERROR(zero(outRef(i)));
      return Status();
    }
    bool group = at.str("norm") == "group";
    const int grid = ::hyb::branchBwdBlocks((int)T, dev_->sms);
    CUdeviceptr pa = scratch.take((int64_t)grid * Da * 4), pb = scratch.take((int64_t)grid * Db * 4);
    ::hyb::BranchCombineBwdArgs a{reinterpret_cast<const void *>(ra.p),
                                  reinterpret_cast<const void *>(rb.p), f32p(inRef(2).p),
                                  f32p(inRef(3).p), f32p(dout.p), da.p ? f32p(da.p) : nullptr,
                                  db.p ? f32p(db.p) : nullptr, f32p(pa), f32p(pb), (int)T,
                                  (int)Da, (int)Db, (float)at.f("eps", 1e-5),
                                  (float)at.f("scale_a", 1.0), (float)at.f("scale_b", 1.0)};
    KernelInst k = kn::branchCombineBwd(Da, Db, group ? at.i("groups_a", 1) : 0,
                                        group ? at.i("groups_b", 1) : 0,
                                        codegen::combineMode(at.str("mode")));
    HYBRID_RETURN_IF_ERROR(launch(k, (unsigned)grid, 1, 1, 0, &a));
    for (auto [part, out, n] : {std::make_tuple(pa, dwa, Da), std::make_tuple(pb, dwb, Db)}) {
      if (!out.p)
        continue;
      ::hyb::RowsColSumArgs c{f32p(part), f32p(out.p), grid, (int)n, (int)n, 0};
      HYBRID_RETURN_IF_ERROR(launch(kn::rowsColsum(), (unsigned)((n + 31) / 32), 1, 1, 0, &c));
    }
    return Status();
  }

  if (op == "rope_attention.grad") {  // q, k, v, o, dout -> dq, dk, dv
    Ref q = inRef(0), k = inRef(1), v = inRef(2), dout = inRef(4);
    Ref dq = outRef(0), dk = outRef(1), dv = outRef(2);
    const int64_t Hq = q.shape[2], Hkv = k.shape[2], Dh = q.shape[3];
    if (!dout.p) {
      for (int i = 0; i < 3; ++i)
        HYBRID_RETURN_IF_ERROR(zero(outRef(i)));
      return Status();
    }
    auto it = invFreq_.find(&in);
    if (it == invFreq_.end())
      return HYBRID_ERROR("rope frequencies of this instruction were not prepared");
    auto bf = [](CUdeviceptr d) { return reinterpret_cast<::hyb::bf16_t *>(d); };
    CUdeviceptr qs = scratch.take(T * Hq * Dh * 2), ks = scratch.take(T * Hkv * Dh * 2);
    CUdeviceptr o2 = scratch.take(T * Hq * Dh * 2), lse = scratch.take(T * Hq * 4);
    CUdeviceptr stats = scratch.take(T * Hq * 8), doBf = scratch.take(T * Hq * Dh * 2);
    CUdeviceptr dqp = dq.p ? dq.p : scratch.take(T * Hq * Dh * 4);
    CUdeviceptr dkp = dk.p ? dk.p : scratch.take(T * Hkv * Dh * 4);
    CUdeviceptr dvp = dv.p ? dv.p : scratch.take(T * Hkv * Dh * 4);
    SavedForward *sv = savedFor(pv, in.inputs()->Get(3));
    if (sv && !sv->q.p)
      sv = nullptr;
    if (sv)  // the forward kept q, k (rotated) and the log-sum-exp; o is its result
      qs = sv->q.p, ks = sv->k.p, lse = sv->lse.p, o2 = inRef(3).p;
    // Else the forward again, with its log-sum-exp, on q and k rotated as it read them.
    ::hyb::RopeArgs ra{};
    ra.B = (int)B, ra.L = (int)L;
    const int64_t rd = at.i("rotary_dim", 0) == 0 ? Dh : at.i("rotary_dim", 0);
    ra.rd = (int)rd;
    ra.pos = reinterpret_cast<const int32_t *>(zeroPos_.p);
    ra.invFreq = f32p(it->second.p);
    ra.job[0] = {bf(q.p), bf(qs), (int)Hq, (int)(Hq * Dh), (int)L, 0, 1};
    ra.job[1] = {bf(k.p), bf(ks), (int)Hkv, (int)(Hkv * Dh), (int)L, 0, 1};
    if (!sv)
      HYBRID_RETURN_IF_ERROR(launch(kn::rope(Dh), (unsigned)T, 2, 1, 0, &ra));
    ::hyb::AttnArgs aa{};
    aa.q = bf(qs), aa.k = bf(ks), aa.v = bf(v.p), aa.out = bf(o2), aa.pos = ra.pos;
    aa.B = (int)B, aa.L = (int)L, aa.Hq = (int)Hq, aa.Hkv = (int)Hkv, aa.ctx = (int)L;
    aa.window = (int)at.i("window", 0);
    const double sc = at.f("scale", 0.0);
    aa.scale = (float)(sc > 0 ? sc : 1.0 / std::sqrt((double)Dh));
    aa.lse = f32p(lse);
    if (!sv)
      HYBRID_RETURN_IF_ERROR(launch(kn::attnPrefill(Dh), (unsigned)((L + 63) / 64), (unsigned)Hq,
                                    (unsigned)B, 0, &aa));
    ::hyb::AttnBwdArgs ba{bf(qs), bf(ks), bf(v.p), bf(o2), f32p(lse), f32p(dout.p), f32p(dqp),
                          f32p(dkp), f32p(dvp), f32p(stats), bf(doBf), (int)B, (int)L, (int)Hq,
                          (int)Hkv, aa.window, aa.scale};
    const auto kb = kn::attnBwd(Dh);
    const int d = (int)Dh;
    HYBRID_RETURN_IF_ERROR(launch(kb[0],
                                  (unsigned)((T * Hq + ::hyb::attnBwdPrepRows(d) - 1) /
                                             ::hyb::attnBwdPrepRows(d)),
                                  1, 1, 0, &ba));
    if (Dh % 16 == 0 && Dh <= 128) {
      HYBRID_RETURN_IF_ERROR(launch(kb[2],
                                    (unsigned)((L + ::hyb::attnBwdDkdvKeys(d) - 1) /
                                               ::hyb::attnBwdDkdvKeys(d)),
                                    (unsigned)Hkv, (unsigned)B, ::hyb::attnBwdDkdvSmemBytes(d),
                                    &ba));
      HYBRID_RETURN_IF_ERROR(launch(kb[3],
                                    (unsigned)((L + ::hyb::attnBwdDqRows(d) - 1) /
                                               ::hyb::attnBwdDqRows(d)),
                                    (unsigned)Hq, (unsigned)B, ::hyb::attnBwdDqSmemBytes(d), &ba));
    } else {
      const unsigned rows = (unsigned)((L + ::hyb::attnBwdFbRows - 1) / ::hyb::attnBwdFbRows);
      HYBRID_RETURN_IF_ERROR(launch(kb[2], rows, (unsigned)Hkv, (unsigned)B, 0, &ba));
      HYBRID_RETURN_IF_ERROR(launch(kb[3], rows, (unsigned)Hq, (unsigned)B, 0, &ba));
    }
    ::hyb::RopeBwdArgs rb{f32p(dqp), f32p(dkp), f32p(it->second.p), (int)B, (int)L, (int)Hq,
                          (int)Hkv, (int)rd, (int)(Hq * Dh), (int)(Hkv * Dh)};
    return launch(kb[1], (unsigned)T, 2, 1, 0, &rb);
  }
  if (op == "mamba2_core.grad")
    return mamba2CoreGrad(p, pv, in, seq, ws);
  return HYBRID_ERROR("no CUDA launcher for op '", op, "'");
}

/// mamba2_core.grad: recompute conv + SiLU, dt and the scan (storing the
/// chunk states), then backward through the gated norm, the scan, dt and
/// the conv, writing d(z | xBC | dt) into the parts' gradients.
Status CudaSession::mamba2CoreGrad(const hyb::Program &p, const ProgramView &pv,
                                   const hyb::Instr &in, int64_t seq, Workspace &ws) {
  InstrAttrs at{in};
  const int64_t B = batch_, L = seq, T = B * L;
  const int nIn = (int)in.inputs()->size(), nOut = (int)in.outputs()->size();
  auto ref = [&](int id) { return refOf(p, pv, id, ws, B, L); };
  auto inRef = [&](int i) { return ref(i < nIn ? in.inputs()->Get(i) : -1); };
  auto outRef = [&](int i) { return ref(i < nOut ? in.outputs()->Get(i) : -1); };
  auto f32p = [](CUdeviceptr d) { return reinterpret_cast<float *>(d); };
  auto cf32p = [](CUdeviceptr d) { return reinterpret_cast<const float *>(d); };
  auto vp = [](CUdeviceptr d) { return reinterpret_cast<const void *>(d); };
  Bump scratch{ws.scratch.p};
  const int nParts = nOut - 6;
  const int64_t H = at.i("heads", 0), P = at.i("head_dim", 0), G = at.i("groups", 1),
                N = at.i("state", 0);
  const int64_t inner = H * P, gn = G * N, convDim = inner + 2 * gn;
  // Forward parts and their gradients: column ranges of zxbcdt or three values.
  struct Col {
    CUdeviceptr p, dp;
    bool f32;
    int ld, dld;
  } z{}, xbc{}, dt{};
  if (nParts == 1) {
    Ref part = inRef(0), dpart = outRef(0);
    const int64_t es = part.f32 ? 4 : 2;
    if (!dpart.p)
      dpart.p = scratch.take(T * part.last() * 4);
    z = {part.p, dpart.p, part.f32, (int)part.last(), (int)part.last()};
    xbc = {part.p + inner * es, dpart.p + inner * 4, part.f32, (int)part.last(), (int)part.last()};
    dt = {part.p + (inner + convDim) * es, dpart.p + (inner + convDim) * 4, part.f32,
          (int)part.last(), (int)part.last()};
  } else {
    Col *cols[3] = {&z, &xbc, &dt};
    for (int i = 0; i < 3; ++i) {
      Ref r = inRef(i), d = outRef(i);
      if (!d.p)
        d.p = scratch.take(r.numel() * 4);
      *cols[i] = {r.p, d.p, r.f32, (int)r.last(), (int)r.last()};
    }
  }
  Ref cw = inRef(nParts), cb = inRef(nParts + 1), dtb = inRef(nParts + 2),
      alog = inRef(nParts + 3), dd = inRef(nParts + 4), nw = inRef(nParts + 5);
  Ref dout = inRef(nIn - 1);
  auto gradOrScratch = [&](int i, int64_t n) {
    Ref r = outRef(i);
    return r.p ? r.p : scratch.take(n * 4);
  };
  const int64_t K = cw.shape.back();
  CUdeviceptr dcw = gradOrScratch(nParts, convDim * K);
  CUdeviceptr dcb = cb.p ? gradOrScratch(nParts + 1, convDim) : 0;
  CUdeviceptr ddtb = gradOrScratch(nParts + 2, H);
  CUdeviceptr dalog = gradOrScratch(nParts + 3, H);
  CUdeviceptr ddd = dd.p ? gradOrScratch(nParts + 4, H) : 0;
  CUdeviceptr dnw = gradOrScratch(nParts + 5, inner);
  const int64_t nChunks = (L + ::hyb::ssdChunkLen - 1) / ::hyb::ssdChunkLen;
  CUdeviceptr act = scratch.take(T * convDim * 4), dact = scratch.take(T * convDim * 4);
  CUdeviceptr y = scratch.take(T * inner * 4), dy = scratch.take(T * inner * 4),
              dx = scratch.take(T * inner * 4);
  CUdeviceptr dtv = scratch.take(T * H * 4), ddt = scratch.take(T * H * 4);
  CUdeviceptr states = scratch.take(B * H * nChunks * P * N * 4);
  if (!dout.p) {  // the result was not used: every gradient is zero
    HYB_CUDA(cuMemsetD32Async(dy, 0, T * inner, stream_));
    dout.p = dy;
  }
  SavedForward *sv = savedFor(pv, in.inputs()->Get(nIn - 2));
  if (sv && !sv->act.p)
    sv = nullptr;
  if (sv)  // the forward kept them
    act = sv->act.p, y = sv->y.p, dtv = sv->dt.p, states = sv->states.p;

  // 1. conv + SiLU (fp32), dt, and the scan with its chunk states.
  if (!sv) {
    ::hyb::ConvArgs a{vp(xbc.p), cf32p(cw.p), cb.p ? cf32p(cb.p) : nullptr, nullptr,
                      reinterpret_cast<void *>(act), (int)B, (int)L, (int)convDim, xbc.ld, 1};
    KernelInst pre = kn::convPrefill(K, true, xbc.f32);
    const size_t align = xbc.f32 ? 16 : 8;
    if (L >= K - 1 && convDim % 4 == 0 && xbc.ld % 4 == 0 && xbc.p % align == 0 &&
        (!cb.p || cb.p % 16 == 0)) {
      const int64_t runs = (L + ::hyb::kConvRun - 1) / ::hyb::kConvRun;
      HYBRID_RETURN_IF_ERROR(launch1d(pre, B * runs * (convDim / 4), &a));
    } else {
      HYBRID_RETURN_IF_ERROR(launch1d(kn::conv(K, 1, true, xbc.f32), T * convDim, &a));
    }
  }
  const float *actF = cf32p(act);
  if (!sv)
    HYBRID_RETURN_IF_ERROR(trainScan(in, act, vp(dt.p), dt.f32, dt.ld, cf32p(dtb.p),
                                     cf32p(alog.p), dd.p ? cf32p(dd.p) : nullptr, dtv, y, states,
                                     B, L));
  // 2. The gated norm: dy, dz and the norm weight's gradient.
  auto colReduce = [&](CUdeviceptr part, int64_t rows, int64_t cols, int64_t split,
                       CUdeviceptr out0, CUdeviceptr out1) -> Status {
    ::hyb::ColReduceArgs a{cf32p(part), out0 ? f32p(out0) : nullptr, out1 ? f32p(out1) : nullptr,
                           (int)rows, (int)cols, (int)split, 0};
    const bool v4 = cols % 4 == 0 && split % 4 == 0 && out0 % 16 == 0 && out1 % 16 == 0;
    return launch(kn::colReduce(v4 ? 4 : 1), (unsigned)((cols + 31) / 32), 1, 1, 0, &a);
  };
  {
    CUdeviceptr part = scratch.take(std::max<int64_t>(1024 * inner, 2048 * H) * 4);
    const int grid = ::hyb::gatedNormBwdBlocks((int)T, dev_->sms, 2);
    ::hyb::GatedNormGradArgs a{cf32p(y), vp(z.p), cf32p(nw.p), cf32p(dout.p), f32p(dy),
                               f32p(z.dp), f32p(part), (int)T, z.ld, z.dld,
                               (float)at.f("eps", 1e-5)};
    KernelInst k = kn::gatedNormBwd(inner, at.i("norm_groups", 1),
                                    at.i("norm_before_gate", 0) != 0, z.f32);
    HYBRID_RETURN_IF_ERROR(launch(k, (unsigned)grid, 1, 1, 0, &a));
    HYBRID_RETURN_IF_ERROR(colReduce(part, grid, inner, inner, dnw, 0));
  }
  // 3. The scan backward: dx, ddt, dB and dC (into dact), dA_log, dD.
  HYB_CUDA(cuMemsetD32Async(dact, 0, T * convDim, stream_));
  HYB_CUDA(cuMemsetD32Async(dalog, 0, H, stream_));
  if (ddd)
    HYB_CUDA(cuMemsetD32Async(ddd, 0, H, stream_));
  pdlNext_ = false;
  {
    ::hyb::ScanGradArgs a{};
    a.x = actF, a.dt = cf32p(dtv), a.bm = actF + inner, a.cm = actF + inner + gn;
    a.dy = cf32p(dy), a.aLog = cf32p(alog.p), a.d = dd.p ? cf32p(dd.p) : nullptr;
    a.chunkStates = cf32p(states);
    a.dx = f32p(dx), a.ddt = f32p(ddt), a.dbm = f32p(dact) + inner, a.dcm = f32p(dact) + inner + gn;
    a.daLog = f32p(dalog), a.dd = ddd ? f32p(ddd) : nullptr;
    a.dStates = f32p(scratch.take(B * H * nChunks * P * N * 4));
    a.paramPart = f32p(scratch.take(2 * H * B * nChunks * 4));
    a.B = (int)B, a.L = (int)L, a.H = (int)H, a.P = (int)P, a.G = (int)G;
    a.ldx = (int)convDim, a.lddt = (int)H, a.ldbc = (int)convDim;
    HYBRID_RETURN_IF_ERROR(ssdBackward(a, N));
  }
  {  // dx into dact's first inner columns
    HYBRID_RETURN_IF_ERROR(castRows(dx, inner, dact, convDim, T, inner, false));
  }
  // 4. dt: d(dt_raw) into the dt columns, d(dt_bias).
  {
    const int grid = ::hyb::dtBwdBlocks((int)T, (int)H, 256);
    CUdeviceptr part = scratch.take((int64_t)grid * H * 4);
    std::vector<double> lim = at.nums("dt_limit");
    ::hyb::DtGradArgs a{vp(dt.p), cf32p(dtb.p), cf32p(ddt), f32p(dt.dp), f32p(part), (int)T,
                        (int)H, dt.ld, (int)H, dt.dld,
                        lim.size() == 2 ? (float)lim[0] : -INFINITY,
                        lim.size() == 2 ? (float)lim[1] : INFINITY};
    HYBRID_RETURN_IF_ERROR(launch(kn::dtBwd(dt.f32), (unsigned)grid, 1, 1, 0, &a));
    HYBRID_RETURN_IF_ERROR(colReduce(part, grid, H, H, ddtb, 0));
  }
  // 5. conv + SiLU: d(xBC) into its columns, the conv weight and bias gradients.
  {
    const int parts = ::hyb::convBwdPartials((int)B, (int)L);
    CUdeviceptr part = scratch.take((int64_t)parts * convDim * (K + 1) * 4);
    const int es = xbc.f32 ? 4 : 2;
    auto fits = [&](int v) {
      return convDim % v == 0 && xbc.ld % v == 0 && xbc.dld % v == 0 && xbc.p % (v * es) == 0 &&
             xbc.dp % (v * 4) == 0;
    };
    const int v = fits(4) ? 4 : fits(2) ? 2 : 1;
    ::hyb::ConvGradArgs a{vp(xbc.p), cf32p(cw.p), cb.p ? cf32p(cb.p) : nullptr, cf32p(dact),
                          f32p(xbc.dp), f32p(part), (int)B, (int)L, (int)convDim, xbc.ld, xbc.dld};
    HYBRID_RETURN_IF_ERROR(launch(kn::convSiluBwd(K, v, xbc.f32),
                                  (unsigned)((convDim + 32 * v - 1) / (32 * v)), (unsigned)parts, 1,
                                  0, &a));
    HYBRID_RETURN_IF_ERROR(
        colReduce(part, parts, convDim * (K + 1), convDim * K, dcw, dcb));
  }
  return Status();
}

/// mamba2_core's dt (fp32) and the chunked scan storing the state entering
/// every chunk, on the conv + SiLU output `act` [T, x | B | C]: the forward of
/// train_step when it keeps its state, else the backward's recompute.
Status CudaSession::trainScan(const hyb::Instr &in, CUdeviceptr act, const void *dtRaw,
                              bool dtF32, int lddt, const float *dtBias, const float *aLog,
                              const float *d, CUdeviceptr dt, CUdeviceptr y, CUdeviceptr states,
                              int64_t B, int64_t L) {
  InstrAttrs at{in};
  const int64_t T = B * L, H = at.i("heads", 0), P = at.i("head_dim", 0), G = at.i("groups", 1),
                N = at.i("state", 0);
  const int64_t inner = H * P, gn = G * N, convDim = inner + 2 * gn;
  std::vector<double> lim = at.nums("dt_limit");
  ::hyb::DtArgs da{dtRaw, dtBias, reinterpret_cast<float *>(dt), T, (int)H, lddt,
                   lim.size() == 2 ? (float)lim[0] : -INFINITY,
                   lim.size() == 2 ? (float)lim[1] : INFINITY};
  HYBRID_RETURN_IF_ERROR(launch1d(kn::dtForward(dtF32), T * H, &da));
  const float *actF = reinterpret_cast<const float *>(act);
  ::hyb::ScanArgs a{};
  a.x = actF, a.dt = reinterpret_cast<const float *>(dt), a.dtBias = nullptr, a.aLog = aLog;
  a.d = d, a.bm = actF + inner, a.cm = actF + inner + gn, a.state = nullptr;
  a.y = reinterpret_cast<void *>(y);
  a.B = (int)B, a.L = (int)L, a.H = (int)H, a.P = (int)P, a.G = (int)G;
  a.ldx = (int)convDim, a.lddt = (int)H, a.ldbc = (int)convDim;
  a.dtLo = -INFINITY, a.dtHi = INFINITY;  // dt is final
  a.chunkStates = reinterpret_cast<float *>(states);
  int ps = kn::ssdChunkSliceWide(P);
  if (B * H * (P / ps) < 132)
    ps = 16;
  return launch(kn::ssdChunkTrain(N, ps), (unsigned)(H * (P / ps)), (unsigned)B, 1,
                (size_t)::hyb::ssdChunkSmemBytes((int)N, ps), &a);
}

Status CudaSession::trainScanForward(SavedForward &sv, const hyb::Instr &in, const void *dtRaw,
                                     bool dtF32, int lddt, const float *dtBias, const float *aLog,
                                     const float *d, int64_t B, int64_t L) {
  return trainScan(in, sv.act.p, dtRaw, dtF32, lddt, dtBias, aLog, d, sv.dt.p, sv.y.p,
                   sv.states.p, B, L);
}

/// The chunked scan's backward (ssd_chunk_bwd.cuh).
Status CudaSession::ssdBackward(const ::hyb::ScanGradArgs &a, int64_t N) {
  const int64_t nChunks = (a.L + ::hyb::ssdChunkLen - 1) / ::hyb::ssdChunkLen;
  auto aligned = [](const void *p, int ld) {
    return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 4 == 0;
  };
  if (!kn::ssdChunkBwdFast(N, a.P) || !aligned(a.x, a.ldx) || !aligned(a.bm, a.ldbc) ||
      !aligned(a.cm, a.ldbc))
    return launch(kn::ssdChunkBwdSimple(N, a.P), (unsigned)a.H, (unsigned)a.B, 1,
                  (size_t)::hyb::ssdChunkBwdSimpleSmemBytes((int)N, a.P), &a);
  const auto ks = kn::ssdChunkBwd(N, a.P);
  const bool hds2 = dev_->smemOptin >= ::hyb::ssdChunkBwdSmemBytes(1, (int)N, a.P, 2);
  HYBRID_RETURN_IF_ERROR(launch(ks[0], (unsigned)(a.H * a.P / 32), (unsigned)a.B, 1,
                                (size_t)::hyb::ssdChunkBwdSmemBytes(0, (int)N, 32), &a));
  HYBRID_RETURN_IF_ERROR(launch(ks[hds2 ? 1 : 2], (unsigned)nChunks, (unsigned)a.B, (unsigned)a.G,
                                (size_t)::hyb::ssdChunkBwdSmemBytes(1, (int)N, a.P, hds2 ? 2 : 1),
                                &a));
  return launch(ks[3], (unsigned)a.H, 1, 1, 0, &a);
}


StatusOr<double> CudaSession::adamwStep(const DeviceAdamW &u) {
  if (!train_ || accumulated_ == 0)
    return HYBRID_ERROR("no gradients to apply: run a training step first");
  const int64_t fixed = train_->fixed_arena_bytes();
  const CUdeviceptr src = gradSource();
  DevBuf &table = gradsInFixed_ ? optimTableFixed_ : optimTable_;
  if (accumulated_ > 1) {  // the mean over the micro-batches
    HYBRID_RETURN_IF_ERROR(
        f32Axpy(gradAcc_.p, 0, gradAcc_.p, fixed / 4, 1.f / (float)accumulated_));
  }
  if (!table.p) {
    std::vector<::hyb::OptimTensor> tensors;
    std::vector<::hyb::OptimBlock> blocks;
    for (const GradSlot &g : gradSlots(*train_, *trainView_, weights_.size())) {
      ::hyb::OptimTensor t{};
      const bool bf = weightBf16_[g.weight];
      t.p = reinterpret_cast<float *>(bf ? master_[g.weight].p : weights_[g.weight].p);
      t.g = reinterpret_cast<const float *>(src + g.offset);
      t.m = reinterpret_cast<float *>(momentM_.p + g.offset);
      t.v = reinterpret_cast<float *>(momentV_.p + g.offset);
      t.copy = bf ? reinterpret_cast<::hyb::bf16_t *>(weights_[g.weight].p) : nullptr;
      t.n = g.n;
      t.decay = g.weight < (int)u.decay.size() && u.decay[g.weight] ? 1 : 0;
      const int ti = (int)tensors.size();
      tensors.push_back(t);
      for (int64_t c = 0; c * ::hyb::optimBlockElems < g.n; ++c)
        blocks.push_back({ti, (int32_t)c});
    }
    if (tensors.empty())
      return HYBRID_ERROR("train_step has no weight gradients");
    HYBRID_RETURN_IF_ERROR(table.alloc(tensors.size() * sizeof(::hyb::OptimTensor)));
    HYBRID_RETURN_IF_ERROR(optimBlocks_.alloc(blocks.size() * sizeof(::hyb::OptimBlock)));
    HYBRID_RETURN_IF_ERROR(optimPartial_.alloc(blocks.size() * sizeof(double)));
    HYBRID_RETURN_IF_ERROR(optimScalars_.alloc(16));
    HYB_CUDA(cuMemcpyHtoD(table.p, tensors.data(), tensors.size() * sizeof(tensors[0])));
    HYB_CUDA(cuMemcpyHtoD(optimBlocks_.p, blocks.data(), blocks.size() * sizeof(blocks[0])));
    optimBlockCount_ = (int64_t)blocks.size();
  }
  ::hyb::OptimArgs a{};
  a.tensors = reinterpret_cast<const ::hyb::OptimTensor *>(table.p);
  a.blocks = reinterpret_cast<const ::hyb::OptimBlock *>(optimBlocks_.p);
  a.partial = reinterpret_cast<double *>(optimPartial_.p);
  a.scale = reinterpret_cast<float *>(optimScalars_.p);
  a.norm = reinterpret_cast<float *>(optimScalars_.p) + 1;
  a.numBlocks = (int)optimBlockCount_;
  a.lr = (float)u.lr, a.beta1 = (float)u.beta1, a.beta2 = (float)u.beta2, a.eps = (float)u.eps;
  a.weightDecay = (float)u.weightDecay;
  a.biasCorr1 = (float)(1.0 - std::pow(u.beta1, (double)u.t));
  a.biasCorr2 = (float)(1.0 - std::pow(u.beta2, (double)u.t));
  a.maxNorm = (float)u.clip;
  const auto opt = kn::optimizer();
  HYBRID_RETURN_IF_ERROR(launch(opt[1], (unsigned)optimBlockCount_, 1, 1, 0, &a));
  HYBRID_RETURN_IF_ERROR(launch(opt[2], 1, 1, 1, 0, &a));
  HYBRID_RETURN_IF_ERROR(launch(opt[0], (unsigned)optimBlockCount_, 1, 1, 0, &a));
  float norm = 0;
  HYB_CUDA(cuMemcpyDtoHAsync(&norm, optimScalars_.p + 4, 4, stream_));
  HYB_CUDA(cuStreamSynchronize(stream_));
  accumulated_ = 0;
  return (double)norm;
}

Status CudaSession::downloadWeights(std::vector<std::vector<float>> *weights) {
  HYB_CUDA(cuStreamSynchronize(stream_));
  weights->assign(weights_.size(), {});
  for (size_t i = 0; i < weights_.size(); ++i) {
    std::vector<float> &w = (*weights)[i];
    w.resize(model_.weight((int)i).size());
    CUdeviceptr src = weightBf16_[i] ? master_[i].p : weights_[i].p;
    HYB_CUDA(cuMemcpyDtoH(w.data(), src, w.size() * 4));
  }
  return Status();
}

Status CudaSession::downloadMoments(std::vector<std::vector<float>> *m,
                                    std::vector<std::vector<float>> *v) {
  HYBRID_RETURN_IF_ERROR(initTrain());
  HYB_CUDA(cuStreamSynchronize(stream_));
  m->assign(weights_.size(), {});
  v->assign(weights_.size(), {});
  for (const GradSlot &g : gradSlots(*train_, *trainView_, weights_.size())) {
    (*m)[g.weight].resize(g.n);
    (*v)[g.weight].resize(g.n);
    HYB_CUDA(cuMemcpyDtoH((*m)[g.weight].data(), momentM_.p + g.offset, g.n * 4));
    HYB_CUDA(cuMemcpyDtoH((*v)[g.weight].data(), momentV_.p + g.offset, g.n * 4));
  }
  return Status();
}

Status CudaSession::uploadMoments(const std::vector<std::vector<float>> &m,
                                  const std::vector<std::vector<float>> &v) {
  HYBRID_RETURN_IF_ERROR(initTrain());
  for (const GradSlot &g : gradSlots(*train_, *trainView_, weights_.size())) {
    if ((size_t)g.weight >= m.size() || (int64_t)m[g.weight].size() != g.n ||
        (size_t)g.weight >= v.size() || (int64_t)v[g.weight].size() != g.n)
      return HYBRID_ERROR("optimizer state: weight ", g.weight, " has ", g.n,
                          " elements; the moments given do not match");
    HYB_CUDA(cuMemcpyHtoD(momentM_.p + g.offset, m[g.weight].data(), g.n * 4));
    HYB_CUDA(cuMemcpyHtoD(momentV_.p + g.offset, v[g.weight].data(), g.n * 4));
  }
  return Status();
}

/// The DeviceTrainer of a CUDA session.
class CudaTrainer : public DeviceTrainer {
public:
  explicit CudaTrainer(std::unique_ptr<CudaSession> s) : s_(std::move(s)) {}
  StatusOr<double> step(const int32_t *ids, const int32_t *labels, int64_t seq,
                        bool accumulate) override {
    return s_->trainStep(ids, labels, seq, true, accumulate);
  }
  StatusOr<double> evalLoss(const int32_t *ids, const int32_t *labels, int64_t seq) override {
    return s_->trainStep(ids, labels, seq, false, false);
  }
  Status gradients(std::vector<std::vector<float>> *g) override {
    return s_->downloadGradients(g);
  }
  StatusOr<double> update(const DeviceAdamW &u) override { return s_->adamwStep(u); }
  Status weights(std::vector<std::vector<float>> *w) override { return s_->downloadWeights(w); }
  Status moments(std::vector<std::vector<float>> *m, std::vector<std::vector<float>> *v) override {
    return s_->downloadMoments(m, v);
  }
  Status setMoments(const std::vector<std::vector<float>> &m,
                    const std::vector<std::vector<float>> &v) override {
    return s_->uploadMoments(m, v);
  }
  std::string deviceName() const override { return s_->deviceName(); }
  double deviceBytes() const override { return s_->trainDeviceBytes(); }

private:
  std::unique_ptr<CudaSession> s_;
};

} // namespace cudart

StatusOr<std::unique_ptr<DeviceTrainer>> createCudaTrainer(const Model &model, int64_t batch) {
  if (batch <= 0)
    return HYBRID_ERROR("batch must be positive, got ", batch);
  auto s = std::make_unique<cudart::CudaSession>(model, batch);
  HYBRID_RETURN_IF_ERROR(s->init());
  HYBRID_RETURN_IF_ERROR(s->initTrain());
  return std::unique_ptr<DeviceTrainer>(new cudart::CudaTrainer(std::move(s)));
}

} // namespace hybrid
