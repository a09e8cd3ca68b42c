// Publishes over a few keep-alive HTTP connections, pipelined up to a window per connection;
// what does not fit waits here, not in the server's socket (a server may time out a request
// that sits unread behind others, and a burst must measure fan-out, not that).
#pragma once

#include "EventLoop.h"
#include "HttpClient.h"
#include "Peer.h"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bench {

class Publisher {
public:
    // batch > 1: up to `batch` queued messages go in one POST (Herald's batch publish).
    Publisher(EventLoop& loop, const Peer& peer, const Endpoint& target, int connections,
              int window, int64_t epochNs, int batch = 1);

    // Queues `count` messages of about payloadBytes; each carries as its send time intendedNs
    // (relative to the epoch) when >= 0, else the moment it is written. done(ok) once all are
    // answered, ok counting the 2xx answers.
    void publish(long count, long payloadBytes, int64_t intendedNs, std::function<void(long)> done);
    // Forgets everything queued or outstanding, without calling back (a step gave up on it).
    void drop();
    // Failed answers since clearErrors(): "status:count,..." (status 0: no answer).
    std::string errors() const;
    void clearErrors() { errors_.clear(); }

private:
    struct Tally {
        long answered = 0, ok = 0, count = 0;
        std::function<void(long)> done;
    };
    struct Pending {
        long payload;
        int64_t intended;
        std::shared_ptr<Tally> tally;
    };
    void pump();
    void sendBatch(HttpClient& client);

    EventLoop& loop_;
    const Peer& peer_;
    Endpoint target_;
    size_t window_;
    size_t batch_;
    int64_t epoch_;
    uint64_t seq_ = 0;
    std::vector<std::unique_ptr<HttpClient>> clients_;
    std::deque<Pending> pending_;
    std::map<int, long> errors_;
};

} // namespace bench
