#include "HttpClient.h"

#include <cerrno>
#include <charconv>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace bench {
namespace {

// Content-Length of an HTTP head, -1 if absent; *chunked set for Transfer-Encoding: chunked.
long contentLength(std::string_view head, bool* chunked) {
    long length = -1;
    *chunked = false;
    size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos + 2 < head.size()) {
        const size_t start = pos + 2;
        const size_t end = head.find("\r\n", start);
        const std::string_view line = head.substr(start, end - start);
        if (line.size() > 15 && strncasecmp(line.data(), "content-length:", 15) == 0) {
            std::string_view v = line.substr(15);
            while (!v.empty() && v.front() == ' ')
                v.remove_prefix(1);
            std::from_chars(v.data(), v.data() + v.size(), length);
        } else if (line.size() > 18 && strncasecmp(line.data(), "transfer-encoding:", 18) == 0 &&
                   line.find("chunked") != std::string_view::npos) {
            *chunked = true;
        }
        pos = end;
    }
    return length;
}

// Decodes a complete chunked body starting at `at`; returns the bytes used, 0 if incomplete.
size_t dechunk(const std::string& in, size_t at, std::string* body) {
    size_t pos = at;
    body->clear();
    for (;;) {
        const size_t eol = in.find("\r\n", pos);
        if (eol == std::string::npos)
            return 0;
        size_t size = 0;
        std::from_chars(in.data() + pos, in.data() + eol, size, 16);
        pos = eol + 2;
        if (size == 0) {
            const size_t end = in.find("\r\n", pos); // trailers are not expected: one CRLF
            return end == std::string::npos ? 0 : end + 2 - at;
        }
        if (in.size() < pos + size + 2)
            return 0;
        body->append(in, pos, size);
        pos += size + 2;
    }
}

} // namespace

HttpClient::HttpClient(EventLoop& loop, const Endpoint& to, uint32_t sourceIp)
    : loop_(loop)
    , to_(to)
    , source_(sourceIp) {}

HttpClient::~HttpClient() {
    if (fd_ >= 0) {
        loop_.remove(fd_);
        ::close(fd_);
    }
}

bool HttpClient::open() {
    fd_ = connectFrom(to_, source_);
    if (fd_ < 0)
        return false;
    connecting_ = true;
    loop_.add(fd_, EPOLLOUT, this);
    return true;
}

void HttpClient::request(std::string raw, Done done) {
    // A keep-alive connection idle for a while may be closing on the server's side right now
    // (Herald closes idle ones after its handshake timeout, Node after keepAliveTimeout): a
    // request written into that race is lost. Start afresh instead.
    if (fd_ >= 0 && waiting_.empty() && out_.empty() && nowNs() - lastActivityNs_ > kIdleReuseNs) {
        loop_.remove(fd_);
        ::close(fd_);
        fd_ = -1;
        in_.clear();
    }
    lastActivityNs_ = nowNs();
    if (fd_ < 0 && !open()) {
        // Answered from the loop, not from here: a caller that publishes again from its
        // callback must not recurse once per queued request.
        loop_.at(nowNs(), [done = std::move(done)] { done(0, "cannot connect"); });
        return;
    }
    out_ += raw;
    waiting_.push_back(std::move(done));
    if (!connecting_)
        flush();
}

void HttpClient::updateEvents() {
    if (fd_ >= 0)
        loop_.modify(fd_, EPOLLIN | (out_.empty() && !connecting_ ? 0u : uint32_t(EPOLLOUT)), this);
}

void HttpClient::flush() {
    while (!out_.empty()) {
        const ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            out_.erase(0, size_t(n));
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            break;
        } else {
            breakAll();
            return;
        }
    }
    updateEvents();
}

void HttpClient::onIo(uint32_t events) {
    if (fd_ < 0)
        return;
    if (connecting_) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            breakAll();
            return;
        }
        connecting_ = false;
        flush();
        return;
    }
    if ((events & EPOLLOUT) && !out_.empty())
        flush();
    if (fd_ >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        readSome();
}

void HttpClient::readSome() {
    char buf[65536];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        breakAll();
        return;
    }
    in_.append(buf, size_t(n));
    while (parseOne()) {
    }
}

bool HttpClient::parseOne() {
    const size_t headEnd = in_.find("\r\n\r\n");
    if (headEnd == std::string::npos)
        return false;
    const std::string_view head(in_.data(), headEnd + 2);
    int status = 0;
    if (head.size() > 12)
        std::from_chars(head.data() + 9, head.data() + 12, status);
    bool chunked = false;
    const long length = contentLength(head, &chunked);
    std::string body;
    size_t used = 0;
    if (chunked) {
        const size_t n = dechunk(in_, headEnd + 4, &body);
        if (n == 0)
            return false;
        used = headEnd + 4 + n;
    } else {
        const size_t len = length < 0 ? 0 : size_t(length);
        if (in_.size() < headEnd + 4 + len)
            return false;
        body.assign(in_, headEnd + 4, len);
        used = headEnd + 4 + len;
    }
    in_.erase(0, used);
    if (waiting_.empty())
        return true; // an answer nobody asked for: ignore it
    Done done = std::move(waiting_.front());
    waiting_.pop_front();
    lastActivityNs_ = nowNs();
    done(status, body);
    return fd_ >= 0;
}

void HttpClient::breakAll() {
    if (fd_ >= 0) {
        loop_.remove(fd_);
        ::close(fd_);
        fd_ = -1;
    }
    connecting_ = false;
    out_.clear();
    in_.clear();
    std::deque<Done> failed;
    failed.swap(waiting_);
    for (auto& done : failed)
        done(0, "connection lost");
}

} // namespace bench
