#include "Subscriber.h"

#include "SocketIo.h"

#include <cerrno>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace bench {
namespace {

// The value of header `name` in an HTTP head, or empty.
std::string_view headerValue(std::string_view head, std::string_view name) {
    size_t line = head.find("\r\n");
    while (line != std::string_view::npos && line + 2 < head.size()) {
        const size_t start = line + 2;
        const size_t end = head.find("\r\n", start);
        const std::string_view field =
            head.substr(start, (end == std::string_view::npos ? head.size() : end) - start);
        const size_t colon = field.find(':');
        if (colon == name.size() && strncasecmp(field.data(), name.data(), name.size()) == 0) {
            std::string_view value = field.substr(colon + 1);
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
                value.remove_prefix(1);
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
                value.remove_suffix(1);
            return value;
        }
        line = end;
    }
    return {};
}

} // namespace

void SubscriberOwner::onText(Subscriber& s, std::string_view text, int64_t receivedNs) {
    int64_t sent = 0;
    if (Peer::parseDelivery(text, &sent))
        onDelivery(s, sent, receivedNs);
}

Subscriber::Subscriber(SubscriberContext& ctx, uint32_t index)
    : ctx_(ctx)
    , index_(index) {}

Subscriber::~Subscriber() {
    closeNow();
}

bool Subscriber::start(const Endpoint& to, uint32_t sourceIp, const char** why) {
    startedNs_ = nowNs();
    to_ = &to;
    fd_ = connectFrom(to, sourceIp);
    if (fd_ < 0) {
        *why = errno == EADDRNOTAVAIL ? "no free source port (EADDRNOTAVAIL)"
               : errno == EMFILE      ? "out of file descriptors (EMFILE)"
                                      : "connect failed";
        state_ = State::Closed;
        return false;
    }
    state_ = State::Connecting;
    ctx_.loop.add(fd_, EPOLLOUT, this);
    return true;
}

void Subscriber::updateEvents() {
    if (fd_ < 0)
        return;
    uint32_t events = reading_ ? uint32_t(EPOLLIN) : 0u;
    if (!out_.empty() || state_ == State::Connecting)
        events |= EPOLLOUT;
    ctx_.loop.modify(fd_, events, this);
}

void Subscriber::setReading(bool on) {
    if (reading_ == on || fd_ < 0)
        return;
    reading_ = on;
    // Not even registered while paused: a hang-up must not wake the loop over and over.
    if (on)
        ctx_.loop.add(fd_, EPOLLIN | (out_.empty() ? 0u : uint32_t(EPOLLOUT)), this);
    else
        ctx_.loop.remove(fd_);
}

void Subscriber::closeNow() {
    if (fd_ >= 0) {
        ctx_.loop.remove(fd_);
        ::close(fd_);
        fd_ = -1;
    }
    state_ = State::Closed;
    std::string().swap(in_);
    std::string().swap(out_);
}

void Subscriber::onIo(uint32_t events) {
    if (fd_ < 0)
        return; // closed earlier in this batch of events
    if (state_ == State::Connecting) {
        onConnected();
        return;
    }
    if ((events & EPOLLOUT) && !out_.empty())
        flush();
    if (fd_ >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        onReadable();
}

void Subscriber::onConnected() {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        fail(err == ECONNREFUSED ? "connection refused" : "connect error");
        return;
    }
    key_ = makeHandshakeKey(ctx_.rng);
    state_ = State::Upgrading;
    send(ctx_.peer.upgradeRequest(to_->hostPort, key_));
}

void Subscriber::send(std::string_view bytes) {
    if (fd_ < 0)
        return;
    out_.append(bytes);
    flush();
}

void Subscriber::flush() {
    while (!out_.empty() && fd_ >= 0) {
        const ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            out_.erase(0, size_t(n));
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            break;
        } else {
            if (state_ == State::Ready)
                finishClose(1006);
            else
                fail("write failed");
            return;
        }
    }
    updateEvents();
}

void Subscriber::onReadable() {
    char* buf = ctx_.readBuffer.data();
    const ssize_t n = ::read(fd_, buf, ctx_.readBuffer.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (state_ == State::Ready)
            finishClose(closeCode_ ? closeCode_ : 1006);
        else
            fail(n == 0 ? "server closed during the handshake" : "read error");
        return;
    }
    bytesRead_ += uint64_t(n);
    if (state_ == State::Upgrading) {
        in_.append(buf, size_t(n));
        if (in_.size() > 16384) {
            fail("handshake answer too long");
            return;
        }
        takeHandshake();
        return;
    }
    feedFrames(buf, size_t(n));
}

bool Subscriber::takeHandshake() {
    const size_t end = in_.find("\r\n\r\n");
    if (end == std::string::npos)
        return true; // wait for more
    const std::string_view head(in_.data(), end + 2);
    if (head.substr(0, 13) != "HTTP/1.1 101 " && head.substr(0, 12) != "HTTP/1.1 101") {
        fail("upgrade refused (no 101)");
        return false;
    }
    if (headerValue(head, "Sec-WebSocket-Accept") != expectedAccept(key_)) {
        fail("wrong Sec-WebSocket-Accept");
        return false;
    }
    std::string().swap(key_);
    // Frames the server sent in the same packet as its answer are frames like any other.
    const std::string rest = in_.substr(end + 4);
    std::string().swap(in_);
    const std::string subscribe = ctx_.owner.subscribeFor(*this, ctx_.peer);
    if (subscribe.empty()) {
        state_ = State::Ready;
        ctx_.owner.onReady(*this);
    } else {
        state_ = State::Subscribing;
        if (!ctx_.peer.hasSession()) // else once the session is open (onSessionFrame)
            sendText(subscribe);
    }
    if (!rest.empty() && fd_ >= 0)
        feedFrames(rest.data(), rest.size());
    return true;
}

void Subscriber::sendText(std::string_view text) {
    std::string frame;
    appendClientFrame(frame, kText, text, uint32_t(ctx_.rng.next()));
    send(frame);
}

bool Subscriber::onSessionFrame(std::string_view payload) {
    switch (sio::classify(payload)) {
    case sio::Packet::Open:
        sendText(sio::kConnect);
        return true;
    case sio::Packet::Ping:
        sendText(sio::kPong);
        return true;
    case sio::Packet::Connected:
        if (state_ == State::Subscribing)
            sendText(ctx_.owner.subscribeFor(*this, ctx_.peer));
        return true;
    case sio::Packet::ConnectRefused:
        if (state_ == State::Ready)
            finishClose(1008);
        else
            fail("Socket.IO connect refused");
        return true;
    case sio::Packet::Event:
    case sio::Packet::Other:
        break;
    }
    return false;
}

void Subscriber::feedFrames(const char* data, size_t len) {
    long used = 0;
    if (in_.empty()) {
        used = reader_.feed(data, len, *this);
        if (used >= 0 && !stopped())
            in_.assign(data + used, len - size_t(used));
    } else {
        in_.append(data, len);
        used = reader_.feed(in_.data(), in_.size(), *this);
        if (used >= 0 && !stopped())
            in_.erase(0, size_t(used));
    }
    if (used < 0) {
        // A broken server frame: say so in the close (1002) and count the connection as lost.
        std::string frame;
        appendCloseFrame(frame, 1002, uint32_t(ctx_.rng.next()));
        ::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (state_ == State::Ready)
            finishClose(1002);
        else
            fail(reader_.error());
        return;
    }
    if (closing_)
        finishClose(closeCode_);
}

void Subscriber::onFrame(Opcode opcode, std::string_view payload) {
    switch (opcode) {
    case kText:
        if (ctx_.peer.hasSession() && onSessionFrame(payload))
            break;
        if (state_ == State::Ready) {
            ctx_.owner.onText(*this, payload, nowNs() - ctx_.epochNs);
        } else if (state_ == State::Subscribing) {
            if (ctx_.peer.completesSubscription(payload)) {
                state_ = State::Ready;
                ctx_.owner.onSubscribed(*this, payload);
                ctx_.owner.onReady(*this);
            } else if (Peer::isMessage(payload)) {
                // A message that overtook the answer is a message all the same.
                ctx_.owner.onText(*this, payload, nowNs() - ctx_.epochNs);
            } else if (Peer::isRefusal(payload)) {
                fail("subscription refused");
            }
        }
        break;
    case kPing: {
        std::string frame;
        appendClientFrame(frame, kPong, payload, uint32_t(ctx_.rng.next()));
        send(frame);
        break;
    }
    case kClose: {
        closeCode_ = payload.size() >= 2 ? (uint8_t(payload[0]) << 8) | uint8_t(payload[1]) : 1005;
        // Answer the close as RFC 6455 asks, then let the socket go.
        std::string frame;
        appendCloseFrame(frame, uint16_t(closeCode_ == 1005 ? 1000 : closeCode_),
                         uint32_t(ctx_.rng.next()));
        ::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        closing_ = true;
        break;
    }
    default:
        break; // binary messages and pongs mean nothing to the tool
    }
}

void Subscriber::fail(const char* why) {
    const bool wasOpen = state_ != State::Closed;
    closeNow();
    if (wasOpen)
        ctx_.owner.onFailed(*this, why);
}

void Subscriber::finishClose(int code) {
    const bool wasReady = state_ == State::Ready;
    closeCode_ = code;
    closeNow();
    if (wasReady)
        ctx_.owner.onClosed(*this, code);
    else
        ctx_.owner.onFailed(*this, "closed before the subscription completed");
}

} // namespace bench
