//===- Train.h - The `hybrid-run train` subcommand --------------*- C++ -*-===//
#ifndef HYBRID_TOOLS_HYBRID_RUN_TRAIN_H
#define HYBRID_TOOLS_HYBRID_RUN_TRAIN_H

/// `hybrid-run train MODEL.hyb --data FILE ... --steps N --batch B --seq L`:
/// argv[0] is "train" (or the program name), options follow. Returns the
/// exit code: 0 done, 1 failed, 2 bad command line.
int runTrainCommand(int argc, char **argv);

#endif // HYBRID_TOOLS_HYBRID_RUN_TRAIN_H
