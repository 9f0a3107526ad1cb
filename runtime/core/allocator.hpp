#pragma once
// Process-wide allocator policy for the runtime's executables.

namespace lb {

// Keeps memory that is freed inside the process for reuse instead of
// returning it to the kernel. glibc serves large blocks with mmap and unmaps
// them on free, so a buffer of many MiB allocated per call (Open MPI's
// all-reduce temporaries, staging buffers) is page-faulted in afresh every
// time; in this project's VM that made a 32 MiB MPI_Allreduce 9x slower than
// with the memory kept (bench/results/2026-11-25-1841-comm.md). Call first
// thing in main, before MPI_Init. Returns false if glibc refused a setting.
bool keep_freed_memory();

}  // namespace lb
