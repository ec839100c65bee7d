//===- all.cuh - Every kernel template (the generated unit includes this) -===//
#pragma once
#include "attention.cuh"
#include "attention_mma.cuh"
#include "conv.cuh"
#include "elementwise.cuh"
#include "gemv.cuh"
#include "norms.cuh"
#include "optim.cuh"
#include "rope.cuh"
#include "scan.cuh"
#include "ssd_chunk.cuh"
#include "ssd_chunk_bwd.cuh"
#include "train.cuh"
