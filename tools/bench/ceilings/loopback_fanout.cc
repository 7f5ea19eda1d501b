// The kernel's ceiling for group fan-out on this machine: how many small frames per second one
// thread can write to N loopback TCP connections (one write per connection, as a push to a
// group's members is) while another thread reads them and answers each with a small ack (the
// client's RECVACK) that the first thread reads back. No WebSocket framing, no protobuf, no
// service logic: whatever the suite does per delivery comes on top of this.
//
//   loopback_fanout --connections 500 --seconds 10
//
// Prints one line: deliveries/s, and the CPU both threads used (100% = one core).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

ABSL_FLAG(int, connections, 500, "Connections (a group's online members).");
ABSL_FLAG(int, seconds, 10, "How long to run.");
ABSL_FLAG(int, frame_bytes, 120, "Bytes per pushed frame (a small message push).");
ABSL_FLAG(int, ack_bytes, 40, "Bytes per ack (a RECVACK).");

namespace {

[[noreturn]] void Die(const char* what) {
  std::perror(what);
  std::exit(1);
}

// Reads exactly `n` bytes from a blocking socket.
bool ReadFull(int fd, char* buf, size_t n) {
  while (n > 0) {
    const ssize_t got = read(fd, buf, n);
    if (got <= 0) return false;
    buf += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

// Connected pairs (server side, client side) over 127.0.0.1.
void Connect(int count, std::vector<int>* servers, std::vector<int>* clients) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) Die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("bind");
  socklen_t len = sizeof(addr);
  if (getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) Die("getsockname");
  if (listen(listener, 1024) != 0) Die("listen");
  const int one = 1;
  for (int i = 0; i < count; ++i) {
    const int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0) Die("socket");
    if (connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("connect");
    const int server = accept(listener, nullptr, nullptr);
    if (server < 0) Die("accept");
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    servers->push_back(server);
    clients->push_back(client);
  }
  close(listener);
}

double ThreadCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int n = absl::GetFlag(FLAGS_connections);
  const size_t frame_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_frame_bytes));
  const size_t ack_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_ack_bytes));
  std::vector<int> servers, clients;
  Connect(n, &servers, &clients);

  std::atomic<bool> stop{false};
  std::atomic<double> client_cpu{0};
  // The clients: each readable connection has one frame; read it, answer with an ack.
  std::thread client_thread([&] {
    const int ep = epoll_create1(0);
    for (int i = 0; i < n; ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = clients[i];
      epoll_ctl(ep, EPOLL_CTL_ADD, clients[i], &ev);
    }
    std::vector<char> frame(frame_bytes), ack(ack_bytes, 'a');
    std::vector<epoll_event> events(256);
    const double cpu_start = ThreadCpuSeconds();
    while (!stop.load(std::memory_order_relaxed)) {
      const int ready = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
      for (int e = 0; e < ready; ++e) {
        const int fd = events[e].data.fd;
        if (!ReadFull(fd, frame.data(), frame.size())) return;
        if (write(fd, ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) return;
      }
    }
    client_cpu = ThreadCpuSeconds() - cpu_start;
    close(ep);
  });

  // The gateway: a round writes one frame to every connection, then reads every ack back.
  std::vector<char> frame(frame_bytes, 'f'), ack(ack_bytes);
  int64_t deliveries = 0;
  const double cpu_start = ThreadCpuSeconds();
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  while (absl::Now() < end) {
    for (int fd : servers) {
      if (write(fd, frame.data(), frame.size()) != static_cast<ssize_t>(frame.size())) {
        Die("write");
      }
    }
    for (int fd : servers) {
      if (!ReadFull(fd, ack.data(), ack.size())) Die("read");
    }
    deliveries += n;
  }
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  const double server_cpu = ThreadCpuSeconds() - cpu_start;
  stop = true;
  client_thread.join();
  std::printf(
      "%.0f deliveries/s over %d connections (%zu-byte frames, %zu-byte acks); CPU: "
      "writer %.0f%%, reader %.0f%% of a core\n",
      static_cast<double>(deliveries) / elapsed, n, frame_bytes, ack_bytes,
      100 * server_cpu / elapsed, 100 * client_cpu.load() / elapsed);
  return 0;
}
