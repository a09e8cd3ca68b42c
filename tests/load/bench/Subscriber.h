// One WebSocket subscriber: non-blocking connect from a chosen source address, the opening
// handshake (checking Sec-WebSocket-Accept), the peer's subscribe message, then server frames
// until the server closes or the tool does. Reads go into a buffer shared by the whole process;
// only an incomplete frame's bytes are kept per connection, so 19,000 of them stay small.
#pragma once

#include "EventLoop.h"
#include "Net.h"
#include "Peer.h"
#include "WsCodec.h"

#include <cstdint>
#include <string>

namespace bench {

class Subscriber;

class SubscriberOwner {
public:
    virtual ~SubscriberOwner() = default;
    virtual void onReady(Subscriber& s) = 0;
    virtual void onFailed(Subscriber& s, const char* why) = 0;
    // sentNs and receivedNs are relative to the run's epoch.
    virtual void onDelivery(Subscriber& s, int64_t sentNs, int64_t receivedNs) = 0;
    // A ready subscriber was closed by the server (close code, or 1006 without a close frame).
    virtual void onClosed(Subscriber& s, int code) = 0;
    // A message event (also one that came before `subscribed`); by default its send time is
    // read and handed to onDelivery. The hold scenario reads stream, id and sequence instead.
    virtual void onText(Subscriber& s, std::string_view text, int64_t receivedNs);
    // The frame that subscribes `s` (the hold scenario: its own stream, with `since`).
    virtual std::string subscribeFor(const Subscriber& s, const Peer& peer) {
        (void)s;
        return peer.subscribeMessage();
    }
    // The answer that completed the subscription, just before onReady.
    virtual void onSubscribed(Subscriber& s, std::string_view text) {
        (void)s;
        (void)text;
    }
};

struct SubscriberContext {
    EventLoop& loop;
    const Peer& peer;
    SubscriberOwner& owner;
    Rng rng;
    int64_t epochNs;
    std::string readBuffer = std::string(256 * 1024, '\0');
};

class Subscriber final : public IoHandler, private FrameSink {
public:
    enum class State { Idle, Connecting, Upgrading, Subscribing, Ready, Closed };

    Subscriber(SubscriberContext& ctx, uint32_t index);
    ~Subscriber() override;
    Subscriber(const Subscriber&) = delete;
    Subscriber& operator=(const Subscriber&) = delete;

    // Starts connecting (`to` must outlive the subscriber); false (with why) if the socket could
    // not even be created.
    bool start(const Endpoint& to, uint32_t sourceIp, const char** why);
    // Stops or resumes reading: a subscriber that does not read lets the server's queue grow.
    void setReading(bool on);
    // Closes the socket without a close frame, as a vanished client would; no callback.
    void closeNow();

    void onIo(uint32_t events) override;

    State state() const { return state_; }
    uint32_t index() const { return index_; }
    int64_t startedNs() const { return startedNs_; }
    uint64_t bytesRead() const { return bytesRead_; }
    int closeCode() const { return closeCode_; }

    // Messages counted since the owner last reset it.
    uint32_t received = 0;
    bool slow = false;

private:
    void onFrame(Opcode opcode, std::string_view payload) override;
    bool stopped() const override { return closing_ || state_ == State::Closed; }

    void onConnected();
    void onReadable();
    bool takeHandshake(); // false: failed
    void feedFrames(const char* data, size_t len);
    void send(std::string_view bytes);
    void sendText(std::string_view text);
    // Socket.IO's session packets (SocketIo.h): answers the open and pings, subscribes once the
    // namespace is connected. False for anything else (events go the usual way).
    bool onSessionFrame(std::string_view payload);
    void flush();
    void fail(const char* why);
    void finishClose(int code);
    void updateEvents();

    SubscriberContext& ctx_;
    uint32_t index_;
    const Endpoint* to_ = nullptr;
    int fd_ = -1;
    State state_ = State::Idle;
    bool reading_ = true;
    bool closing_ = false;
    int closeCode_ = 0;
    int64_t startedNs_ = 0;
    uint64_t bytesRead_ = 0;
    std::string key_;
    std::string in_;  // bytes of an incomplete handshake answer or frame
    std::string out_; // bytes the socket did not take yet
    FrameReader reader_;
};

} // namespace bench
