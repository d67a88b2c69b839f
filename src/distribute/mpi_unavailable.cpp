// connect_mpi in a build configured without MPI (CMake found no MPI library): the Gloo backend remains.
#include "distribute/collective_util.h"
#include "keel/core/error.h"
#include "keel/distribute/communicator.h"

namespace keel::distribute {

bool detail::have_mpi() { return false; }

std::unique_ptr<Communicator> connect_mpi() {
  throw UnimplementedError(
      "connect_mpi: this build of Keel has no MPI (CMake found no MPI library when it was configured); install "
      "Open MPI (libopenmpi-dev) and reconfigure, or use the Gloo backend");
}

}  // namespace keel::distribute
