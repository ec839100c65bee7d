//===- CudaSessionImpl.h - The CUDA executor's internals ---------*- C++ -*-===//
//
// The session class shared by the inference launchers (CudaSession.cpp) and
// the training ones (CudaTrain.cpp): device context, device buffers, the
// cuBLASLt GEMM and the per-op launch. Private to runtime/cuda/.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_CUDA_CUDASESSIONIMPL_H
#define HYBRID_RUNTIME_CUDA_CUDASESSIONIMPL_H

#include "runtime/cuda/CudaSession.h"

#include "codegen/KernelPlan.h"
#include "codegen/kernels/KernelArgs.h"
#include "codegen/kernels/AttnBwdArgs.h"
#include "codegen/kernels/MambaBwdArgs.h"
#include "codegen/kernels/RowsBwdArgs.h"
#include "codegen/kernels/TrainArgs.h"

#include <cublasLt.h>
#include <cuda.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace hybrid {
namespace cudart {


using codegen::InstrAttrs;
using codegen::KernelInst;
using codegen::ProgramView;
namespace kn = codegen::kn;

inline Status cudaStatus(CUresult r, const char *expr, const char *file, int line) {
  if (r == CUDA_SUCCESS)
    return Status();
  const char *name = nullptr, *msg = nullptr;
  cuGetErrorName(r, &name);
  cuGetErrorString(r, &msg);
  std::string m = strCat("CUDA error ", name ? name : "?", " (", msg ? msg : "", ") in ", expr);
  if (r == CUDA_ERROR_OUT_OF_MEMORY)
    m = "out of GPU memory: " + m + " (try a smaller --batch or --max-context)";
  return Status::error(m, file, line);
}
inline Status cudaStatus(cublasStatus_t r, const char *expr, const char *file, int line) {
  if (r == CUBLAS_STATUS_SUCCESS)
    return Status();
  return Status::error(strCat("cuBLASLt error ", cublasLtGetStatusName(r), " (",
                              cublasLtGetStatusString(r), ") in ", expr),
                       file, line);
}

// Every CUDA driver / cuBLASLt call goes through this one macro.
#define HYB_CUDA(expr)                                                                       \
  do {                                                                                       \
    ::hybrid::Status st_ = ::hybrid::cudart::cudaStatus((expr), #expr, __FILE__, __LINE__);                    \
    if (!st_.ok())                                                                           \
      return st_;                                                                            \
  } while (0)

// Scratch sub-buffers start at 256-byte boundaries: room for the padding.
constexpr int64_t kScratchSlack = 1024;

inline int64_t prod(const flatbuffers::Vector<int64_t> *v) {
  int64_t p = 1;
  for (int64_t d : *v)
    p *= d;
  return p;
}

inline bool envOn(const char *name, bool dflt) {
  const char *v = std::getenv(name);
  if (!v || !*v)
    return dflt;
  return std::string(v) != "0";
}

/// The device-side context: one per process and device 0.
struct Device {
  CUdevice dev = 0;
  CUcontext ctx = nullptr;
  std::string name;
  int sms = 132;  // streaming multiprocessors (grid sizes of one resident wave)
  int smemOptin = 48 * 1024;  // dynamic shared memory a block may opt into
  static StatusOr<Device *> get() {
    static Device d;
    static Status init = d.init();
    if (!init.ok())
      return init;
    HYB_CUDA(cuCtxSetCurrent(d.ctx));
    return &d;
  }
  Status init() {
    CUresult r = cuInit(0);
    if (r != CUDA_SUCCESS) {
      const char *name = nullptr;
      cuGetErrorName(r, &name);
      return HYBRID_ERROR("no CUDA device available (cuInit failed: ", name ? name : "",
                          " code ", (int)r, "); run with --device cpu");
    }
    int n = 0;
    HYB_CUDA(cuDeviceGetCount(&n));
    if (n == 0)
      return HYBRID_ERROR("no CUDA device found; run with --device cpu");
    HYB_CUDA(cuDeviceGet(&dev, 0));
    char buf[256] = {0};
    HYB_CUDA(cuDeviceGetName(buf, sizeof buf, dev));
    name = buf;
    HYB_CUDA(cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
    HYB_CUDA(cuDeviceGetAttribute(&smemOptin,
                                  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, dev));
    HYB_CUDA(cuDevicePrimaryCtxRetain(&ctx, dev));
    return Status();
  }
};

struct DevBuf {
  CUdeviceptr p = 0;
  size_t bytes = 0;
  DevBuf() = default;
  DevBuf(const DevBuf &) = delete;  // owns device memory
  DevBuf &operator=(const DevBuf &) = delete;
  DevBuf(DevBuf &&o) noexcept : p(o.p), bytes(o.bytes) { o.p = 0, o.bytes = 0; }
  Status alloc(size_t n) {
    if (n <= bytes)
      return Status();
    if (p)
      cuMemFree(p);
    p = 0;
    bytes = 0;
    HYB_CUDA(cuMemAlloc(&p, std::max<size_t>(n, 256)));
    bytes = n;
    return Status();
  }
  ~DevBuf() {
    if (p)
      cuMemFree(p);
  }
};

/// Buffers of one run shape: the activation arena and the per-op scratch.
struct Workspace {
  DevBuf arena, scratch, ids;
  DevBuf fixed, labels;  // train_step: loss and weight gradients; the labels input
  int64_t tokens = 0;
};

struct Slot {
  DevBuf k, v, conv, ssm;
  int64_t maxContext = 0;
};

class CudaSession : public Session {
public:
  CudaSession(const Model &model, int64_t batch) : model_(model), batch_(batch) {}
  ~CudaSession() override {
    if (graphExec_)
      cuGraphExecDestroy(graphExec_);
    auto destroy = [](Gemm &g) {
      cublasLtMatmulDescDestroy(g.desc);
      cublasLtMatrixLayoutDestroy(g.a);
      cublasLtMatrixLayoutDestroy(g.b);
      cublasLtMatrixLayoutDestroy(g.c);
    };
    for (auto &kv : gemmCache_)
      destroy(std::get<0>(kv.second));
    for (auto &kv : gemmExCache_)
      destroy(std::get<0>(kv.second));
    if (lt_)
      cublasLtDestroy(lt_);
    if (module_)
      cuModuleUnload(module_);
    if (stream_)
      cuStreamDestroy(stream_);
    if (hostPinned_)
      cuMemFreeHost(hostPinned_);
  }

  Status init();
  // Training (CudaTrain.cpp): train_step on the device, AdamW where the
  // weights are. initTrain() loads train_step's kernels and the fp32 master
  // weights; trainStep() runs the forward (and the backward when `backward`)
  // on batch x seq tokens and returns the mean loss; with `accumulate` the
  // weight gradients are added to the accumulators, else they replace them.
  Status initTrain();
  StatusOr<double> trainStep(const int32_t *ids, const int32_t *labels, int64_t seq,
                             bool backward, bool accumulate);
  Status downloadGradients(std::vector<std::vector<float>> *grads);
  StatusOr<double> adamwStep(const DeviceAdamW &u);
  Status downloadWeights(std::vector<std::vector<float>> *weights);
  Status downloadMoments(std::vector<std::vector<float>> *m, std::vector<std::vector<float>> *v);
  Status uploadMoments(const std::vector<std::vector<float>> &m,
                       const std::vector<std::vector<float>> &v);
  double trainDeviceBytes() const;
  Status forward(const int32_t *ids, int64_t seq, std::vector<float> *logits) override;
  int64_t position() const override { return pos_; }
  void reset() override {
    pos_ = 0;
    (void)zeroCaches();
  }

  // Bench hooks.
  Status enqueue(int64_t seq);  // the program for seq, on the stream, ids already uploaded
  Status uploadIds(const int32_t *ids, int64_t seq);
  Status sync() {
    HYB_CUDA(cuStreamSynchronize(stream_));
    return Status();
  }
  CUstream stream() const { return stream_; }
  void setPosition(int64_t p) { pos_ = p; }
  double weightBytes() const { return weightBytes_; }
  double decodeCacheBytes(int64_t ctx) const;
  const std::string &deviceName() const { return dev_->name; }

private:
  struct Ref {
    CUdeviceptr p = 0;
    std::vector<int64_t> shape;  // full: [B, L, trailing] or the weight's shape
    bool f32 = false;
    int64_t last() const { return shape.back(); }
    int64_t rows() const {
      int64_t n = 1;
      for (size_t i = 0; i + 1 < shape.size(); ++i)
        n *= shape[i];
      return n;
    }
    int64_t numel() const { return rows() * last(); }
  };
  struct Gemm {
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, c;
    cublasLtMatmulAlgo_t algo;
  };

  Status zeroCaches();
  Status loadKernels(const hyb::Program &p, const ProgramView &pv);
  /// A value of a running program: weight, input, activation (arena) or,
  /// for train_step, fixed-size (loss, weight gradients).
  Ref refOf(const hyb::Program &p, const ProgramView &pv, int id, Workspace &ws, int64_t B,
            int64_t L) const;
  Status launchTrainOp(const hyb::Program &p, const ProgramView &pv, const hyb::Instr &in,
                       int64_t seq, Workspace &ws);
  int64_t trainScratchBytes(int64_t B, int64_t L) const;
  Status mamba2CoreGrad(const hyb::Program &p, const ProgramView &pv, const hyb::Instr &in,
                        int64_t seq, Workspace &ws);
  Status ssdBackward(const ::hyb::ScanGradArgs &a, int64_t N);
  Status trainScan(const hyb::Instr &in, CUdeviceptr act, const void *dtRaw, bool dtF32, int lddt,
                   const float *dtBias, const float *aLog, const float *d, CUdeviceptr dt,
                   CUdeviceptr y, CUdeviceptr states, int64_t B, int64_t L);
  /// A cuBLASLt GEMM (bf16 A and B, fp32 accumulate) and its heuristic algorithm.
  StatusOr<Gemm> makeGemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, int64_t lda,
                          int64_t ldb, int64_t ldc, bool cF32, int alA, int alB, int alC);
  /// C[m, n] (col-major, ldc) = alpha * op(A) op(B) + beta * C; A, B bf16.
  Status gemmEx(bool transA, bool transB, int64_t m, int64_t n, int64_t k, CUdeviceptr A,
                int64_t lda, CUdeviceptr B, int64_t ldb, CUdeviceptr C, int64_t ldc, float alpha,
                float beta, bool cF32);
  /// dst[r, c] = src[r, c] (fp32 rows, strides in elements) as bf16 (the GEMM
  /// operand copy of a gradient) or fp32 (a strided column copy).
  /// Blocks of `k` resident on the whole device at once (occupancy x SMs; 0
  /// if unknown), cached by name.
  int64_t residentBlocks(const KernelInst &k);
  Status castRows(CUdeviceptr src, int64_t lds, CUdeviceptr dst, int64_t ldd, int64_t rows,
                  int64_t width, bool toBf16);
  /// out = a + b (b null: out = f * a) over n fp32 values; out may alias a or b.
  Status f32Axpy(CUdeviceptr a, CUdeviceptr b, CUdeviceptr out, int64_t n, float f = 1.f);
  Status runProgram(const hyb::Program &p, const ProgramView &pv, int64_t seq, Workspace &ws);
  Status dumpOutputs(const ProgramView &pv, const hyb::Instr &in, int index, int64_t seq,
                     Workspace &ws, const std::string &dir);
  Status launchOp(const hyb::Program &p, const ProgramView &pv, const hyb::Instr &in,
                  int64_t seq, Workspace &ws);
  Status launch(const KernelInst &k, unsigned gx, unsigned gy, unsigned gz, size_t smem,
                const void *args);
  Status launch1d(const KernelInst &k, int64_t n, const void *args) {
    int64_t blocks = std::min<int64_t>((n + k.threads - 1) / k.threads, 8192);
    return launch(k, (unsigned)std::max<int64_t>(blocks, 1), 1, 1, 0, args);
  }
  /// out[T, N] (ldo) = alpha * x[T, K] (ldx) W[N, K]^T + beta * out.
  Status gemm(CUdeviceptr x, int64_t ldx, CUdeviceptr w, CUdeviceptr out, int64_t ldo, int64_t T,
              int64_t K, int64_t N, float alpha, float beta, bool outF32);
  int64_t scratchPerToken(const hyb::Program &p, const ProgramView &pv) const;

  const Model &model_;
  int64_t batch_;
  int64_t pos_ = 0;
  Device *dev_ = nullptr;
  CUstream stream_ = nullptr;
  CUmodule module_ = nullptr;
  std::map<std::string, CUfunction> fns_;
  std::vector<DevBuf> weights_;
  std::vector<bool> weightBf16_;
  double weightBytes_ = 0;
  std::vector<Slot> slots_;
  std::map<const hyb::Instr *, DevBuf> invFreq_;  // rotary frequencies per rope op
  Status prepareRope(const hyb::Instr &in, int64_t headDim);
  DevBuf posDev_, gemmWs_;
  DevBuf attnPart_, attnCounter_;  // split-key attention decode (zeroed counters)
  int64_t attnRowsMax_ = 0;        // rows (batch x heads) the two above hold at 32 splits
  void *hostPinned_ = nullptr;     // [0]: pos, [1..]: ids staging
  size_t hostPinnedBytes_ = 0;
  Workspace prefillWs_, decodeWs_;
  cublasLtHandle_t lt_ = nullptr;
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int, int, int>,
           std::tuple<Gemm>>
      gemmCache_;
  const hyb::Program *prefill_ = nullptr, *decode_ = nullptr;
  /// train_step: what a forward op keeps for its backward when memory allows
  /// (else the backward recomputes it): mamba2_core's conv + SiLU output, dt,
  /// scan output and chunk states; rope_attention's rotated q, k and the
  /// log-sum-exp; swiglu_linear's gate and up projections.
  struct SavedForward {
    DevBuf act, y, dt, states;
    DevBuf q, k, lse;
    DevBuf g, u;  // swiglu_linear's two GEMM outputs (bf16)
  };
  /// The saved buffers of the forward op whose result is value `id`, or null.
  SavedForward *savedFor(const ProgramView &pv, int id);
  Status planSavedForward(int64_t B, int64_t L);
  Status trainScanForward(SavedForward &sv, const hyb::Instr &in, const void *dtRaw, bool dtF32,
                          int lddt, const float *dtBias, const float *aLog, const float *d,
                          int64_t B, int64_t L);
  // Training state (CudaTrain.cpp).
  const hyb::Program *train_ = nullptr;
  std::unique_ptr<ProgramView> trainView_;
  Workspace trainWs_;
  std::vector<DevBuf> master_;        // fp32 master copies of the bf16-stored weights
  DevBuf gradAcc_, momentM_, momentV_;  // fp32, laid out as the fixed arena's gradients
  DevBuf embCounts_;  // the embedding backward's per-id counts: zero between launches
  DevBuf zeroPos_, optimTable_, optimBlocks_, optimPartial_, optimScalars_;
  int64_t optimBlockCount_ = 0, adamT_ = 0;
  int accumulated_ = 0;               // micro-batches in the gradients
  bool gradsInFixed_ = true;           // one micro-batch: the gradients are the fixed arena's
  DevBuf optimTableFixed_;             // the optimizer's tensor table reading the fixed arena
  CUdeviceptr gradSource() const { return gradsInFixed_ ? trainWs_.fixed.p : gradAcc_.p; }
  std::map<int, SavedForward> saved_;  // by the forward op's result (root value id)
  bool saveForward_ = false;           // this step keeps forward state (memory allowed)
  int64_t savedTokens_ = -1;
  std::map<std::tuple<int, int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, int>,
           std::tuple<Gemm>>
      gemmExCache_;
  std::unique_ptr<ProgramView> prefillView_, decodeView_;
  int64_t scratchPrefill_ = 0, scratchDecode_ = 0;
  bool useGraph_ = true, syncEach_ = false, useGemv_ = true;
  // Programmatic dependent launch between the generated kernels of decode
  // (HYBRIDC_CUDA_PDL=0 turns it off): pdlProgram_ while a decode program is
  // enqueued, pdlNext_ once a generated kernel precedes the next launch.
  bool gemvOneWave_ = true;  // gemvSplit: keep a decode GEMV grid within one wave
  std::map<std::string, int64_t> resident_;  // residentBlocks() by kernel name
  bool usePdl_ = true, pdlProgram_ = false, pdlNext_ = false;
  int profileStep_ = 0;  // HYBRIDC_CUDA_PROFILE: decode steps left before the profiled one
  CUgraphExec graphExec_ = nullptr;
};

} // namespace cudart
} // namespace hybrid

#endif // HYBRID_RUNTIME_CUDA_CUDASESSIONIMPL_H
