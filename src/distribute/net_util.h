// Sockets for the rendezvous store and the Gloo device: what counts as a loopback address, "host:port" for
// messages, name resolution, and blocking-style reads and writes on non-blocking sockets, every wait bounded
// by a deadline and a stop descriptor.
#pragma once
#include <netdb.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace keel::distribute {

/// True for a loopback literal (127.0.0.0/8, ::1) and for "localhost" and its variants; no DNS lookup.
bool is_loopback_address(const std::string& host);
/// "host:port", with brackets around an IPv6 literal.
std::string host_port(const std::string& host, int port);

namespace net {

using Clock = std::chrono::steady_clock;

enum class Io { kOk, kTimeout, kClosed, kError, kStopped };

/// Waits until `fd` is ready for `events`, the deadline passes, or `stop_fd` (when >= 0) becomes readable.
Io wait_ready(int fd, short events, std::optional<Clock::time_point> deadline, int stop_fd = -1);
/// All of `size` bytes, or why not. Never raises SIGPIPE.
Io send_all(int fd, const void* data, size_t size, std::optional<Clock::time_point> deadline, int stop_fd = -1);
Io recv_all(int fd, void* data, size_t size, std::optional<Clock::time_point> deadline, int stop_fd = -1);

/// getaddrinfo for SOCK_STREAM (numeric port); freed with the object.
struct AddrInfo {
  addrinfo* list = nullptr;
  int error = 0;
  AddrInfo(const char* host, int port, int flags);
  ~AddrInfo();
  AddrInfo(const AddrInfo&) = delete;
  AddrInfo& operator=(const AddrInfo&) = delete;
};

/// The numeric form of an address ("10.0.0.1", "::1"), or "?" when it has none.
std::string numeric_host(const sockaddr* addr, socklen_t len);
/// The port a bound socket has, or 0.
int bound_port(int fd);
/// The local address the kernel would use to reach host:port (a UDP connect sends nothing), numeric.
std::optional<std::string> local_address_towards(const std::string& host, int port);

}  // namespace net
}  // namespace keel::distribute
