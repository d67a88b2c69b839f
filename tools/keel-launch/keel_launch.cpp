// keel-launch: starts N local copies of a program with torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), as `torchrun --standalone --nproc-per-node N` does, plus a
// fresh job secret (KEEL_CLUSTER_SECRET) that lets only its copies join the rendezvous; forwards
// SIGINT/SIGTERM/SIGHUP to the copies and ends them all when one fails. POSIX only, no Keel library.
//
// The signals it waits for are blocked and taken with sigwaitinfo/sigtimedwait (SIGCHLD included), so there is
// no handler, no polling and no lost child exit.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace {

constexpr int kUsageExit = 2;
constexpr int kMaxProcesses = 1024;
constexpr auto kGracePeriod = std::chrono::seconds(5);
constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP};

constexpr const char* kUsage =
    "usage: keel-launch [--nproc N] [--master-addr ADDR] [--master-port PORT] [--] program [args...]\n";

constexpr const char* kHelp =
    "\n"
    "Starts N copies of program on this machine, as `torchrun --standalone --nproc-per-node N` does.\n"
    "Each copy gets these environment variables (read by distribute::ClusterResolver::from_environment()):\n"
    "  RANK, LOCAL_RANK               0 .. N-1\n"
    "  WORLD_SIZE, LOCAL_WORLD_SIZE   N\n"
    "  MASTER_ADDR                    --master-addr (default 127.0.0.1)\n"
    "  MASTER_PORT                    --master-port (default: a free port, found by binding port 0 on\n"
    "                                 MASTER_ADDR)\n"
    "  KEEL_CLUSTER_SECRET            the job secret: 32 random bytes in hex, new for every run, unless\n"
    "                                 already set; rank 0's rendezvous serves only processes that know it\n"
    "  OMP_NUM_THREADS=1              unless already set, as torchrun does, so that N processes do not\n"
    "                                 each start a thread per core\n"
    "\n"
    "SIGINT, SIGTERM and SIGHUP are forwarded to every copy. When a copy exits with a non-zero status or is\n"
    "killed by a signal, keel-launch says which rank it was, sends SIGTERM to the others (SIGKILL 5 s later\n"
    "to those still running) and exits with that copy's status, or 128 + the signal number. When every copy\n"
    "exits 0, keel-launch exits 0 (or 128 + the signal it forwarded, if it was asked to stop).\n"
    "\n"
    "options:\n"
    "  --nproc N            number of copies (default 1, at most 1024)\n"
    "  --master-addr ADDR   address where rank 0 serves the rendezvous\n"
    "  --master-port PORT   port for it, 1..65535\n"
    "  -h, --help           this text\n"
    "Bad arguments exit with status 2; a program that cannot be started, 127 (126 when not executable).\n";

struct Options {
  int nproc = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;  // 0: find a free one
  std::vector<std::string> command;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "keel-launch: %s\n%sTry 'keel-launch --help' for more information.\n", message.c_str(), kUsage);
  std::exit(kUsageExit);
}

std::optional<long> parse_integer(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
  return value;
}

int parse_bounded(const std::string& option, const std::string& text, long low, long high) {
  auto value = parse_integer(text);
  if (!value || *value < low || *value > high) {
    usage_error(option + " must be an integer in " + std::to_string(low) + ".." + std::to_string(high) + ", got '" +
                text + "'");
  }
  return static_cast<int>(*value);
}

Options parse_arguments(int argc, char** argv) {
  Options options;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "-h" || arg == "--help") {
      std::printf("%s%s", kUsage, kHelp);
      std::exit(0);
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // the program
    if (arg.rfind("--", 0) != 0) usage_error("unknown option '" + arg + "'");
    // --name=value or --name value
    std::string name = arg, value;
    bool has_value = false;
    if (size_t equals = arg.find('='); equals != std::string::npos) {
      name = arg.substr(0, equals);
      value = arg.substr(equals + 1);
      has_value = true;
    }
    if (name != "--nproc" && name != "--master-addr" && name != "--master-port") {
      usage_error("unknown option '" + name + "'");
    }
    if (!has_value) {
      if (i + 1 >= argc) usage_error(name + " needs a value");
      value = argv[++i];
    }
    if (name == "--nproc") options.nproc = parse_bounded(name, value, 1, kMaxProcesses);
    if (name == "--master-port") options.master_port = parse_bounded(name, value, 1, 65535);
    if (name == "--master-addr") {
      if (value.empty()) usage_error("--master-addr must not be empty");
      options.master_addr = value;
    }
  }
  if (i >= argc) usage_error("no program given");
  options.command.assign(argv + i, argv + argc);
  return options;
}

/// A port that is free on `address` now (the OS picks it for a bind to port 0). Another process may take it
/// before rank 0 binds it; torchrun --standalone accepts the same race.
int find_free_port(const std::string& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(address.c_str(), "0", &hints, &found); rc != 0) {
    std::fprintf(stderr, "keel-launch: cannot resolve --master-addr %s: %s\n", address.c_str(), gai_strerror(rc));
    std::exit(1);
  }
  int port = 0, error = 0;
  for (addrinfo* candidate = found; candidate != nullptr && port == 0; candidate = candidate->ai_next) {
    int fd = socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC, candidate->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof(bound);
    if (bind(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) == 0) {
      port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    } else {
      error = errno;
    }
    close(fd);
  }
  freeaddrinfo(found);
  if (port == 0) {
    std::fprintf(stderr, "keel-launch: cannot bind to %s to find a free port (%s); give one with --master-port\n",
                 address.c_str(), std::strerror(error));
    std::exit(1);
  }
  return port;
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGHUP:
      return "SIGHUP";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGILL:
      return "SIGILL";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGALRM:
      return "SIGALRM";
    case SIGTERM:
      return "SIGTERM";
    case SIGXCPU:
      return "SIGXCPU";
    default:
      return nullptr;
  }
}

std::string describe_signal(int sig) {
  const char* name = signal_name(sig);
  return name != nullptr ? name : "signal " + std::to_string(sig);
}

/// A new job secret: 32 bytes from the kernel's CSPRNG (getrandom, which blocks only until it is seeded at
/// boot), in hex. Exits 1 when the kernel has none to give: a guessable secret would protect nothing.
std::string new_job_secret() {
  unsigned char bytes[32];
  size_t have = 0;
  while (have < sizeof(bytes)) {
    const ssize_t n = getrandom(bytes + have, sizeof(bytes) - have, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::fprintf(stderr, "keel-launch: cannot draw the job secret (getrandom: %s)\n", std::strerror(errno));
      std::exit(1);
    }
    have += static_cast<size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : bytes) {
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  return hex;
}

/// The job secret: KEEL_CLUSTER_SECRET when the user set one (e.g. shared with processes started elsewhere),
/// else a new one.
std::string job_secret() {
  const char* set = std::getenv("KEEL_CLUSTER_SECRET");
  return set != nullptr && *set != '\0' ? set : new_job_secret();
}

/// The parent's environment with the launcher's variables replaced; OMP_NUM_THREADS kept when set.
std::vector<std::string> child_environment(const Options& options, int master_port, int rank,
                                           const std::string& secret) {
  const std::vector<std::pair<std::string, std::string>> ours = {
      {"RANK", std::to_string(rank)},       {"WORLD_SIZE", std::to_string(options.nproc)},
      {"LOCAL_RANK", std::to_string(rank)}, {"LOCAL_WORLD_SIZE", std::to_string(options.nproc)},
      {"MASTER_ADDR", options.master_addr}, {"MASTER_PORT", std::to_string(master_port)},
      {"KEEL_CLUSTER_SECRET", secret},
  };
  std::vector<std::string> env;
  bool has_omp_threads = false;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text = *entry;
    std::string name = text.substr(0, text.find('='));
    bool replaced = false;
    for (const auto& [our_name, value] : ours) replaced = replaced || name == our_name;
    if (!replaced) env.push_back(text);
    has_omp_threads = has_omp_threads || name == "OMP_NUM_THREADS";
  }
  for (const auto& [name, value] : ours) env.push_back(name + "=" + value);
  if (!has_omp_threads) env.push_back("OMP_NUM_THREADS=1");
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (std::string& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

struct Child {
  int rank;
  pid_t pid;
  bool running;
};

class Launcher {
 public:
  explicit Launcher(Options options) : options_(std::move(options)) {}

  int run() {
    // A SIGCHLD inherited as ignored would make the kernel reap the children before waitpid sees them.
    signal(SIGCHLD, SIG_DFL);
    sigemptyset(&waited_);
    sigaddset(&waited_, SIGCHLD);
    for (int sig : kForwardedSignals) {
      // A signal the caller ignores (nohup) stays ignored, here and in the children.
      struct sigaction current {};
      sigaction(sig, nullptr, &current);
      if (current.sa_handler != SIG_IGN) sigaddset(&waited_, sig);
    }
    sigprocmask(SIG_BLOCK, &waited_, &original_mask_);

    const int master_port = options_.master_port != 0 ? options_.master_port : find_free_port(options_.master_addr);
    spawn_all(master_port, job_secret());
    wait_for_children();
    if (exit_code_) return *exit_code_;
    return forwarded_signal_ != 0 ? 128 + forwarded_signal_ : 0;
  }

 private:
  void spawn_all(int master_port, const std::string& secret) {
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setsigmask(&attributes, &original_mask_);  // the children wait for nothing
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
    std::vector<std::string> args = options_.command;
    std::vector<char*> argv = pointers(args);
    for (int rank = 0; rank < options_.nproc; ++rank) {
      std::vector<std::string> env = child_environment(options_, master_port, rank, secret);
      std::vector<char*> envp = pointers(env);
      pid_t pid = 0;
      if (int error = posix_spawnp(&pid, argv[0], nullptr, &attributes, argv.data(), envp.data()); error != 0) {
        std::fprintf(stderr, "keel-launch: cannot start rank %d, '%s': %s\n", rank, argv[0], std::strerror(error));
        exit_code_ = error == ENOENT ? 127 : 126;
        stop_others();
        break;
      }
      children_.push_back({rank, pid, true});
    }
    posix_spawnattr_destroy(&attributes);
  }

  int running() const {
    int count = 0;
    for (const Child& child : children_) count += child.running ? 1 : 0;
    return count;
  }

  void signal_running(int sig) {
    for (const Child& child : children_) {
      // A child not yet reaped keeps its pid, so this never hits a stranger.
      if (child.running) kill(child.pid, sig);
    }
  }

  /// After the first failure: SIGTERM now, SIGKILL when the grace period ends.
  void stop_others() {
    if (running() > 0) {
      std::fprintf(stderr, "keel-launch: sending SIGTERM to the %d other rank(s)\n", running());
      signal_running(SIGTERM);
    }
    kill_deadline_ = std::chrono::steady_clock::now() + kGracePeriod;
  }

  void wait_for_children() {
    while (running() > 0) {
      siginfo_t info;
      int sig;
      if (kill_deadline_) {
        auto left = *kill_deadline_ - std::chrono::steady_clock::now();
        if (left <= std::chrono::nanoseconds(0)) {
          std::fprintf(stderr, "keel-launch: %d rank(s) still running after %lld s; sending SIGKILL\n", running(),
                       static_cast<long long>(kGracePeriod.count()));
          signal_running(SIGKILL);
          kill_deadline_.reset();
          continue;
        }
        auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
        timespec timeout{static_cast<time_t>(seconds.count()),
                         static_cast<long>(std::chrono::nanoseconds(left - seconds).count())};
        sig = sigtimedwait(&waited_, &info, &timeout);
      } else {
        sig = sigwaitinfo(&waited_, &info);
      }
      if (sig < 0) continue;  // EAGAIN: the deadline passed; EINTR: a stop signal, resumed
      if (sig == SIGCHLD) {
        reap();
      } else {
        forwarded_signal_ = sig;
        std::fprintf(stderr, "keel-launch: got %s; forwarding it to %d rank(s)\n", describe_signal(sig).c_str(),
                     running());
        signal_running(sig);
      }
    }
  }

  void reap() {
    for (;;) {
      int status = 0;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      for (Child& child : children_) {
        if (child.pid != pid) continue;
        child.running = false;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) break;
        if (exit_code_) break;  // already stopping; later exits are the others ending
        if (WIFEXITED(status)) {
          exit_code_ = WEXITSTATUS(status);
          std::fprintf(stderr, "keel-launch: rank %d (pid %d) exited with status %d\n", child.rank,
                       static_cast<int>(pid), *exit_code_);
        } else {
          exit_code_ = 128 + WTERMSIG(status);
          std::fprintf(stderr, "keel-launch: rank %d (pid %d) was killed by signal %s%s\n", child.rank,
                       static_cast<int>(pid), describe_signal(WTERMSIG(status)).c_str(),
                       WCOREDUMP(status) ? " (core dumped)" : "");
        }
        stop_others();
        break;
      }
    }
  }

  Options options_;
  sigset_t waited_{}, original_mask_{};
  std::vector<Child> children_;
  std::optional<int> exit_code_;  // the first failure's
  int forwarded_signal_ = 0;
  std::optional<std::chrono::steady_clock::time_point> kill_deadline_;
};

}  // namespace

int main(int argc, char** argv) {
  Launcher launcher(parse_arguments(argc, argv));
  return launcher.run();
}
