//===- TrainCheck.h - hybrid-run train-check and train-bench ----*- C++ -*-===//
#ifndef HYBRID_TOOLS_HYBRID_RUN_TRAINCHECK_H
#define HYBRID_TOOLS_HYBRID_RUN_TRAINCHECK_H

namespace hybrid {
/// `hybrid-run train-check MODEL.hyb ...`: GPU vs CPU gradients (argv[0] = the command).
int runTrainCheckCommand(int argc, char **argv);
/// `hybrid-run train-bench MODEL.hyb ...`: optimizer steps per second on the GPU.
int runTrainBenchCommand(int argc, char **argv);
} // namespace hybrid

#endif // HYBRID_TOOLS_HYBRID_RUN_TRAINCHECK_H
