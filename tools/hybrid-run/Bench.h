//===- Bench.h - hybrid-run bench, and the CUDA session when built --------===//
#ifndef HYBRID_TOOLS_HYBRID_RUN_BENCH_H
#define HYBRID_TOOLS_HYBRID_RUN_BENCH_H

#include "runtime/exec/Executor.h"

namespace hybrid {
/// The CUDA executor's session, or a clear error in a build without it.
StatusOr<std::unique_ptr<Session>> createDeviceSession(const Model &model, int64_t batch);
/// `hybrid-run bench MODEL.hyb ...` (argv[1] == "bench"); returns the exit code.
int runBenchCommand(int argc, char **argv);
} // namespace hybrid

#endif // HYBRID_TOOLS_HYBRID_RUN_BENCH_H
