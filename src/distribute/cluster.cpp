// connect_to_cluster / initialize_system: the process-wide connection to the cluster a resolver describes.
// Backend "auto" is MPI when mpirun started the process (and the build has MPI), else Gloo meeting at the
// resolver's master address; a single process connects to nobody (an in-process group of one).
#include "keel/distribute/cluster.h"

#include <mutex>
#include <sstream>

#include "distribute/collective_util.h"
#include "keel/core/error.h"

namespace keel::distribute {

namespace {

// What a connection was made for; a second call must describe the same cluster.
struct ClusterKey {
  ClusterSource source;
  int rank, world_size;
  std::string master_address;
  int master_port;
  bool operator==(const ClusterKey&) const = default;

  std::string str() const {
    std::ostringstream os;
    os << "rank " << rank << " of " << world_size << " (" << to_string(source) << ", master " << master_address << ":"
       << master_port << ")";
    return os.str();
  }
};

struct Connection {
  std::mutex mutex;
  std::shared_ptr<Communicator> communicator;
  ClusterKey key{};
};

Connection& connection() {
  static Connection c;
  return c;
}

std::shared_ptr<Communicator> connect(const ClusterResolver& resolver, const ConnectOptions& options) {
  const std::string& backend = options.backend;
  KEEL_CHECK(backend == "auto" || backend == "gloo" || backend == "mpi", ValueError, "connect_to_cluster: backend '",
             backend, "' is not one of 'auto', 'gloo', 'mpi'");
  const std::chrono::milliseconds timeout = detail::collective_timeout(options.timeout);
  if (resolver.world_size() == 1) {
    std::shared_ptr<Communicator> single = std::move(make_in_process_group(1).front());
    single->set_timeout(timeout);
    return single;
  }
  const bool use_mpi =
      backend == "mpi" || (backend == "auto" && detail::have_mpi() && resolver.source() == ClusterSource::kOpenMpi);
  if (use_mpi) {
    std::shared_ptr<Communicator> mpi = connect_mpi();
    KEEL_CHECK(mpi->rank() == resolver.rank() && mpi->size() == resolver.world_size(), RuntimeError,
               "connect_to_cluster: MPI_COMM_WORLD has this process as rank ", mpi->rank(), " of ", mpi->size(),
               ", but the resolver (", to_string(resolver.source()), ") says rank ", resolver.rank(), " of ",
               resolver.world_size(), "; was the program started by mpirun with these variables?");
    return mpi;
  }
  RendezvousOptions rendezvous;
  rendezvous.rank = resolver.rank();
  rendezvous.world_size = resolver.world_size();
  rendezvous.master_address = resolver.master_address();
  rendezvous.master_port = resolver.master_port();
  rendezvous.timeout = timeout;
  return connect_gloo(rendezvous);
}

}  // namespace

std::shared_ptr<Communicator> connect_to_cluster(const ClusterResolver& resolver, const ConnectOptions& options) {
  KEEL_CHECK(resolver.rank() >= 0, ValueError, "connect_to_cluster: this process is ", to_string(resolver.source()),
             "'s ", resolver.task_type(), " (task ", resolver.task_type(), ":", resolver.task_id(),
             "), which takes no part in the collectives");
  const ClusterKey key{resolver.source(), resolver.rank(), resolver.world_size(), resolver.master_address(),
                       resolver.master_port()};
  Connection& c = connection();
  std::lock_guard lock(c.mutex);
  if (c.communicator != nullptr) {
    KEEL_CHECK(c.key == key, RuntimeError, "connect_to_cluster: this process is already connected as ", c.key.str(),
               "; it cannot also connect as ", key.str());
    return c.communicator;
  }
  std::shared_ptr<Communicator> communicator = connect(resolver, options);
  // Every worker is connected before any returns (TensorFlow's connect_to_cluster blocks the same way).
  communicator->barrier();
  c.communicator = std::move(communicator);
  c.key = key;
  return c.communicator;
}

int initialize_system() {
  std::shared_ptr<Communicator> communicator = cluster_communicator();
  if (communicator == nullptr) communicator = connect_to_cluster(ClusterResolver::from_environment());
  communicator->barrier();
  return communicator->size();
}

std::shared_ptr<Communicator> cluster_communicator() {
  Connection& c = connection();
  std::lock_guard lock(c.mutex);
  return c.communicator;
}

}  // namespace keel::distribute
