#!/usr/bin/env bash
# Runs an MPI test program under mpirun with N ranks; exits 77 (ctest: skipped)
# with a SKIPPED line when OpenMPI is not installed.
set -u
np=$1
shift
if ! command -v mpirun >/dev/null 2>&1; then
  echo "SKIPPED: mpirun not found (install openmpi-bin)"
  exit 77
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Shared-memory and loopback transports only: tests never leave this machine.
exec mpirun --oversubscribe --bind-to none -np "$np" --mca btl self,vader,tcp \
  --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo "$@"
