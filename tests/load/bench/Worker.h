// A worker process: holds its share of the subscriber connections and counts what they receive,
// on commands from the coordinator (Control.h). Commands:
//   connect count= target= inflight= deadline=   -> connected ok= failed= first= last= why=
//   reset                                         -> ok  (counters and latencies to zero)
//   expect k= deadline=                           -> delivered complete= count= first= last= ...
//   slow                                          -> ok index=  (one subscriber stops reading)
//   slowresume deadline=                          -> slow closed= code= bytes=
//   close                                         -> closed n=
//   hold, hstatus, hcheck, hclose                 -> the hold scenario (Holder.h)
//   quit
// Times on the wire are nanoseconds since the run's epoch.
#pragma once

#include "Control.h"
#include "EventLoop.h"
#include "Histogram.h"
#include "Holder.h"
#include "Net.h"
#include "Peer.h"
#include "Subscriber.h"

#include <map>
#include <memory>
#include <vector>

namespace bench {

struct WorkerConfig {
    std::vector<Endpoint> targets;
    Peer peer;
    int sources = 8;
    int64_t epochNs = 0;
    int64_t handshakeTimeoutNs = 15 * kSec;
    int64_t hardDeadlineNs = 0; // absolute; the worker exits by itself past it
};

class Worker final : private SubscriberOwner, private IoHandler {
public:
    Worker(int controlFd, const WorkerConfig& config, int index);
    ~Worker() override;
    int run();

private:
    void onIo(uint32_t events) override; // the control socket
    void handle(const ControlMessage& m);
    void reply(ControlMessage m);

    void startConnect(const ControlMessage& m);
    void startMore();
    void checkConnectDone();
    void checkHandshakeTimeouts();
    void checkExpectDone(bool deadlinePassed);
    void checkSlowDone(bool deadlinePassed);
    ControlMessage deliveryReport(bool complete) const;

    void onReady(Subscriber& s) override;
    void onFailed(Subscriber& s, const char* why) override;
    void onDelivery(Subscriber& s, int64_t sentNs, int64_t receivedNs) override;
    void onClosed(Subscriber& s, int code) override;

    int control_;
    WorkerConfig config_;
    int index_;
    bool quit_ = false;
    EventLoop loop_;
    SubscriberContext ctx_;
    std::vector<std::unique_ptr<Subscriber>> subs_;

    // connect
    bool connecting_ = false;
    const Endpoint* target_ = nullptr;
    size_t nextToStart_ = 0;
    size_t oldestUnresolved_ = 0;
    size_t inflight_ = 0;
    size_t inflightLimit_ = 64;
    size_t ok_ = 0, failed_ = 0;
    int64_t firstReady_ = 0, lastReady_ = 0;
    std::string firstFailure_;
    EventLoop::TimerId connectTimer_ = 0;
    EventLoop::TimerId deadlineTimer_ = 0;

    // deliveries
    size_t ready_ = 0; // ready subscribers that read (not the slow one)
    uint32_t target_k_ = 0;
    size_t done_ = 0;
    bool expecting_ = false;
    EventLoop::TimerId expectTimer_ = 0;
    uint64_t deliveries_ = 0;
    int64_t firstDelivery_ = 0, lastDelivery_ = 0;
    Histogram latency_;
    size_t closedByServer_ = 0;
    std::map<int, size_t> closeCodes_;

    // slow consumer
    Subscriber* slow_ = nullptr;
    bool slowWaiting_ = false;
    EventLoop::TimerId slowTimer_ = 0;

    Holder holder_;
};

} // namespace bench
