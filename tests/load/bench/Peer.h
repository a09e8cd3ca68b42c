// What differs between the servers the tool measures: where a subscriber connects, how it
// subscribes, how a message is published, and where the open connections are counted. Herald
// and the Node peer speak Herald's protocol (docs/protocol.md); nchan subscribes by URL and
// publishes the request body as the message, so the tool posts Herald's envelope as the body
// and every server sends frames of about the same size. The Socket.IO peer (two nodes with the
// Redis adapter) is reached in Socket.IO's own dialect (SocketIo.h): the WebSocket carries an
// Engine.IO session, subscribing is a "subscribe" event and deliveries are "message" events with
// the same stream, id and data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bench {

class Peer {
public:
    enum class Kind { Herald, Nchan, Node, SocketIo };

    // "herald", "nchan", "node" or "socketio"; false for anything else.
    static bool fromName(std::string_view name, Peer* out);
    const char* name() const;
    // Socket.IO: the WebSocket first carries a session handshake (SocketIo.h), and the
    // subscribe message goes once the namespace is connected, not right after the upgrade.
    bool hasSession() const { return kind_ == Kind::SocketIo; }

    void setStream(std::string stream) { stream_ = std::move(stream); }
    const std::string& stream() const { return stream_; }

    std::string upgradeRequest(const std::string& hostPort, const std::string& key) const;
    // The frame a subscriber sends once the socket is open; empty when the URL subscribes.
    std::string subscribeMessage() const;
    // A server message that completes the subscription (true at once when the URL subscribes).
    bool completesSubscription(std::string_view text) const;
    // A server message that refuses it.
    static bool isRefusal(std::string_view text);
    // A server message that is a delivery (Herald's envelope or Socket.IO's "message" event).
    static bool isMessage(std::string_view text);

    // One POST publishing a message of about payloadBytes that carries its send time.
    std::string publishRequest(const std::string& hostPort, uint64_t seq, int64_t sentNs,
                               size_t payloadBytes) const;
    // Herald's batch publish: one POST of a JSON array, one item per (seq, sentNs).
    std::string publishBatchRequest(const std::string& hostPort,
                                    const std::vector<std::pair<uint64_t, int64_t>>& messages,
                                    size_t payloadBytes) const;
    // A GET for the server's count of open subscriber connections, and how to read it (-1: not
    // found in the answer).
    std::string countRequest(const std::string& hostPort) const;
    long parseCount(std::string_view body) const;

    // A delivered message; its send time (relative to the run's epoch) in *sentNs.
    static bool parseDelivery(std::string_view text, int64_t* sentNs);

private:
    static std::string messageData(uint64_t seq, int64_t sentNs, size_t payloadBytes);
    static std::string post(const std::string& hostPort, const std::string& path,
                            const std::string& body);
    Kind kind_ = Kind::Herald;
    std::string stream_ = "bench";
};

} // namespace bench
