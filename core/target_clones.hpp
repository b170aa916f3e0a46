#pragma once
// SDM_TARGET_CLONES: compile a hot loop for AVX-512, AVX2 and baseline x86-64 and pick the
// best at load time (GCC function multi-versioning), so one binary is fast on every x86-64
// machine without -march=native. Elsewhere it expands to nothing (plain portable code).
// Clones may round differently (FMA contraction), so results agree to the last bits only on
// machines that select the same clone.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SDM_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SDM_TARGET_CLONES
#endif
