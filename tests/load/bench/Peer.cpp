#include "Peer.h"

#include "SocketIo.h"

#include <charconv>
#include <cstdlib>

namespace bench {

bool Peer::fromName(std::string_view name, Peer* out) {
    if (name == "herald")
        out->kind_ = Kind::Herald;
    else if (name == "nchan")
        out->kind_ = Kind::Nchan;
    else if (name == "node")
        out->kind_ = Kind::Node;
    else if (name == "socketio")
        out->kind_ = Kind::SocketIo;
    else
        return false;
    return true;
}

const char* Peer::name() const {
    switch (kind_) {
    case Kind::Herald:
        return "herald";
    case Kind::Nchan:
        return "nchan";
    case Kind::Node:
        return "node";
    case Kind::SocketIo:
        return "socketio";
    }
    return "?";
}

std::string Peer::upgradeRequest(const std::string& hostPort, const std::string& key) const {
    const std::string path = kind_ == Kind::Nchan      ? "/sub/" + stream_
                             : kind_ == Kind::SocketIo ? std::string(sio::kPath)
                                                       : "/public";
    return "GET " + path + " HTTP/1.1\r\nHost: " + hostPort +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
           "\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

std::string Peer::subscribeMessage() const {
    if (kind_ == Kind::Nchan)
        return {};
    if (kind_ == Kind::SocketIo)
        return sio::event("subscribe", "\"" + stream_ + "\"");
    return R"({"event":"subscribe","streams":[")" + stream_ + "\"]}";
}

bool Peer::completesSubscription(std::string_view text) const {
    if (kind_ == Kind::SocketIo)
        return sio::isEvent(text, "subscribed");
    return kind_ == Kind::Nchan || text.find(R"("event":"subscribed")") != std::string_view::npos;
}

bool Peer::isRefusal(std::string_view text) {
    return text.find(R"("event":"error")") != std::string_view::npos || sio::isEvent(text, "error");
}

bool Peer::isMessage(std::string_view text) {
    return text.find(R"("event":"message")") != std::string_view::npos ||
           sio::isEvent(text, "message");
}

std::string Peer::messageData(uint64_t seq, int64_t sentNs, size_t payloadBytes) {
    std::string data =
        "{\"s\":" + std::to_string(seq) + ",\"t\":" + std::to_string(sentNs) + ",\"p\":\"";
    if (payloadBytes > data.size() + 2)
        data.append(payloadBytes - data.size() - 2, 'x');
    data += "\"}";
    return data;
}

std::string Peer::post(const std::string& hostPort, const std::string& path,
                       const std::string& body) {
    return "POST " + path + " HTTP/1.1\r\nHost: " + hostPort +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

std::string Peer::publishRequest(const std::string& hostPort, uint64_t seq, int64_t sentNs,
                                 size_t payloadBytes) const {
    const std::string data = messageData(seq, sentNs, payloadBytes);
    if (kind_ == Kind::Nchan)
        return post(hostPort, "/pub/" + stream_,
                    R"({"event":"message","stream":"public.)" + stream_ + R"(","data":)" + data +
                        "}");
    return post(hostPort, "/api/publish", R"({"stream":")" + stream_ + R"(","data":)" + data + "}");
}

std::string Peer::publishBatchRequest(const std::string& hostPort,
                                      const std::vector<std::pair<uint64_t, int64_t>>& messages,
                                      size_t payloadBytes) const {
    std::string body = "[";
    for (const auto& [seq, sentNs] : messages) {
        if (body.size() > 1)
            body += ',';
        body += R"({"stream":")" + stream_ + R"(","data":)" +
                messageData(seq, sentNs, payloadBytes) + "}";
    }
    body += ']';
    return post(hostPort, "/api/publish", body);
}

std::string Peer::countRequest(const std::string& hostPort) const {
    const char* path = kind_ == Kind::Nchan ? "/nchan_status" : "/metrics";
    return std::string("GET ") + path + " HTTP/1.1\r\nHost: " + hostPort + "\r\n\r\n";
}

long Peer::parseCount(std::string_view body) const {
    // Herald: Prometheus "herald_connections 12"; the Node and Socket.IO peers: "connections 12";
    // nchan_stub_status: "subscribers: 12".
    std::string_view key = kind_ == Kind::Herald  ? "herald_connections "
                           : kind_ == Kind::Nchan ? "subscribers: "
                                                  : "connections ";
    size_t at = 0;
    while ((at = body.find(key, at)) != std::string_view::npos) {
        if (at == 0 || body[at - 1] == '\n') {
            const char* p = body.data() + at + key.size();
            long value = -1;
            double asDouble = 0; // Prometheus may print a gauge as 1.2e+04
            auto r = std::from_chars(p, body.data() + body.size(), asDouble);
            if (r.ec == std::errc{})
                value = long(asDouble);
            return value;
        }
        at += key.size();
    }
    return -1;
}

bool Peer::parseDelivery(std::string_view text, int64_t* sentNs) {
    if (!isMessage(text))
        return false;
    const size_t at = text.find("\"t\":");
    if (at == std::string_view::npos)
        return false;
    // A server may re-encode the number as a double (1.5e+12): read it as one.
    double t = 0;
    auto r = std::from_chars(text.data() + at + 4, text.data() + text.size(), t);
    if (r.ec != std::errc{})
        return false;
    *sentNs = int64_t(t);
    return true;
}

} // namespace bench
