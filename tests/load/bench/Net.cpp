#include "Net.h"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace bench {

bool parseEndpoint(const std::string& text, Endpoint* out) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos)
        return false;
    const std::string host = text.substr(0, colon);
    const int port = std::atoi(text.c_str() + colon + 1);
    if (port <= 0 || port > 65535)
        return false;
    Endpoint e;
    e.addr.sin_family = AF_INET;
    e.addr.sin_port = htons(uint16_t(port));
    if (inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &e.addr.sin_addr) != 1)
        return false;
    e.hostPort = text;
    *out = e;
    return true;
}

uint32_t sourceAddress(uint64_t i, int count) {
    return 0x7f000001u + uint32_t(i % uint64_t(count > 0 ? count : 1));
}

int connectFrom(const Endpoint& to, uint32_t sourceIp) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // The port is chosen at connect() time from the whole 4-tuple, not at bind() time, so one
    // source address is not limited to one use of each port across all destinations.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(sourceIp);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0 ||
        (connect(fd, reinterpret_cast<const sockaddr*>(&to.addr), sizeof to.addr) != 0 &&
         errno != EINPROGRESS)) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

long raiseFileLimit() {
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
    return long(lim.rlim_cur);
}

} // namespace bench
