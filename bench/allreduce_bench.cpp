// All-reduce (sum, float32) over Gloo on loopback between 2 processes: Keel's communicator (connect_gloo)
// against raw Gloo (gloo::allreduce on a context this program makes itself, met through a FileStore) in the
// same run, 1 KB to 64 MB. Run it without arguments: it starts itself twice with RANK=0/1, and rank 0 prints
//   size | keel us | raw gloo us | keel GB/s (algbw) | ratio (keel / raw)
// Each figure is the median over the repetitions (at least 5, after 3 warm-up calls) of rank 0's time for
// one call, measured after a barrier over the same connections; algbw = bytes / time.
// Options: --reps N (the most repetitions per size, default 200).
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/transport/tcp/device.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "keel/core/tensor.h"
#include "keel/distribute/communicator.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The parent: starts rank 0 and rank 1 of this program and waits for both.
int launch(char** argv) {
  std::string dir = (fs::temp_directory_path() / "keel-allreduce-bench-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) return std::perror("mkdtemp"), 1;
  const std::string port = std::to_string(free_port());
  std::vector<pid_t> children;
  for (int rank = 0; rank < 2; ++rank) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", "2", 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      ::setenv("KEEL_BENCH_STORE", dir.c_str(), 1);
      ::execv("/proc/self/exe", argv);
      std::perror("execv");
      ::_exit(127);
    }
    children.push_back(pid);
  }
  int failed = 0;
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    failed |= !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  fs::remove_all(dir);
  return failed;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

template <class F>
double time_us(F&& f) {
  const auto start = Clock::now();
  f();
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

int run_rank(int rank, int max_reps) {
  keel::distribute::RendezvousOptions options;
  options.rank = rank;
  options.world_size = 2;
  options.master_address = "127.0.0.1";
  options.master_port = std::atoi(std::getenv("MASTER_PORT"));
  options.timeout = std::chrono::seconds(120);
  auto keel_comm = keel::distribute::connect_gloo(options);

  gloo::transport::tcp::attr attr;
  attr.hostname = "127.0.0.1";
  auto device = gloo::transport::tcp::CreateDevice(attr);
  auto raw = std::make_shared<gloo::rendezvous::Context>(rank, 2);
  raw->setTimeout(std::chrono::seconds(120));
  gloo::rendezvous::FileStore store(std::getenv("KEEL_BENCH_STORE"));
  raw->connectFullMesh(store, device);
  auto raw_barrier = [&] {
    gloo::BarrierOptions opts(raw);
    gloo::barrier(opts);
  };
  auto raw_all_reduce = [&](std::vector<float>& v) {
    gloo::AllreduceOptions opts(raw);
    opts.setOutput(v.data(), v.size());
    opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<float>));
    gloo::allreduce(opts);
  };

  if (rank == 0) {
    std::printf("all-reduce sum of float32, 2 processes on loopback (median of rank 0's time per call)\n");
    std::printf("%10s | %10s | %12s | %17s | %5s\n", "size", "keel us", "raw gloo us", "keel GB/s (algbw)", "ratio");
  }
  for (size_t bytes = 1024; bytes <= (size_t{64} << 20); bytes *= 4) {
    const size_t n = bytes / sizeof(float);
    // Zeros stay zeros under repeated sums: no growth into infinities, no denormals.
    keel::Tensor tensor = keel::zeros({static_cast<int64_t>(n)}, keel::DType::f32, keel::Device::cpu());
    std::vector<float> buffer(n, 0.0f);
    // One checked call first: both paths must produce the sum.
    keel::Tensor check = keel::full({static_cast<int64_t>(n)}, rank + 1.0, keel::DType::f32, keel::Device::cpu());
    keel_comm->all_reduce(check);
    std::vector<float> raw_check(n, rank + 1.0f);
    raw_all_reduce(raw_check);
    if (check.data<float>()[n - 1] != 3.0f || raw_check[n - 1] != 3.0f) {
      std::fprintf(stderr, "rank %d: wrong all-reduce result at %zu bytes\n", rank, bytes);
      return 1;
    }
    for (int i = 0; i < 3; ++i) {
      keel_comm->all_reduce(tensor);
      raw_all_reduce(buffer);
    }
    const int reps = static_cast<int>(std::clamp<size_t>((size_t{256} << 20) / bytes, 5, std::max(5, max_reps)));
    std::vector<double> keel_us, raw_us;
    // Each call follows a barrier over its own connections (so both find their transport thread equally
    // awake), and which goes first alternates.
    for (int i = 0; i < reps; ++i) {
      for (int k = 0; k < 2; ++k) {
        if ((i + k) % 2 == 0) {
          keel_comm->barrier();
          keel_us.push_back(time_us([&] { keel_comm->all_reduce(tensor); }));
        } else {
          raw_barrier();
          raw_us.push_back(time_us([&] { raw_all_reduce(buffer); }));
        }
      }
    }
    if (rank == 0) {
      const double k = median(keel_us), r = median(raw_us);
      const std::string size =
          bytes >= (1 << 20) ? std::to_string(bytes >> 20) + " MB" : std::to_string(bytes >> 10) + " KB";
      std::printf("%10s | %10.1f | %12.1f | %17.3f | %5.2f\n", size.c_str(), k, r, bytes / (k * 1e3), k / r);
    }
  }
  keel_comm->barrier();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int max_reps = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--reps") max_reps = std::atoi(argv[i + 1]);
  }
  const char* rank = std::getenv("RANK");
  if (rank == nullptr || std::getenv("KEEL_BENCH_STORE") == nullptr) return launch(argv);
  try {
    return run_rank(std::atoi(rank), max_reps);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %s: %s\n", rank, e.what());
    return 1;
  }
}
