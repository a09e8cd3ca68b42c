// The worker's side of the `hold` scenario: many idle subscribers, each on its own stream
// (subscriber g of the whole run listens to stream g % S), held for minutes while messages trickle
// in. Each subscriber remembers which messages it received as a bitmap indexed by the message's
// place in its stream (the publisher sends sequence k to stream k % S, so k / S), which keeps
// 100,000 of them small, and the id of its last message. One the server closes reconnects after
// a short random pause to the next node and resumes with `since`, as herald.js does.
// Commands (Control.h):
//   hold count= base= streams= prefix= target= inflight= deadline=  -> held ok= failed= why=
//   hstatus                                    -> hstatus ready= closed= codes= reconnects= ...
//   hcheck acked=<hex bitmap of sequences> deadline=   -> hchecked complete= lost= dups= ...
//   hclose                                     -> hclosed n=
// `hcheck` answers once every subscriber has every acknowledged message of its stream, or at
// the deadline with what is missing.
#pragma once

#include "Control.h"
#include "EventLoop.h"
#include "Net.h"
#include "Peer.h"
#include "Subscriber.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bench {

class Holder final : private SubscriberOwner {
public:
    using Reply = std::function<void(ControlMessage)>;
    Holder(EventLoop& loop, const Peer& peer, const std::vector<Endpoint>& targets, int sources,
           int64_t epochNs, int workerIndex, Reply reply);
    ~Holder() override;

    // True if the command was one of the hold scenario's.
    bool handle(const ControlMessage& m);

private:
    struct Slot {
        uint32_t stream = 0;
        uint32_t target = 0;
        std::vector<uint64_t> got; // bit i: message i of the stream (sequence i * S + stream)
        std::string lastId;        // of the last message, or the position from `subscribed`
        uint64_t lastMs = 0, lastSeq = 0;
        bool positioned = false; // lastId is a place to resume from ("" = the stream's start)
        bool gone = false;       // gave up reconnecting
        bool reconnecting = false;
        int attempts = 0;
    };

    void startHold(const ControlMessage& m);
    void startOne(size_t i);
    void fillConnects();
    void maybeHeld();
    void scheduleReconnect(size_t i);
    void check(bool deadlinePassed);
    ControlMessage status() const;

    void onReady(Subscriber& s) override;
    void onFailed(Subscriber& s, const char* why) override;
    void onDelivery(Subscriber&, int64_t, int64_t) override {}
    void onClosed(Subscriber& s, int code) override;
    void onText(Subscriber& s, std::string_view text, int64_t receivedNs) override;
    std::string subscribeFor(const Subscriber& s, const Peer& peer) override;
    void onSubscribed(Subscriber& s, std::string_view text) override;

    EventLoop& loop_;
    const std::vector<Endpoint>& targets_;
    int sources_;
    int index_;
    Reply reply_;
    SubscriberContext ctx_;
    std::vector<std::unique_ptr<Subscriber>> subs_;
    std::vector<Slot> slots_;
    uint32_t streams_ = 1;
    uint64_t base_ = 0;
    std::string prefix_ = "public.s";

    // the first connect
    bool connecting_ = false;
    size_t next_ = 0, inflight_ = 0, inflightLimit_ = 64, ok_ = 0, failed_ = 0;
    std::string firstFailure_;
    EventLoop::TimerId connectDeadline_ = 0, handshakeTimer_ = 0;

    // what happened since
    size_t ready_ = 0;
    uint64_t closed_ = 0, reconnects_ = 0, reconnectFailures_ = 0, recoveredTrue_ = 0,
             recoveredFalse_ = 0, messages_ = 0, duplicates_ = 0, outOfOrder_ = 0, wrongStream_ = 0,
             unparsed_ = 0, beforeSubscribed_ = 0;
    std::map<int, uint64_t> closeCodes_;
    std::string firstDuplicate_;
    Rng rng_;

    // hcheck
    bool checking_ = false;
    std::vector<uint64_t> acked_;
    EventLoop::TimerId checkTimer_ = 0, checkDeadline_ = 0;
};

} // namespace bench
