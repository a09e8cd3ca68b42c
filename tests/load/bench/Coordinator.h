// The coordinator process: forks the workers that hold the subscribers, publishes over HTTP,
// reads the server's CPU and memory, runs the scenarios in order and prints their results.
#pragma once

#include "Control.h"
#include "EventLoop.h"
#include "Histogram.h"
#include "HttpClient.h"
#include "Json.h"
#include "Options.h"
#include "Peer.h"
#include "ProcStats.h"
#include "Publisher.h"
#include "Worker.h"

#include <deque>
#include <functional>
#include <memory>
#include <vector>

namespace bench {

class Coordinator {
public:
    Coordinator(const Options& options, const Peer& peer, std::vector<Endpoint> targets,
                int64_t epochNs);
    ~Coordinator();
    // 0: every scenario completed; 1: some did not (their results say what is missing).
    int run();

private:
    struct Link final : IoHandler {
        int fd = -1;
        pid_t pid = 0;
        bool gone = false;
        std::deque<ControlMessage> inbox;
        void onIo(uint32_t events) override;
    };
    struct Population {
        bool up = false;
        bool reportTeardown = false;
        long ok = 0;
        long active = 0;   // still connected and reading, by the last count
        ProcSample before; // the server before these connections came
    };
    struct Deliveries {
        bool complete = true;
        uint64_t count = 0;
        int64_t first = 0, last = 0;
        long closed = 0;
        long ready = 0; // subscribers that were expected to receive
        Histogram latency;
        std::vector<Histogram> perTarget;
    };

    // workers
    bool spawnWorkers(int count);
    void send(size_t worker, const ControlMessage& m);
    void sendAll(const ControlMessage& m);
    // Waits for one `verb` message from each listed worker; false at the deadline.
    bool collect(const std::vector<size_t>& workers, const std::string& verb, int64_t deadline,
                 std::vector<ControlMessage>* out);
    std::vector<size_t> allWorkers() const;
    int64_t rel(int64_t absNs) const { return absNs - epoch_; }

    // building blocks of the scenarios
    bool connectPopulation(const std::vector<long>& perWorker, const std::vector<int>& targets,
                           int64_t deadline, JsonObject* result);
    JsonObject teardown(int64_t deadline, std::string* summary);
    bool resetCounts(int64_t deadline);
    Deliveries expect(long k, int64_t deadline, const std::vector<int>& targetOfWorker);
    // Publishes `count` messages at once to target 0; done(okCount) when all are answered.
    // Each burst goes out on new connections: a server that was busy for seconds may close a
    // kept-alive one the moment it looks up again (Herald does, after its handshake timeout),
    // dropping the requests just written to it; that is not what a burst should measure.
    void publishBurst(long count, long payload, std::function<void(long)> done) {
        publisher_->drop();
        publisher_->publish(count, payload, -1, std::move(done));
    }
    // Publishes at `rate` for `seconds`; returns the number answered 2xx (waits for answers).
    long publishSteady(double rate, double seconds, long payload, int64_t deadline, long* failed);
    // Forgets outstanding publishes (their callbacks may refer to a finished step).
    void dropPublishers() { publisher_->drop(); }
    ProcSample server() const { return sampleProcesses(pidsA_); }
    // This tool's own CPU time (coordinator and workers). On loopback the kernel does part of
    // the server's TCP work (ACK processing, sends it triggers) in the receiver's context, so
    // a server whose frames go out one segment at a time shows up here too.
    double clientCpu() const;
    // Open connections by the server's own count; -1 no answer, -2 an answer without one.
    long serverCount(int64_t deadline);
    void emit(JsonObject& result, const std::string& summary);
    JsonObject start(const std::string& scenario) const;

    // scenarios (Scenarios.cpp)
    bool ensurePopulation(int64_t deadline);
    bool runConnect(int64_t deadline);
    bool runIdle(int64_t deadline);
    bool runBroadcast(int64_t deadline);
    bool runFanout(int64_t deadline);
    bool runSlow(int64_t deadline);
    bool runLatency(int64_t deadline);
    bool runHold(int64_t deadline); // HoldScenario.cpp

    Options options_;
    Peer peer_;
    std::vector<Endpoint> targets_;
    int64_t epoch_;
    std::vector<pid_t> pidsA_, pidsB_;
    EventLoop loop_;
    std::vector<std::unique_ptr<Link>> links_;
    std::unique_ptr<Publisher> publisher_;
    std::unique_ptr<HttpClient> probe_;
    struct {
        double perSecond = 0;
        double cpuUsEach = 0;
    } lastConnect_;
    Population population_;
};

} // namespace bench
