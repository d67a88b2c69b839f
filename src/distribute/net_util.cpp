#include "distribute/net_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace keel::distribute {

bool is_loopback_address(const std::string& host) {
  // Decided from the text, not from DNS: a host's own name may resolve to 127.0.1.1 here and to a routable
  // address on its peers.
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  std::string name = host;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::string suffix = ".localhost";
  return name == "localhost" || name == "localhost.localdomain" || name == "ip6-localhost" || name == "ip6-loopback" ||
         (name.size() > suffix.size() && name.ends_with(suffix));
}

std::string host_port(const std::string& host, int port) {
  // An IPv6 literal takes brackets, as in URLs, so the port stays readable.
  return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                             : host + ":" + std::to_string(port);
}

namespace net {

Io wait_ready(int fd, short events, std::optional<Clock::time_point> deadline, int stop_fd) {
  for (;;) {
    int wait_ms = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      if (left <= 0) return Io::kTimeout;
      wait_ms = static_cast<int>(std::min<long long>(left, 1 << 30));
    }
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    const int rv = ::poll(fds, stop_fd >= 0 ? 2 : 1, wait_ms);
    if (rv < 0) {
      if (errno == EINTR) continue;
      return Io::kError;
    }
    if (rv == 0) continue;  // the deadline check above ends the loop
    if (stop_fd >= 0 && fds[1].revents != 0) return Io::kStopped;
    return Io::kOk;  // readiness, hang-up or error: the following send/recv reports which
  }
}

Io send_all(int fd, const void* data, size_t size, std::optional<Clock::time_point> deadline, int stop_fd) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    // MSG_NOSIGNAL: a peer that went away is an error to report, not a SIGPIPE that ends the process.
    const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      p += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return errno == EPIPE || errno == ECONNRESET ? Io::kClosed : Io::kError;
    if (const Io ready = wait_ready(fd, POLLOUT, deadline, stop_fd); ready != Io::kOk) return ready;
  }
  return Io::kOk;
}

Io recv_all(int fd, void* data, size_t size, std::optional<Clock::time_point> deadline, int stop_fd) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::recv(fd, p, size, MSG_DONTWAIT);
    if (n > 0) {
      p += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return Io::kClosed;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno == ECONNRESET ? Io::kClosed : Io::kError;
    if (const Io ready = wait_ready(fd, POLLIN, deadline, stop_fd); ready != Io::kOk) return ready;
  }
  return Io::kOk;
}

AddrInfo::AddrInfo(const char* host, int port, int flags) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags | AI_NUMERICSERV;
  error = ::getaddrinfo(host, std::to_string(port).c_str(), &hints, &list);
}

AddrInfo::~AddrInfo() {
  if (list != nullptr) ::freeaddrinfo(list);
}

std::string numeric_host(const sockaddr* addr, socklen_t len) {
  char name[NI_MAXHOST];
  if (::getnameinfo(addr, len, name, sizeof(name), nullptr, 0, NI_NUMERICHOST) != 0) return "?";
  return name;
}

int bound_port(int fd) {
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) return 0;
  return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

std::optional<std::string> local_address_towards(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* list = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (const addrinfo* ai = list; ai != nullptr && !found; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      const std::string name = numeric_host(reinterpret_cast<sockaddr*>(&local), len);
      if (name != "?") found = name;
    }
    ::close(fd);
  }
  ::freeaddrinfo(list);
  return found;
}

}  // namespace net
}  // namespace keel::distribute
