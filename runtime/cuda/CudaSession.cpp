//===- CudaSession.cpp - The CUDA executor (driver API, cuBLASLt, graphs) -===//
//
// One launcher per op name (the `launchOp` switch below) next to the kernel
// plan of codegen/KernelPlan.h, which says which generated kernels an op
// uses and which shapes it refuses (checked for every instruction before
// anything runs).
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda/CudaSessionImpl.h"

#include "runtime/io/Safetensors.h"
#include "runtime/support/FileUtil.h"

#include <cublasLt.h>
#include <cuda.h>
#include <cudaProfiler.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <tuple>

namespace hybrid {
namespace cudart {

Status CudaSession::init() {
  const hyb::Artifact &a = model_.artifact().root();
  if (!a.fatbin() || a.fatbin()->size() == 0)
    return HYBRID_ERROR("the artifact has no CUDA kernels (target '",
                        a.target() ? a.target()->str() : "?",
                        "'): compile it with `hybridc compile --target cuda`");
  HYBRID_ASSIGN_OR_RETURN(dev_, Device::get());
  useGraph_ = envOn("HYBRIDC_CUDA_GRAPH", true);
  usePdl_ = envOn("HYBRIDC_CUDA_PDL", true);
  syncEach_ = envOn("HYBRIDC_CUDA_SYNC", false);
  useGemv_ = envOn("HYBRIDC_CUDA_GEMV", true);  // 0: cuBLASLt for decode GEMMs too
  gemvOneWave_ = envOn("HYBRIDC_CUDA_GEMV_WAVE", true);  // 0: no one-wave split rule
  // HYBRIDC_CUDA_PROFILE=1: the third decode step runs outside the graph between
  // cuProfilerStart/Stop, so `ncu --profile-from-start off` sees exactly one step.
  if (envOn("HYBRIDC_CUDA_PROFILE", false))
    profileStep_ = 3;
  HYB_CUDA(cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING));
  // The fatbin, copied to an 8-byte aligned buffer for the loader.
  std::vector<uint64_t> image((a.fatbin()->size() + 7) / 8);
  std::memcpy(image.data(), a.fatbin()->data(), a.fatbin()->size());
  HYB_CUDA(cuModuleLoadData(&module_, image.data()));
  prefill_ = model_.artifact().program("prefill");
  decode_ = model_.artifact().program("decode");
  if (!prefill_ || !decode_)
    return HYBRID_ERROR("the artifact lacks a prefill or decode program");
  prefillView_ = std::make_unique<ProgramView>(a, *prefill_);
  decodeView_ = std::make_unique<ProgramView>(a, *decode_);
  // supports(): every op of both programs has its kernels in the fatbin.
  HYBRID_RETURN_IF_ERROR(loadKernels(*prefill_, *prefillView_));
  HYBRID_RETURN_IF_ERROR(loadKernels(*decode_, *decodeView_));
  // GEMM operands and embedding tables are bf16 on the device.
  weightBf16_ = model_.bf16StorageMask();
  // Attention decode keeps a row of scores per query in dynamic shared memory.
  const int64_t maxCtx = model_.maxContext();
  for (auto &[name, f] : fns_)
    if (name.rfind("hyb_attn_decode_", 0) == 0) {
      int64_t bytes = maxCtx * 4;
      if (bytes > 200 * 1024)
        return HYBRID_ERROR("attention decode keeps ", maxCtx,
                            " scores in shared memory; max context must be <= 51200");
      HYB_CUDA(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)bytes));
    }
  // The chunked scan keeps a chunk's C, B, X and the state slice in dynamic
  // shared memory (108 KB for state 128 and 64 channels: two blocks per SM).
  for (auto &[name, f] : fns_) {
    int n = 0, ps = 0;
    if (std::sscanf(name.c_str(), "hyb_ssd_chunk_n%d_p%d", &n, &ps) == 2)
      HYB_CUDA(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                  ::hyb::ssdChunkSmemBytes(n, ps)));
  }
  // Weights.
  weights_.resize(a.weights()->size());
  for (size_t i = 0; i < weights_.size(); ++i) {
    const std::vector<float> &w = model_.weight((int)i);
    if (weightBf16_[i]) {
      std::vector<uint16_t> h(w.size());
      for (size_t j = 0; j < w.size(); ++j)
        h[j] = floatToBfloat16(w[j]);
      HYBRID_RETURN_IF_ERROR(weights_[i].alloc(h.size() * 2));
      HYB_CUDA(cuMemcpyHtoD(weights_[i].p, h.data(), h.size() * 2));
      weightBytes_ += h.size() * 2.0;
    } else {
      HYBRID_RETURN_IF_ERROR(weights_[i].alloc(w.size() * 4));
      HYB_CUDA(cuMemcpyHtoD(weights_[i].p, w.data(), w.size() * 4));
      weightBytes_ += w.size() * 4.0;
    }
  }
  // Caches.
  int64_t n = a.caches() ? a.caches()->size() : 0;
  slots_.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const hyb::Cache *c = a.caches()->Get(i);
    Slot &s = slots_[i];
    if (c->kv() && c->kv()->size()) {
      s.maxContext = c->kv()->Get(0);
      HYBRID_RETURN_IF_ERROR(s.k.alloc(batch_ * prod(c->kv()) * 2));
      HYBRID_RETURN_IF_ERROR(s.v.alloc(batch_ * prod(c->kv()) * 2));
    }
    if (c->conv() && c->conv()->size())
      HYBRID_RETURN_IF_ERROR(s.conv.alloc(batch_ * prod(c->conv()) * 4));
    if (c->ssm() && c->ssm()->size())
      HYBRID_RETURN_IF_ERROR(s.ssm.alloc(batch_ * prod(c->ssm()) * 4));
  }
  HYBRID_RETURN_IF_ERROR(zeroCaches());
  HYBRID_RETURN_IF_ERROR(posDev_.alloc(16));
  HYBRID_RETURN_IF_ERROR(gemmWs_.alloc(32u << 20));
  {
    // Split-key attention decode: partials and per-row counters, sized for
    // the widest attention of the decode program at 32 splits.
    int64_t hqDh = 0;
    for (const hyb::Instr *in : *decode_->instrs()) {
      std::string op = in->op()->str();
      if (op == "attention" || op == "rope_attention")
        hqDh = std::max(hqDh, decodeView_->numelTrailing(in->inputs()->Get(0)));
    }
    if (hqDh > 0) {
      attnRowsMax_ = batch_ * hqDh / 8;  // head dims are multiples of 8
      HYBRID_RETURN_IF_ERROR(attnPart_.alloc(batch_ * hqDh * 32 * 2 * 4 + 4096));
      HYBRID_RETURN_IF_ERROR(attnCounter_.alloc(attnRowsMax_ * 4));
      HYB_CUDA(cuMemsetD8(attnCounter_.p, 0, attnRowsMax_ * 4));
    }
  }
  HYB_CUDA(cublasLtCreate(&lt_));
  scratchPrefill_ = scratchPerToken(*prefill_, *prefillView_);
  scratchDecode_ = scratchPerToken(*decode_, *decodeView_);
  // Decode buffers are allocated once: the captured graph keeps their addresses.
  decodeWs_.tokens = batch_;
  HYBRID_RETURN_IF_ERROR(decodeWs_.arena.alloc(decode_->arena_bytes_per_token() * batch_));
  HYBRID_RETURN_IF_ERROR(decodeWs_.scratch.alloc(scratchDecode_ * batch_ + kScratchSlack));
  HYBRID_RETURN_IF_ERROR(decodeWs_.ids.alloc(batch_ * 4));
  return Status();
}

Status CudaSession::loadKernels(const hyb::Program &p, const ProgramView &pv) {
  for (const hyb::Instr *in : *p.instrs()) {
    const std::string op = in->op()->str();
    if ((op == "rope" || op == "rope_attention" || op == "rope_attention.grad") &&
        !invFreq_.count(in)) {
      auto q = pv.shape(in->inputs()->Get(0));
      HYBRID_RETURN_IF_ERROR(prepareRope(*in, q.size() == 2 ? q[1] : 0));
    }
    std::vector<KernelInst> ks;
    std::string why;
    if (!codegen::kernelsFor(pv, *in, ks, why))
      return HYBRID_ERROR(why, " (program '", p.name()->str(), "')");
    for (const KernelInst &k : ks) {
      if (fns_.count(k.name))
        continue;
      CUfunction f;
      CUresult r = cuModuleGetFunction(&f, module_, k.name.c_str());
      if (r == CUDA_ERROR_NOT_FOUND)
        return HYBRID_ERROR("kernel '", k.name, "' of op '", op,
                            "' is not in the artifact's fatbin: recompile with "
                            "`hybridc compile --target cuda` of this hybridc");
      HYB_CUDA(r);
      fns_[k.name] = f;
    }
  }
  return Status();
}

Status CudaSession::prepareRope(const hyb::Instr &in, int64_t headDim) {
  InstrAttrs at{in};
  int64_t rdAttr = at.i("rotary_dim", 0);
  const int rd = (int)(rdAttr == 0 ? headDim : rdAttr);
  std::vector<float> inv(std::max(rd / 2, 1));
  // As cpu::ropeInvFreq (and transformers): the fp64 formula rounded to fp32.
  const double theta = at.f("theta", 10000.0), kPi = 3.14159265358979323846;
  std::string type = at.str("scaling.type");
  for (int i = 0; i < rd / 2; ++i) {
    double f = 1.0 / std::pow(theta, (double)(2 * i) / (double)rd);
    if (type == "linear") {
      f /= at.f("scaling.factor", 1.0);
    } else if (type == "llama3") {
      double factor = at.f("scaling.factor", 1.0), lo = at.f("scaling.low_freq_factor", 1.0),
             hi = at.f("scaling.high_freq_factor", 4.0),
             old = (double)at.i("scaling.original_max_position", 8192);
      double wavelen = 2.0 * kPi / f;
      if (wavelen > old / lo) {
        f /= factor;
      } else if (wavelen >= old / hi) {
        double sm = (old / wavelen - lo) / (hi - lo);
        f = (1.0 - sm) * f / factor + sm * f;
      }
    }
    inv[i] = (float)f;
  }
  DevBuf &buf = invFreq_[&in];
  HYBRID_RETURN_IF_ERROR(buf.alloc(inv.size() * 4));
  HYB_CUDA(cuMemcpyHtoD(buf.p, inv.data(), inv.size() * 4));
  return Status();
}

Status CudaSession::zeroCaches() {
  for (Slot &s : slots_)
    for (DevBuf *b : {&s.k, &s.v, &s.conv, &s.ssm})
      if (b->p)
        HYB_CUDA(cuMemsetD8Async(b->p, 0, b->bytes, stream_));
  HYB_CUDA(cuStreamSynchronize(stream_));
  return Status();
}

double CudaSession::decodeCacheBytes(int64_t ctx) const {
  double bytes = 0;
  for (const Slot &s : slots_) {
    if (s.k.p)
      bytes += 2.0 * (double)s.k.bytes * ctx / s.maxContext;
    bytes += 2.0 * s.conv.bytes + 2.0 * s.ssm.bytes;  // read + write
  }
  return bytes;
}

int64_t CudaSession::scratchPerToken(const hyb::Program &p, const ProgramView &pv) const {
  int64_t best = 0;
  for (const hyb::Instr *in : *p.instrs()) {
    std::string op = in->op()->str();
    InstrAttrs at{*in};
    int64_t need = 0;
    if (op == "mamba2_core") {
      int64_t inner = at.i("heads", 0) * at.i("head_dim", 0);
      int64_t conv = inner + 2 * at.i("groups", 1) * at.i("state", 0);
      need = (conv + inner) * 4;
    } else if (op == "swiglu_linear") {
      need = 4 * pv.last(in->outputs()->Get(0)) + 64;
    } else if (op == "rope_attention" || op == "attention") {
      need = 2 * pv.numelTrailing(in->inputs()->Get(0)) + 64;
    }
    best = std::max(best, need);
  }
  return best;
}

Status CudaSession::launch(const KernelInst &k, unsigned gx, unsigned gy, unsigned gz,
                           size_t smem, const void *args) {
  auto it = fns_.find(k.name);
  if (it == fns_.end())
    return HYBRID_ERROR("kernel '", k.name, "' was not loaded");
  void *params[] = {const_cast<void *>(args)};
  if (pdlNext_) {
    // Programmatic dependent launch (decode): this kernel may start while
    // its predecessor runs; it waits for it in device code (pdlWait).
    CUlaunchAttribute attr{};
    attr.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attr.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig cfg{};
    cfg.gridDimX = gx, cfg.gridDimY = gy, cfg.gridDimZ = gz;
    cfg.blockDimX = (unsigned)k.threads, cfg.blockDimY = 1, cfg.blockDimZ = 1;
    cfg.sharedMemBytes = (unsigned)smem;
    cfg.hStream = stream_;
    cfg.attrs = &attr;
    cfg.numAttrs = 1;
    HYB_CUDA(cuLaunchKernelEx(&cfg, it->second, params, nullptr));
  } else {
    HYB_CUDA(cuLaunchKernel(it->second, gx, gy, gz, (unsigned)k.threads, 1, 1, (unsigned)smem,
                            stream_, params, nullptr));
  }
  // The next generated kernel of a decode step may overlap this one.
  pdlNext_ = pdlProgram_;
  if (syncEach_) {
    Status s = cudaStatus(cuStreamSynchronize(stream_), k.name.c_str(), __FILE__, __LINE__);
    if (!s.ok())
      return s.context("kernel " + k.name);
  }
  return Status();
}

int alignOf(uint64_t v) {
  int a = 256;
  while (a > 1 && v % a)
    a /= 2;
  return a;
}

/// The decode GEMV fits: few rows, x staged in 48 KB of shared memory,
/// 16-byte weight rows.
bool gemvFits(int64_t T, int64_t K) { return T <= 8 && T * K <= 12288 && K % 8 == 0; }

/// Warps per GEMV output row: enough rows x warps (weighted by the weights
/// read) to keep ~64 warps per SM loading, while each warp keeps >= 2 loads.
int gemvSplit(int64_t K, int64_t N, int weights, int64_t wave) {
  int s = 1;
  while (s < 8 && N * s * weights < 8192 && K / 8 >= 64 * s)
    s *= 2;
  // `wave`: blocks resident at once (0: no rule). A grid just over one wave
  // (e.g. in_proj, N 4384 -> 1096 blocks of 8 warps, 1056 resident on an
  // H100) leaves a tail wave: fewer warps per row bring it back into one.
  while (wave > 0 && s > 1 && (N + 8 / s - 1) / (8 / s) > wave &&
         (N + 8 / (s / 2) - 1) / (8 / (s / 2)) <= wave)
    s /= 2;
  return s;
}

StatusOr<CudaSession::Gemm> CudaSession::makeGemm(bool transA, bool transB, int64_t m, int64_t n,
                                                 int64_t k, int64_t lda, int64_t ldb, int64_t ldc,
                                                 bool cF32, int alA, int alB, int alC) {
  Gemm g;
  HYB_CUDA(cublasLtMatmulDescCreate(&g.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasOperation_t ta = transA ? CUBLAS_OP_T : CUBLAS_OP_N, tb = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  HYB_CUDA(cublasLtMatmulDescSetAttribute(g.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  HYB_CUDA(cublasLtMatmulDescSetAttribute(g.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  // Column-major: C is m x n; A is m x k (stored k x m when transposed), B k x n.
  HYB_CUDA(cublasLtMatrixLayoutCreate(&g.a, CUDA_R_16BF, transA ? k : m, transA ? m : k, lda));
  HYB_CUDA(cublasLtMatrixLayoutCreate(&g.b, CUDA_R_16BF, transB ? n : k, transB ? k : n, ldb));
  HYB_CUDA(cublasLtMatrixLayoutCreate(&g.c, cF32 ? CUDA_R_32F : CUDA_R_16BF, m, n, ldc));
  cublasLtMatmulPreference_t pref;
  HYB_CUDA(cublasLtMatmulPreferenceCreate(&pref));
  size_t wsBytes = gemmWs_.bytes;
  uint32_t a32 = alA, b32 = alB, c32 = alC;
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsBytes,
                                       sizeof wsBytes);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &a32, 4);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &b32, 4);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &c32, 4);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &c32, 4);
  cublasLtMatmulHeuristicResult_t res;
  int found = 0;
  cublasStatus_t hs =
      cublasLtMatmulAlgoGetHeuristic(lt_, g.desc, g.a, g.b, g.c, g.c, pref, 1, &res, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  HYB_CUDA(hs);
  if (found == 0)
    return HYBRID_ERROR("cuBLASLt has no algorithm for the GEMM m ", m, " n ", n, " k ", k);
  g.algo = res.algo;
  return g;
}

int64_t CudaSession::residentBlocks(const KernelInst &k) {
  auto it = resident_.find(k.name);
  if (it != resident_.end())
    return it->second;
  int perSm = 0;
  auto f = fns_.find(k.name);
  if (f == fns_.end() ||
      cuOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, f->second, k.threads, 0) != CUDA_SUCCESS)
    perSm = 0;  // unknown: no one-wave rule for this kernel
  return resident_[k.name] = (int64_t)perSm * dev_->sms;
}

Status CudaSession::gemm(CUdeviceptr x, int64_t ldx, CUdeviceptr w, CUdeviceptr out, int64_t ldo,
                         int64_t T, int64_t K, int64_t N, float alpha, float beta, bool outF32) {
  if (useGemv_ && gemvFits(T, K)) {
    ::hyb::GemvArgs a{};
    a.x = reinterpret_cast<const ::hyb::bf16_t *>(x);
    a.w = reinterpret_cast<const ::hyb::bf16_t *>(w);
    a.out = reinterpret_cast<void *>(out);
    a.T = (int)T, a.K = (int)K, a.N = (int)N, a.ldx = (int)ldx, a.ldo = (int)ldo;
    a.alpha = alpha, a.beta = beta;
    const KernelInst k = kn::gemv(outF32, false, T == 1);
    a.split = gemvSplit(K, N, 1, gemvOneWave_ ? residentBlocks(k) : 0);
    const int rows = 8 / a.split;
    return launch(k, (unsigned)((N + rows - 1) / rows), 1, 1, 0, &a);
  }
  int alA = alignOf(w), alB = std::min(alignOf(x), alignOf(ldx * 2)),
      alC = std::min(alignOf(out), alignOf(ldo * (outF32 ? 4 : 2)));
  auto key = std::make_tuple(T, K, N, ldx, ldo, (int)outF32 | (beta != 0.f ? 2 : 0), alB, alC);
  auto it = gemmCache_.find(key);
  if (it == gemmCache_.end()) {
    // Column-major view: D (N x T, ld ldo) = W^T-op (N x K) * x (K x T, ld ldx).
    HYBRID_ASSIGN_OR_RETURN(Gemm g, makeGemm(true, false, N, T, K, K, ldx, ldo, outF32, alA, alB, alC));
    it = gemmCache_.emplace(key, std::make_tuple(g)).first;
  }
  Gemm &g = std::get<0>(it->second);
  HYB_CUDA(cublasLtMatmul(lt_, g.desc, &alpha, (const void *)w, g.a, (const void *)x, g.b, &beta,
                          (const void *)out, g.c, (void *)out, g.c, &g.algo, (void *)gemmWs_.p,
                          gemmWs_.bytes, stream_));
  return Status();
}

Status CudaSession::uploadIds(const int32_t *ids, int64_t seq) {
  const int64_t T = batch_ * seq;
  const int64_t V = model_.vocab();
  for (int64_t t = 0; t < T; ++t)
    if (ids[t] < 0 || ids[t] >= V)
      return HYBRID_ERROR("embedding: token id ", ids[t], " at position ", t,
                          " is outside the vocabulary [0, ", V, ")");
  size_t need = 16 + T * 4;
  if (need > hostPinnedBytes_) {
    if (hostPinned_)
      cuMemFreeHost(hostPinned_);
    hostPinned_ = nullptr;
    HYB_CUDA(cuMemAllocHost(&hostPinned_, need));
    hostPinnedBytes_ = need;
  }
  Workspace &ws = seq == 1 ? decodeWs_ : prefillWs_;
  HYBRID_RETURN_IF_ERROR(ws.ids.alloc(T * 4));
  int32_t *h = static_cast<int32_t *>(hostPinned_);
  h[0] = (int32_t)pos_;
  std::memcpy(h + 4, ids, T * 4);
  HYB_CUDA(cuMemcpyHtoDAsync(posDev_.p, h, 4, stream_));
  HYB_CUDA(cuMemcpyHtoDAsync(ws.ids.p, h + 4, T * 4, stream_));
  return Status();
}

Status CudaSession::enqueue(int64_t seq) {
  const bool dec = seq == 1;
  const hyb::Program &p = dec ? *decode_ : *prefill_;
  const ProgramView &pv = dec ? *decodeView_ : *prefillView_;
  if (!dec) {
    const int64_t T = batch_ * seq;
    HYBRID_RETURN_IF_ERROR(prefillWs_.arena.alloc(p.arena_bytes_per_token() * T));
    HYBRID_RETURN_IF_ERROR(prefillWs_.scratch.alloc(scratchPrefill_ * T + kScratchSlack));
    prefillWs_.tokens = T;
    return runProgram(p, pv, seq, prefillWs_);
  }
  if (profileStep_ > 0 && --profileStep_ == 0) {
    HYB_CUDA(cuStreamSynchronize(stream_));
    HYB_CUDA(cuProfilerStart());
    Status s = runProgram(p, pv, 1, decodeWs_);
    HYB_CUDA(cuStreamSynchronize(stream_));
    HYB_CUDA(cuProfilerStop());
    return s;
  }
  if (!useGraph_)
    return runProgram(p, pv, 1, decodeWs_);
  if (!graphExec_) {
    // Capture once: every pointer of the decode program is fixed; the token
    // ids and the position are read from device buffers the host updates.
    HYB_CUDA(cuStreamBeginCapture(stream_, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
    Status s = runProgram(p, pv, 1, decodeWs_);
    CUgraph graph = nullptr;
    CUresult e = cuStreamEndCapture(stream_, &graph);
    HYBRID_RETURN_IF_ERROR(s);
    HYB_CUDA(e);
    HYB_CUDA(cuGraphInstantiate(&graphExec_, graph, 0));
    HYB_CUDA(cuGraphDestroy(graph));
  }
  HYB_CUDA(cuGraphLaunch(graphExec_, stream_));
  return Status();
}

Status CudaSession::forward(const int32_t *ids, int64_t seq, std::vector<float> *logits) {
  if (seq <= 0)
    return HYBRID_ERROR("forward needs at least one token per sequence");
  if (pos_ + seq > model_.maxContext())
    return HYBRID_ERROR("context full: ", pos_, " + ", seq,
                        " tokens exceed the compiled maximum of ", model_.maxContext(),
                        " (hybridc compile --max-context)");
  HYBRID_RETURN_IF_ERROR(uploadIds(ids, seq));
  HYBRID_RETURN_IF_ERROR(enqueue(seq));
  const hyb::Program &p = seq == 1 ? *decode_ : *prefill_;
  const ProgramView &pv = seq == 1 ? *decodeView_ : *prefillView_;
  Workspace &ws = seq == 1 ? decodeWs_ : prefillWs_;
  int outId = p.outputs()->Get(0);
  int root = pv.root(outId);
  const int64_t T = batch_ * seq;
  const int64_t n = T * pv.numelTrailing(outId);
  CUdeviceptr src = ws.arena.p + pv.val(root)->offset_per_token() * T;
  logits->resize(n);
  if (pv.isF32(outId)) {
    HYB_CUDA(cuMemcpyDtoHAsync(logits->data(), src, n * 4, stream_));
    HYB_CUDA(cuStreamSynchronize(stream_));
  } else {
    std::vector<uint16_t> h(n);
    HYB_CUDA(cuMemcpyDtoHAsync(h.data(), src, n * 2, stream_));
    HYB_CUDA(cuStreamSynchronize(stream_));
    for (int64_t i = 0; i < n; ++i)
      (*logits)[i] = bfloat16ToFloat(h[i]);
  }
  pos_ += seq;
  return Status();
}

Status CudaSession::runProgram(const hyb::Program &p, const ProgramView &pv, int64_t seq,
                               Workspace &ws) {
  const std::string dump = seq > 1 ? valueDumpDir() : std::string();
  int index = -1;
  pdlProgram_ = usePdl_ && seq == 1 && !syncEach_;
  pdlNext_ = false;  // the first kernel follows host copies
  struct Reset {
    CudaSession *s;
    ~Reset() { s->pdlProgram_ = s->pdlNext_ = false; }
  } reset{this};
  for (const hyb::Instr *in : *p.instrs()) {
    ++index;
    Status s = launchOp(p, pv, *in, seq, ws);
    if (!s.ok())
      return s.context("op '" + in->op()->str() + "'");
    if (!dump.empty())
      HYBRID_RETURN_IF_ERROR(dumpOutputs(pv, *in, index, seq, ws, dump));
  }
  return Status();
}

Status CudaSession::dumpOutputs(const ProgramView &pv, const hyb::Instr &in, int index,
                                int64_t seq, Workspace &ws, const std::string &dir) {
  HYB_CUDA(cuStreamSynchronize(stream_));
  const int64_t T = batch_ * seq;
  for (int32_t id : *in.outputs()) {
    const hyb::Value *v = pv.val(pv.root(id));
    if (v->kind() != hyb::ValueKind::Activation)
      continue;
    const int64_t n = T * pv.numelTrailing(id);
    CUdeviceptr src = ws.arena.p + v->offset_per_token() * T;
    std::vector<float> h(n);
    if (pv.isF32(id)) {
      HYB_CUDA(cuMemcpyDtoH(h.data(), src, n * 4));
    } else {
      std::vector<uint16_t> b(n);
      HYB_CUDA(cuMemcpyDtoH(b.data(), src, n * 2));
      for (int64_t i = 0; i < n; ++i)
        h[i] = bfloat16ToFloat(b[i]);
    }
    std::vector<int64_t> shape = {batch_, seq};
    for (int64_t d : pv.shape(id))
      shape.push_back(d);
    std::string npy = npyFloat32(h.data(), shape);
    HYBRID_RETURN_IF_ERROR(
        writeFileAtomic(valueDumpPath(dir, index, in.op()->str(), id), npy.data(), npy.size()));
  }
  return Status();
}

CudaSession::Ref CudaSession::refOf(const hyb::Program &p, const ProgramView &pv, int id,
                                    Workspace &ws, int64_t B, int64_t L) const {
  Ref r;
  if (id < 0)
    return r;
  int root = pv.root(id);
  const hyb::Value *v = pv.val(root);
  r.f32 = pv.isF32(id);
  switch (v->kind()) {
  case hyb::ValueKind::Weight:
    r.p = weights_[v->weight()].p;
    r.shape = pv.shape(id);
    r.f32 = !weightBf16_[v->weight()];
    return r;
  case hyb::ValueKind::Fixed:  // train_step's loss and weight gradients, fp32
    r.p = ws.fixed.p + v->offset_fixed();
    r.shape = pv.shape(id);
    if (r.shape.empty())
      r.shape = {1};
    r.f32 = true;
    return r;
  default:
    break;
  }
  r.shape = {B, L};
  for (int64_t d : pv.shape(id))
    r.shape.push_back(d);
  if (v->kind() == hyb::ValueKind::Input)  // token ids, then (train_step) labels
    r.p = p.inputs()->size() > 1 && p.inputs()->Get(1) == root ? ws.labels.p : ws.ids.p;
  else
    r.p = ws.arena.p + v->offset_per_token() * B * L;
  return r;
}

Status CudaSession::launchOp(const hyb::Program &p, const ProgramView &pv, const hyb::Instr &in,
                             int64_t seq, Workspace &ws) {
  if (pv.isBackward(in) || in.op()->str() == "lm_head_loss")
    return launchTrainOp(p, pv, in, seq, ws);
  const std::string op = in.op()->str();
  InstrAttrs at{in};
  const int64_t B = batch_, L = seq, T = B * L;
  auto ref = [&](int id) { return refOf(p, pv, id, ws, B, L); };
  auto inRef = [&](size_t i) { return ref(i < in.inputs()->size() ? in.inputs()->Get(i) : -1); };
  auto outRef = [&](size_t i) { return ref(in.outputs()->Get(i)); };
  auto bf = [](CUdeviceptr d) { return reinterpret_cast<::hyb::bf16_t *>(d); };
  auto f32p = [](CUdeviceptr d) { return reinterpret_cast<float *>(d); };
  const int nIn = (int)in.inputs()->size();
  Slot *slot = in.cache() >= 0 ? &slots_[in.cache()] : nullptr;

  // --- GEMMs (cuBLASLt) ---------------------------------------------------
  if (op == "linear" || op == "lm_head" || op == "fused_linear") {
    Ref x = inRef(0), w = inRef(1), o = outRef(0);
    const int64_t K = w.shape[1], N = w.shape[0];
    float scale = op == "fused_linear" ? (float)at.f("scale", 1.0) : 1.f;
    Ref bias, resid;
    if (op == "linear" && nIn == 3)
      bias = inRef(2);
    if (op == "fused_linear") {
      std::vector<double> seg = at.nums("operandSegmentSizes");
      if (seg.size() == 4) {
        int i = 2;
        if (seg[2] > 0)
          bias = inRef(i++);
        if (seg[3] > 0)
          resid = inRef(i++);
      } else {
        for (int i = 2; i < nIn; ++i) {
          Ref r = inRef(i);
          if (r.p)
            (r.shape.size() == 1 ? bias : resid) = r;
        }
      }
    }
    float beta = 0.f;
    if (resid.p) {
      if (resid.p != o.p) {
        HYB_CUDA(cuMemcpyDtoDAsync(o.p, resid.p, T * N * 2, stream_));
        pdlNext_ = false;  // a copy node: the next kernel follows it normally
      }
      beta = 1.f;
    }
    HYBRID_RETURN_IF_ERROR(gemm(x.p, K, w.p, o.p, N, T, K, N, scale, beta, o.f32));
    if (bias.p) {
      ::hyb::BiasArgs a{bf(o.p), f32p(bias.p), (int)T, (int)N, (int)N, scale};
      HYBRID_RETURN_IF_ERROR(launch1d(kn::bias(), T * N, &a));
    }
    return Status();
  }
  if (op == "linear_group") {
    const int n = (int)in.outputs()->size();
    std::vector<double> scales = at.nums("scales");
    bool biased = nIn == 1 + 2 * n;
    Ref x = inRef(0);
    for (int i = 0; i < n; ++i) {
      Ref w = inRef(1 + i), o = outRef(i);
      float s = scales.size() == (size_t)n ? (float)scales[i] : 1.f;
      const int64_t K = w.shape[1], N = w.shape[0];
      HYBRID_RETURN_IF_ERROR(gemm(x.p, K, w.p, o.p, N, T, K, N, s, 0.f, o.f32));
      if (biased) {
        Ref b = inRef(1 + n + i);
        if (b.p) {
          ::hyb::BiasArgs a{bf(o.p), f32p(b.p), (int)T, (int)N, (int)N, s};
          HYBRID_RETURN_IF_ERROR(launch1d(kn::bias(), T * N, &a));
        }
      }
    }
    return Status();
  }
  if (op == "linear_sum") {
    const int n = nIn / 2;
    std::vector<double> scales = at.nums("scales");
    Ref o = outRef(0);
    for (int i = 0; i < n; ++i) {
      Ref x = inRef(i), w = inRef(n + i);
      float s = scales.size() == (size_t)n ? (float)scales[i] : 1.f;
      const int64_t K = w.shape[1], N = w.shape[0];
      HYBRID_RETURN_IF_ERROR(gemm(x.p, K, w.p, o.p, N, T, K, N, s, i ? 1.f : 0.f, false));
    }
    return Status();
  }
  if (op == "swiglu_linear") {
    Ref x = inRef(0), wg = inRef(1), wu = inRef(2), o = outRef(0);
    const int64_t K = wg.shape[1], N = wg.shape[0];
    SavedForward *sv = savedFor(pv, in.outputs()->Get(0));  // train_step: kept for the backward
    if (sv && !sv->g.p)
      sv = nullptr;
    if (useGemv_ && gemvFits(T, K) && !sv) {  // decode: gate, up and silu * up in one pass
      ::hyb::GemvArgs a{};
      a.x = bf(x.p), a.w = bf(wg.p), a.w2 = bf(wu.p);
      a.out = reinterpret_cast<void *>(o.p);
      if (nIn == 5)
        a.bias = f32p(inRef(3).p), a.bias2 = f32p(inRef(4).p);
      a.T = (int)T, a.K = (int)K, a.N = (int)N, a.ldx = (int)K, a.ldo = (int)N;
      a.alpha = 1.f, a.gateScale = (float)at.f("gate_scale", 1.0);
      const KernelInst k = kn::gemv(false, true, T == 1);
      a.split = gemvSplit(K, N, 2, gemvOneWave_ ? residentBlocks(k) : 0);
      const int rows = 8 / a.split;
      return launch(k, (unsigned)((N + rows - 1) / rows), 1, 1, 0, &a);
    }
    CUdeviceptr g = ws.scratch.p, u = ws.scratch.p + ((T * N * 2 + 255) / 256) * 256;
    if (sv)
      g = sv->g.p, u = sv->u.p;
    HYBRID_RETURN_IF_ERROR(gemm(x.p, K, wg.p, g, N, T, K, N, 1.f, 0.f, false));
    HYBRID_RETURN_IF_ERROR(gemm(x.p, K, wu.p, u, N, T, K, N, 1.f, 0.f, false));
    ::hyb::BinaryArgs a{};
    a.a = bf(g);
    a.b = reinterpret_cast<const void *>(u);
    if (nIn == 5) {
      a.biasA = f32p(inRef(3).p);
      a.biasB = f32p(inRef(4).p);
    }
    a.out = bf(o.p);
    a.n = T * N;
    a.ldA = a.ldB = a.width = (int)N;
    a.gateScale = (float)at.f("gate_scale", 1.0);
    return launch1d(kn::swiglu(), T * N, &a);
  }
  // --- Norms ----------------------------------------------------------------
  if (op == "embedding") {
    Ref table = inRef(0), o = outRef(0);
    ::hyb::EmbeddingArgs a{reinterpret_cast<const int32_t *>(ws.ids.p), bf(table.p), bf(o.p), (int)T};
    KernelInst k = kn::embedding(table.shape[1]);
    return launch(k, (unsigned)T, 1, 1, 0, &a);
  }
  if (op == "rmsnorm" || op == "add_rmsnorm") {
    bool add = op == "add_rmsnorm";
    Ref x = inRef(0);
    ::hyb::RowNormArgs a{};
    Ref r = add ? inRef(1) : Ref(), sum = add ? outRef(0) : Ref();
    a.x = reinterpret_cast<const void *>(x.p);
    a.r = reinterpret_cast<const void *>(r.p);
    a.w = f32p(inRef(add ? 2 : 1).p);
    a.sum = reinterpret_cast<void *>(sum.p);
    a.out = bf(outRef(add ? 1 : 0).p);
    a.T = (int)x.rows();
    a.eps = (float)at.f("eps", 1e-5);
    return launch(kn::rmsnorm(x.last(), add, x.f32, r.f32, sum.f32), (unsigned)x.rows(), 1, 1, 0,
                  &a);
  }
  if (op == "group_norm" || op == "gated_rmsnorm") {
    bool gated = op == "gated_rmsnorm";
    Ref x = inRef(0);
    ::hyb::GroupNormArgs a{};
    a.x = reinterpret_cast<const void *>(x.p);
    a.z = gated ? reinterpret_cast<const void *>(inRef(1).p) : nullptr;
    a.w = f32p(inRef(gated ? 2 : 1).p);
    a.out = bf(outRef(0).p);
    a.T = (int)x.rows();
    a.ldx = a.ldz = (int)x.last();
    a.eps = (float)at.f("eps", 1e-5);
    KernelInst k = kn::groupnorm(x.last(), at.i("groups", 1), gated,
                                 gated && at.i("norm_before_gate", 0) != 0, false);
    return launch(k, (unsigned)x.rows(), 1, 1, 0, &a);
  }
  if (op == "branch_combine") {
    Ref ra = inRef(0), rb = inRef(1);
    bool group = at.str("norm") == "group";
    ::hyb::BranchCombineArgs a{};
    a.a = bf(ra.p);
    a.b = bf(rb.p);
    a.wa = f32p(inRef(2).p);
    a.wb = f32p(inRef(3).p);
    a.out = bf(outRef(0).p);
    a.T = (int)ra.rows();
    a.lda = (int)ra.last();
    a.ldb = (int)rb.last();
    a.eps = (float)at.f("eps", 1e-5);
    a.scaleA = (float)at.f("scale_a", 1.0);
    a.scaleB = (float)at.f("scale_b", 1.0);
    KernelInst k = kn::branchCombine(ra.last(), rb.last(), group ? at.i("groups_a", 1) : 0,
                                     group ? at.i("groups_b", 1) : 0,
                                     codegen::combineMode(at.str("mode")));
    return launch(k, (unsigned)ra.rows(), 1, 1, 0, &a);
  }
  // --- Element-wise ---------------------------------------------------------
  if (ProgramView::isUnary(op)) {
    Ref x = inRef(0), o = outRef(0);
    auto run = [&](int code, CUdeviceptr src, float p0, float p1) {
      ::hyb::UnaryArgs a{reinterpret_cast<const void *>(src), reinterpret_cast<void *>(o.p),
                       x.numel(), p0, p1};
      return launch1d(kn::unary(code, x.f32, o.f32), x.numel(), &a);
    };
    float lo = (float)at.f("min", 0), hi = (float)at.f("max", 0);
    if (op == "silu")
      return run(0, x.p, 0, 0);
    if (op == "softplus")
      return run(1, x.p, 0, 0);
    if (op == "relu2")
      return run(2, x.p, 0, 0);
    if (op == "clamp")
      return run(3, x.p, lo, hi);
    if (op == "scale")
      return run(4, x.p, (float)at.f("factor", 1.0), 0);
    HYBRID_RETURN_IF_ERROR(run(1, x.p, 0, 0));  // softplus_clamp
    return run(3, o.p, lo, hi);
  }
  if (op == "add" || op == "mul") {
    Ref l = inRef(0), r = inRef(1), o = outRef(0);
    ::hyb::BinaryArgs a{};
    a.a = bf(l.p);
    a.b = reinterpret_cast<const void *>(r.p);
    a.out = bf(o.p);
    a.n = l.numel();
    int64_t rn = 1;
    for (int64_t d : r.shape)
      rn *= d;
    a.bN = rn;
    return launch1d(kn::binary(op == "mul", r.f32), a.n, &a);
  }
  if (op == "swiglu") {
    Ref g = inRef(0), u = inRef(1), o = outRef(0);
    ::hyb::BinaryArgs a{};
    a.a = bf(g.p);
    a.b = reinterpret_cast<const void *>(u.p);
    a.out = bf(o.p);
    a.n = g.numel();
    a.ldA = a.ldB = a.width = (int)g.last();
    a.gateScale = 1.f;
    return launch1d(kn::swiglu(), a.n, &a);
  }
  if (op == "split") {
    Ref x = inRef(0);
    int64_t col = 0;
    for (size_t i = 0; i < in.outputs()->size(); ++i) {
      Ref o = outRef(i);
      ::hyb::ColsArgs a{bf(x.p) + col, nullptr, bf(o.p), (int)x.rows(), (int)o.last(),
                      (int)x.last(), 0, (int)o.last(), 0};
      HYBRID_RETURN_IF_ERROR(launch1d(kn::cols(), x.rows() * o.last(), &a));
      col += o.last();
    }
    return Status();
  }
  if (op == "combine") {
    Ref ra = inRef(0), rb = inRef(1), o = outRef(0);
    int mode = codegen::combineMode(at.str("mode"));
    if (mode == 3) {
      ::hyb::ColsArgs a{bf(ra.p), nullptr, bf(o.p), (int)ra.rows(), (int)ra.last(), (int)ra.last(),
                      0, (int)o.last(), 0};
      HYBRID_RETURN_IF_ERROR(launch1d(kn::cols(), ra.numel(), &a));
      ::hyb::ColsArgs b{bf(rb.p), nullptr, bf(o.p) + ra.last(), (int)rb.rows(), (int)rb.last(),
                      (int)rb.last(), 0, (int)o.last(), 0};
      return launch1d(kn::cols(), rb.numel(), &b);
    }
    if (ra.last() != rb.last())
      return HYBRID_ERROR("combine: widths ", ra.last(), " and ", rb.last(), " differ");
    ::hyb::ColsArgs a{bf(ra.p), bf(rb.p), bf(o.p), (int)ra.rows(), (int)ra.last(), (int)ra.last(),
                    (int)rb.last(), (int)o.last(), mode + 1};
    return launch1d(kn::cols(), ra.numel(), &a);
  }
  // --- Mamba-2 --------------------------------------------------------------
  auto convLaunch = [&](const void *x, bool inF32, int ldx, const float *w, const float *bias,
                        float *state, CUdeviceptr out, int64_t C, int64_t K, bool silu,
                        bool outF32) -> Status {
    ::hyb::ConvArgs a{x, w, bias, state, reinterpret_cast<void *>(out), (int)B, (int)L, (int)C,
                    ldx, silu ? 1 : 0};
    if (L < 16 || L < K - 1) {
      return launch1d(kn::conv(K, 0, outF32, inF32), B * C, &a);
    }
    // Runs of tokens of 4 channels per thread when the rows allow vector loads.
    const size_t align = inF32 ? 16 : 8;
    KernelInst pre = kn::convPrefill(K, outF32, inF32);
    if (C % 4 == 0 && ldx % 4 == 0 && reinterpret_cast<uintptr_t>(x) % align == 0 &&
        (!bias || reinterpret_cast<uintptr_t>(bias) % 16 == 0) && fns_.count(pre.name)) {
      const int64_t runs = (L + ::hyb::kConvRun - 1) / ::hyb::kConvRun;
      HYBRID_RETURN_IF_ERROR(launch1d(pre, B * runs * (C / 4), &a));
    } else {
      HYBRID_RETURN_IF_ERROR(launch1d(kn::conv(K, 1, outF32, inF32), T * C, &a));
    }
    if (state)
      return launch1d(kn::conv(K, 2, outF32, inF32), B * (K - 1) * C, &a);
    return Status();
  };
  auto scanLaunch = [&](::hyb::ScanArgs &a, int64_t N, bool f32, bool dtF32) -> Status {
    // Prefill: the chunked tensor-core scan when the shapes allow it (and,
    // for fp32 inputs, 16-byte aligned rows for its vector loads).
    auto aligned = [](const void *p, int ld) {
      return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 4 == 0;
    };
    if (L >= ::hyb::ssdChunkLen && kn::ssdChunkSupports(N, a.P) &&
        (!f32 || (aligned(a.x, a.ldx) && aligned(a.bm, a.ldbc) && aligned(a.cm, a.ldbc)))) {
      int ps = kn::ssdChunkSliceWide(a.P);
      if (B * a.H * (a.P / ps) < 132)  // under one block per SM: narrower slices
        ps = 16;
      KernelInst k = kn::ssdChunk(N, ps, f32, dtF32);
      if (fns_.count(k.name))
        return launch(k, (unsigned)(a.H * (a.P / ps)), (unsigned)B, 1,
                      (size_t)::hyb::ssdChunkSmemBytes((int)N, ps), &a);
    }
    // Few channels (batch 1): 32 lanes per state row for more blocks; else 4.
    bool dec = L <= 4 || B * a.H * a.P < 65536;
    int split = kn::scanSplit(N, dec);
    int rows = 128 / split;
    return launch(kn::scan(N, split, f32, dtF32), (unsigned)((a.P + rows - 1) / rows), (unsigned)a.H,
                  (unsigned)B, 0, &a);
  };
  if (op == "conv1d_causal") {
    Ref x = inRef(0), w = inRef(1), o = outRef(0);
    Ref bias = nIn > 2 ? inRef(2) : Ref();
    return convLaunch(bf(x.p), false, (int)x.last(), f32p(w.p), bias.p ? f32p(bias.p) : nullptr,
                      slot && slot->conv.p ? f32p(slot->conv.p) : nullptr, o.p, x.last(),
                      w.shape.back(), false, false);
  }
  if (op == "ssd_scan") {
    Ref x = inRef(0), dt = inRef(1), al = inRef(2), bm = inRef(3), cm = inRef(4), o = outRef(0);
    Ref d = nIn > 5 ? inRef(5) : Ref();
    ::hyb::ScanArgs a{};
    a.x = reinterpret_cast<const void *>(x.p);
    a.dt = reinterpret_cast<const void *>(dt.p);
    a.aLog = f32p(al.p);
    a.d = d.p ? f32p(d.p) : nullptr;
    a.bm = reinterpret_cast<const void *>(bm.p);
    a.cm = reinterpret_cast<const void *>(cm.p);
    a.state = slot && slot->ssm.p ? f32p(slot->ssm.p) : nullptr;
    a.y = reinterpret_cast<void *>(o.p);
    a.B = (int)B, a.L = (int)L, a.H = (int)x.shape[2], a.P = (int)x.shape[3];
    a.G = (int)bm.shape[2];
    a.ldx = (int)(a.H * a.P), a.lddt = a.H, a.ldbc = (int)(a.G * bm.shape[3]);
    return scanLaunch(a, bm.shape[3], false, false);
  }
  if (op == "mamba2_core") {
    const int nParts = nIn - 6;
    const int64_t H = at.i("heads", 0), P = at.i("head_dim", 0), G = at.i("groups", 1),
                  N = at.i("state", 0);
    const int64_t inner = H * P, gn = G * N, convDim = inner + 2 * gn;
    // z, xBC, dt: column ranges of zxbcdt or three values; bf16 or fp32.
    CUdeviceptr z, xbc, dt;
    bool zf, xf, df;
    int ldz, ldxbc, lddt;
    if (nParts == 1) {
      Ref part = inRef(0);
      if (part.last() != inner + convDim + H)
        return HYBRID_ERROR("mamba2_core: zxbcdt width ", part.last(), " is not ",
                            inner + convDim + H);
      const int64_t es = part.f32 ? 4 : 2;
      z = part.p, xbc = part.p + inner * es, dt = part.p + (inner + convDim) * es;
      zf = xf = df = part.f32;
      ldz = ldxbc = lddt = (int)part.last();
    } else {
      Ref rz = inRef(0), rx = inRef(1), rd = inRef(2);
      z = rz.p, xbc = rx.p, dt = rd.p;
      zf = rz.f32, xf = rx.f32, df = rd.f32;
      ldz = (int)rz.last(), ldxbc = (int)rx.last(), lddt = (int)rd.last();
    }
    Ref cw = inRef(nParts), cb = inRef(nParts + 1), dtb = inRef(nParts + 2),
        alog = inRef(nParts + 3), dd = inRef(nParts + 4), nw = inRef(nParts + 5), o = outRef(0);
    const int64_t K = cw.shape.back();
    CUdeviceptr conv = ws.scratch.p;
    CUdeviceptr y = conv + ((T * convDim * 4 + 255) / 256) * 256;
    // train_step with memory to spare: the conv output, dt, the scan output and
    // its chunk states go where the backward finds them (CudaTrain.cpp).
    SavedForward *sv = savedFor(pv, in.outputs()->Get(0));
    if (sv && !sv->act.p)
      sv = nullptr;
    if (sv)
      conv = sv->act.p, y = sv->y.p;
    HYBRID_RETURN_IF_ERROR(convLaunch(reinterpret_cast<const void *>(xbc), xf, ldxbc, f32p(cw.p), cb.p ? f32p(cb.p) : nullptr,
                                      slot ? f32p(slot->conv.p) : nullptr, conv, convDim, K,
                                      true, true));
    if (sv)
      HYBRID_RETURN_IF_ERROR(trainScanForward(*sv, in, reinterpret_cast<const void *>(dt), df,
                                              lddt, f32p(dtb.p), f32p(alog.p),
                                              dd.p ? f32p(dd.p) : nullptr, B, L));
    ::hyb::ScanArgs a{};
    const float *convF = f32p(conv);
    a.x = convF;
    a.dt = reinterpret_cast<const void *>(dt);
    a.dtBias = f32p(dtb.p);
    a.aLog = f32p(alog.p);
    a.d = dd.p ? f32p(dd.p) : nullptr;
    a.bm = convF + inner;
    a.cm = convF + inner + gn;
    a.state = slot ? f32p(slot->ssm.p) : nullptr;  // train_step: no cache, zero state
    a.y = reinterpret_cast<void *>(y);
    a.B = (int)B, a.L = (int)L, a.H = (int)H, a.P = (int)P, a.G = (int)G;
    a.ldx = (int)convDim, a.lddt = lddt, a.ldbc = (int)convDim;
    std::vector<double> lim = at.nums("dt_limit");
    a.dtLo = lim.size() == 2 ? (float)lim[0] : 0.f;
    a.dtHi = lim.size() == 2 ? (float)lim[1] : INFINITY;
    if (lim.empty())
      a.dtLo = -INFINITY;
    if (!sv)
      HYBRID_RETURN_IF_ERROR(scanLaunch(a, N, true, df));
    ::hyb::GroupNormArgs g{};
    g.x = reinterpret_cast<const void *>(y);
    g.z = reinterpret_cast<const void *>(z);
    g.w = f32p(nw.p);
    g.out = bf(o.p);
    g.T = (int)T;
    g.ldx = (int)inner;
    g.ldz = ldz;
    g.eps = (float)at.f("eps", 1e-5);
    KernelInst k = kn::groupnorm(inner, at.i("norm_groups", 1), true,
                                 at.i("norm_before_gate", 0) != 0, true, zf);
    return launch(k, (unsigned)T, 1, 1, 0, &g);
  }
  // --- RoPE and attention ---------------------------------------------------
  if (op == "rope" || op == "rope_attention" || op == "attention") {
    Ref q = inRef(0);
    const int64_t Hq = q.shape[2], Dh = q.shape[3];
    ::hyb::RopeArgs ra{};
    ra.B = (int)B, ra.L = (int)L;
    int64_t rd = at.i("rotary_dim", 0);
    ra.rd = (int)(rd == 0 ? Dh : rd);
    ra.pos = reinterpret_cast<const int32_t *>(posDev_.p);
    bool rotate = op != "attention";
    if (rotate) {
      auto it = invFreq_.find(&in);  // uploaded in init(): no allocation while capturing
      if (it == invFreq_.end())
        return HYBRID_ERROR("rope frequencies of this instruction were not prepared");
      ra.invFreq = f32p(it->second.p);
    }
    if (op == "rope") {
      Ref o = outRef(0);
      ra.posFromDevice = 1;
      ra.job[0] = {bf(q.p), bf(o.p), (int)Hq, (int)(Hq * Dh), (int)L, 0, 1};
      return launch(kn::rope(Dh), (unsigned)T, 1, 1, 0, &ra);
    }
    Ref k = inRef(1), v = inRef(2), o = outRef(0);
    const int64_t Hkv = k.shape[2];
    if (!slot && pv.training()) {  // train_step: whole sequences from position 0, no cache
      CUdeviceptr qs = ws.scratch.p;
      CUdeviceptr ks = qs + ((T * Hq * Dh * 2 + 255) / 256) * 256;
      SavedForward *sv = savedFor(pv, in.outputs()->Get(0));  // kept for the backward
      if (sv && !sv->q.p)
        sv = nullptr;
      if (sv)
        qs = sv->q.p, ks = sv->k.p;
      ra.pos = reinterpret_cast<const int32_t *>(zeroPos_.p);
      ra.posFromDevice = 0;
      ra.job[0] = {bf(q.p), bf(qs), (int)Hq, (int)(Hq * Dh), (int)L, 0, rotate ? 1 : 0};
      ra.job[1] = {bf(k.p), bf(ks), (int)Hkv, (int)(Hkv * Dh), (int)L, 0, rotate ? 1 : 0};
      HYBRID_RETURN_IF_ERROR(launch(kn::rope(Dh), (unsigned)T, 2, 1, 0, &ra));
      ::hyb::AttnArgs aa{};
      aa.q = bf(qs), aa.k = bf(ks), aa.v = bf(v.p), aa.out = bf(o.p);
      aa.pos = ra.pos;
      aa.B = (int)B, aa.L = (int)L, aa.Hq = (int)Hq, aa.Hkv = (int)Hkv, aa.ctx = (int)L;
      aa.window = (int)at.i("window", 0);
      double sc = at.f("scale", 0.0);
      aa.scale = (float)(sc > 0 ? sc : 1.0 / std::sqrt((double)Dh));
      aa.lse = sv ? f32p(sv->lse.p) : nullptr;
      return launch(kn::attnPrefill(Dh), (unsigned)((L + 63) / 64), (unsigned)Hq, (unsigned)B, 0,
                    &aa);
    }
    if (!slot || !slot->k.p)
      return HYBRID_ERROR("attention without a KV cache slot");
    CUdeviceptr qs = ws.scratch.p;
    ra.posFromDevice = 1;
    ra.job[0] = {bf(q.p), bf(qs), (int)Hq, (int)(Hq * Dh), (int)L, 0, rotate ? 1 : 0};
    ra.job[1] = {bf(k.p), bf(slot->k.p), (int)Hkv, (int)(Hkv * Dh), (int)slot->maxContext, 1,
                 rotate ? 1 : 0};
    ra.job[2] = {bf(v.p), bf(slot->v.p), (int)Hkv, (int)(Hkv * Dh), (int)slot->maxContext, 1, 0};
    HYBRID_RETURN_IF_ERROR(launch(kn::rope(Dh), (unsigned)T, 3, 1, 0, &ra));
    ::hyb::AttnArgs aa{};
    aa.q = bf(qs);
    aa.k = bf(slot->k.p);
    aa.v = bf(slot->v.p);
    aa.out = bf(o.p);
    aa.pos = ra.pos;
    aa.B = (int)B, aa.L = (int)L, aa.Hq = (int)Hq, aa.Hkv = (int)Hkv;
    aa.ctx = (int)slot->maxContext;
    aa.window = (int)at.i("window", 0);
    double scale = at.f("scale", 0.0);
    aa.scale = (float)(scale > 0 ? scale : 1.0 / std::sqrt((double)Dh));
    if (L == 1 && attnCounter_.p && B * Hq <= attnRowsMax_) {
      // Decode: split the keys so that ~2 blocks per SM work (132 SMs on an
      // H100), each split >= 64 keys at the maximum context.
      int S = (int)std::min<int64_t>(32, std::max<int64_t>(1, 264 / (B * Hq)));
      while (S > 1 && slot->maxContext / S < 64)
        S /= 2;
      aa.splits = S;
      aa.part = reinterpret_cast<float *>(attnPart_.p);
      aa.counter = reinterpret_cast<int *>(attnCounter_.p);
      return launch(kn::attnDecode(Dh), (unsigned)Hq, (unsigned)S, (unsigned)B,
                    (size_t)slot->maxContext * 4, &aa);
    }
    if (L <= 8)
      return launch(kn::attnDecode(Dh), (unsigned)Hq, (unsigned)L, (unsigned)B,
                    (size_t)slot->maxContext * 4, &aa);
    return launch(kn::attnPrefill(Dh), (unsigned)((L + 63) / 64), (unsigned)Hq, (unsigned)B, 0,
                  &aa);
  }
  return HYBRID_ERROR("no CUDA launcher for op '", op, "'");
}

} // namespace cudart

using cudart::CudaSession;

StatusOr<std::unique_ptr<Session>> createCudaSession(const Model &model, int64_t batch) {
  if (batch <= 0)
    return HYBRID_ERROR("batch must be positive, got ", batch);
  auto s = std::make_unique<CudaSession>(model, batch);
  HYBRID_RETURN_IF_ERROR(s->init());
  return std::unique_ptr<Session>(std::move(s));
}

StatusOr<CudaBenchResult> cudaBench(const Model &model, int64_t batch, int64_t seq,
                                    int64_t decodeTokens, int reps) {
  auto made = createCudaSession(model, batch);
  if (!made.ok())
    return made.status();
  auto *s = static_cast<CudaSession *>(made.value().get());
  CudaBenchResult r;
  r.device = s->deviceName();
  r.weightBytes = s->weightBytes();
  r.decodeCacheBytes = s->decodeCacheBytes(seq);
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> tok(0, (int32_t)model.vocab() - 1);
  std::vector<int32_t> ids(batch * seq), one(batch);
  for (auto &v : ids)
    v = tok(rng);
  for (auto &v : one)
    v = tok(rng);
  CUevent e0, e1;
  HYB_CUDA(cuEventCreate(&e0, CU_EVENT_DEFAULT));
  HYB_CUDA(cuEventCreate(&e1, CU_EVENT_DEFAULT));
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  // Prefill: each run starts from position 0 (caches zeroed outside the timing).
  std::vector<double> pre;
  for (int i = 0; i < reps + 2; ++i) {
    s->reset();
    HYBRID_RETURN_IF_ERROR(s->uploadIds(ids.data(), seq));
    HYB_CUDA(cuEventRecord(e0, s->stream()));
    HYBRID_RETURN_IF_ERROR(s->enqueue(seq));
    HYB_CUDA(cuEventRecord(e1, s->stream()));
    HYBRID_RETURN_IF_ERROR(s->sync());
    float ms = 0;
    HYB_CUDA(cuEventElapsedTime(&ms, e0, e1));
    if (i >= 2)
      pre.push_back(ms);
  }
  r.prefillMs = median(pre);
  // Decode at context `seq`: after the prefill, time `decodeTokens` steps, each
  // at its own position, `reps` rounds (the position is rewound each round).
  s->reset();
  HYBRID_RETURN_IF_ERROR(s->uploadIds(ids.data(), seq));
  HYBRID_RETURN_IF_ERROR(s->enqueue(seq));
  HYBRID_RETURN_IF_ERROR(s->sync());
  const int64_t steps = std::max<int64_t>(1, std::min(decodeTokens, model.maxContext() - seq));
  std::vector<double> dec;
  for (int round = 0; round < reps + 1; ++round) {
    s->setPosition(seq);
    HYBRID_RETURN_IF_ERROR(s->uploadIds(one.data(), 1));
    HYBRID_RETURN_IF_ERROR(s->enqueue(1));  // warm-up (and graph capture the first time)
    HYBRID_RETURN_IF_ERROR(s->sync());
    s->setPosition(seq);
    HYB_CUDA(cuEventRecord(e0, s->stream()));
    for (int64_t t = 0; t < steps; ++t) {
      s->setPosition(seq + t);
      HYBRID_RETURN_IF_ERROR(s->uploadIds(one.data(), 1));
      HYBRID_RETURN_IF_ERROR(s->enqueue(1));
      HYBRID_RETURN_IF_ERROR(s->sync());  // the pinned staging buffer is reused
    }
    HYB_CUDA(cuEventRecord(e1, s->stream()));
    HYBRID_RETURN_IF_ERROR(s->sync());
    float ms = 0;
    HYB_CUDA(cuEventElapsedTime(&ms, e0, e1));
    if (round >= 1)
      dec.push_back(ms / steps);
  }
  r.decodeMsPerToken = median(dec);
  cuEventDestroy(e0);
  cuEventDestroy(e1);
  return r;
}

} // namespace hybrid
