#include "Coordinator.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bench {

void Coordinator::Link::onIo(uint32_t) {
    ControlMessage m;
    bool lost = false;
    while (receiveControl(fd, &m, &lost))
        inbox.push_back(m);
    if (lost)
        gone = true;
}

Coordinator::Coordinator(const Options& options, const Peer& peer, std::vector<Endpoint> targets,
                         int64_t epochNs)
    : options_(options)
    , peer_(peer)
    , targets_(std::move(targets))
    , epoch_(epochNs)
    , pidsA_(parsePids(options.serverPids))
    , pidsB_(parsePids(options.serverPidsB)) {
    publisher_ = std::make_unique<Publisher>(loop_, peer_, targets_[0], options_.publishers,
                                             options_.pipeline, epoch_, options_.publishBatch);
    probe_ = std::make_unique<HttpClient>(loop_, targets_[0], 0x7f000001u);
}

Coordinator::~Coordinator() {
    for (auto& link : links_) {
        if (!link->gone)
            sendControl(link->fd, ControlMessage{"quit", {}});
    }
    // Workers leave on "quit" (or when this process goes: PR_SET_PDEATHSIG); reap them.
    const int64_t until = nowNs() + 5 * kSec;
    for (auto& link : links_) {
        while (waitpid(link->pid, nullptr, WNOHANG) == 0) {
            if (nowNs() > until) {
                kill(link->pid, SIGKILL);
                waitpid(link->pid, nullptr, 0);
                break;
            }
            usleep(10000);
        }
        loop_.remove(link->fd);
        ::close(link->fd);
    }
}

bool Coordinator::spawnWorkers(int count) {
    for (int i = 0; i < count; ++i) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
            std::perror("socketpair");
            return false;
        }
        const int big = 4 << 20;
        for (int fd : sv) {
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        }
        const pid_t parent = getpid();
        const pid_t pid = fork();
        if (pid < 0) {
            std::perror("fork");
            return false;
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(0);
            ::close(sv[0]);
            for (auto& link : links_)
                ::close(link->fd); // a sibling's channel: this worker must not hold it open
            int code = 0;
            {
                WorkerConfig config;
                config.targets = targets_;
                config.peer = peer_;
                config.sources = options_.sources;
                config.epochNs = epoch_;
                config.hardDeadlineNs =
                    nowNs() + int64_t(options_.timeout * double(options_.scenarios.size() + 1) *
                                      double(kSec));
                Worker worker(sv[1], config, i);
                code = worker.run();
            }
            std::fflush(stdout);
            _exit(code);
        }
        ::close(sv[1]);
        auto link = std::make_unique<Link>();
        link->fd = sv[0];
        link->pid = pid;
        loop_.add(link->fd, EPOLLIN, link.get());
        links_.push_back(std::move(link));
    }
    return true;
}

std::vector<size_t> Coordinator::allWorkers() const {
    std::vector<size_t> all(links_.size());
    for (size_t i = 0; i < all.size(); ++i)
        all[i] = i;
    return all;
}

void Coordinator::send(size_t worker, const ControlMessage& m) {
    if (!links_[worker]->gone && !sendControl(links_[worker]->fd, m))
        links_[worker]->gone = true;
}

void Coordinator::sendAll(const ControlMessage& m) {
    for (size_t i = 0; i < links_.size(); ++i)
        send(i, m);
}

bool Coordinator::collect(const std::vector<size_t>& workers, const std::string& verb,
                          int64_t deadline, std::vector<ControlMessage>* out) {
    out->clear();
    std::vector<bool> have(links_.size(), false);
    size_t missing = workers.size();
    auto take = [&] {
        for (size_t w : workers) {
            auto& inbox = links_[w]->inbox;
            while (!have[w] && !inbox.empty()) {
                ControlMessage m = std::move(inbox.front());
                inbox.pop_front();
                if (m.verb != verb)
                    continue; // a late answer to an earlier step that gave up waiting
                have[w] = true;
                --missing;
                out->push_back(std::move(m));
            }
            if (!have[w] && links_[w]->gone) {
                have[w] = true;
                --missing;
            }
        }
        return missing == 0;
    };
    loop_.runUntil(take, deadline);
    return out->size() == workers.size();
}

bool Coordinator::connectPopulation(const std::vector<long>& perWorker,
                                    const std::vector<int>& targets, int64_t deadline,
                                    JsonObject* result) {
    long total = 0;
    for (long n : perWorker)
        total += n;
    const ProcSample before = server();
    const double clientBefore = clientCpu();
    const int64_t t0 = nowNs();
    std::vector<size_t> used;
    for (size_t w = 0; w < perWorker.size(); ++w) {
        if (perWorker[w] <= 0)
            continue;
        const long inflight = std::max<long>(1, options_.inflight * perWorker[w] / total);
        send(w, ControlMessage{"connect", {}}
                    .set("count", perWorker[w])
                    .set("target", targets[w])
                    .set("inflight", inflight)
                    .set("deadline", rel(deadline - 3 * kSec)));
        used.push_back(w);
    }
    std::vector<ControlMessage> replies;
    const bool answered = collect(used, "connected", deadline, &replies);
    const ProcSample after = server();
    long ok = 0, failed = 0;
    int64_t last = 0;
    std::string why;
    for (const auto& r : replies) {
        ok += long(r.number("ok"));
        failed += long(r.number("failed"));
        last = std::max(last, r.number("last"));
        if (why.empty() && r.text("why") != "-")
            why = r.text("why");
    }
    const double seconds = double(std::max<int64_t>(1, last - rel(t0))) / double(kSec);
    population_ = Population{true, false, ok, ok, before};
    lastConnect_.perSecond = double(ok) / seconds;
    lastConnect_.cpuUsEach = ok ? (after.cpuSec - before.cpuSec) * 1e6 / double(ok) : 0;
    result->integer("n", total)
        .integer("connected", ok)
        .integer("failed", failed)
        .number("seconds", seconds)
        .number("connections_per_s", double(ok) / seconds)
        .number("server_cpu_s", after.cpuSec - before.cpuSec)
        .number("server_cpu_us_per_connect",
                ok ? (after.cpuSec - before.cpuSec) * 1e6 / double(ok) : 0)
        .str("server_cpu_by_thread", threadSplit(before, after))
        .number("client_cpu_s", clientCpu() - clientBefore)
        .integer("server_rss_kb_before", before.rssKb)
        .integer("server_rss_kb_after", after.rssKb)
        .str("first_failure", why);
    return answered && ok == total;
}

long Coordinator::serverCount(int64_t deadline) {
    long count = -1;
    bool done = false;
    probe_->request(peer_.countRequest(targets_[0].hostPort),
                    [&](int status, std::string_view body) {
                        if (status == 200) {
                            count = peer_.parseCount(body);
                            if (count < 0)
                                count = -2; // answered, but without a count to read
                        }
                        done = true;
                    });
    loop_.runUntil([&] { return done; }, std::min(deadline, nowNs() + 5 * kSec));
    if (!done) // the callback refers to this frame: drop the request's connection
        probe_ = std::make_unique<HttpClient>(loop_, targets_[0], 0x7f000001u);
    return count;
}

JsonObject Coordinator::teardown(int64_t deadline, std::string* summary) {
    JsonObject result = start("teardown");
    const ProcSample before = server();
    const int64_t t0 = nowNs();
    std::vector<ControlMessage> replies;
    sendAll(ControlMessage{"close", {}});
    collect(allWorkers(), "closed", deadline, &replies);
    // The server has work left after the sockets are closed: wait until it counts no
    // connection, then until its CPU time stops moving.
    // A busy server may not answer a probe in time (-1): ask again until the deadline. One
    // that answers without a count (-2) leaves only its CPU time to watch.
    long count = serverCount(deadline);
    while (count != 0 && count != -2 && nowNs() < deadline) {
        loop_.runUntil([] { return false; }, nowNs() + 100 * kMs);
        count = serverCount(deadline);
    }
    const double toZero = double(nowNs() - t0) / double(kSec);
    double previous = server().cpuSec;
    const int64_t settleUntil = std::min(deadline, nowNs() + 30 * kSec);
    while (nowNs() < settleUntil) {
        loop_.runUntil([] { return false; }, nowNs() + 300 * kMs);
        const double now = server().cpuSec;
        if (now - previous < 0.015)
            break;
        previous = now;
    }
    const ProcSample after = server();
    result.integer("n", population_.ok)
        .number("server_cpu_s", after.cpuSec - before.cpuSec)
        .str("server_cpu_by_thread", threadSplit(before, after))
        .number("seconds_to_zero", toZero)
        .boolean("count_reached_zero", count == 0)
        .integer("final_count", count)
        .integer("server_rss_kb_after", after.rssKb);
    char line[160];
    std::snprintf(line, sizeof line,
                  "teardown of %ld: server CPU %.3f s, no connection left after %.2f s%s",
                  population_.ok, after.cpuSec - before.cpuSec, toZero,
                  count == 0 ? "" : " (count did not reach 0)");
    *summary = line;
    population_ = Population{};
    return result;
}

bool Coordinator::resetCounts(int64_t deadline) {
    std::vector<ControlMessage> replies;
    sendAll(ControlMessage{"reset", {}});
    return collect(allWorkers(), "ok", deadline, &replies);
}

Coordinator::Deliveries Coordinator::expect(long k, int64_t deadline,
                                            const std::vector<int>& targetOfWorker) {
    Deliveries d;
    d.perTarget.resize(targets_.size());
    sendAll(ControlMessage{"expect", {}}.set("k", k).set("deadline", rel(deadline)));
    std::vector<ControlMessage> replies;
    // Workers answer at their deadline at the latest; allow for the trip back.
    d.complete = collect(allWorkers(), "delivered", deadline + 3 * kSec, &replies);
    Histogram h;
    for (const auto& r : replies) {
        d.complete = d.complete && r.number("complete") == 1;
        const uint64_t n = uint64_t(r.number("count"));
        if (n > 0) {
            d.first = d.count ? std::min(d.first, r.number("first")) : r.number("first");
            d.last = std::max(d.last, r.number("last"));
        }
        d.count += n;
        d.closed += long(r.number("closed"));
        d.ready += long(r.number("ready"));
        if (h.parse(r.text("hist"))) {
            d.latency.merge(h);
            const size_t w = size_t(r.number("worker"));
            const size_t t = w < targetOfWorker.size() ? size_t(targetOfWorker[w]) : 0;
            d.perTarget[std::min(t, d.perTarget.size() - 1)].merge(h);
        }
    }
    return d;
}

long Coordinator::publishSteady(double rate, double seconds, long payload, int64_t deadline,
                                long* failed) {
    const long total = long(rate * seconds);
    long sent = 0, answered = 0, ok = 0;
    const int64_t t0 = nowNs();
    EventLoop::TimerId timer = 0;
    auto tick = [&] {
        // Message k is due at t0 + k / rate, so message 0 at once. (Counting whole intervals
        // only, as this did before, sent each message one interval after the time it carries:
        // 1 ms of every latency at 1,000 msg/s, 10 ms at 100 msg/s, for every server alike.)
        const long due = std::min(total, long(rate * double(nowNs() - t0) / double(kSec)) + 1);
        // Each message carries the time it was due, not the time it left: a server that stalls
        // the publishers shows up in the latencies instead of hiding behind them.
        for (; sent < due; ++sent) {
            const int64_t intended = rel(t0) + int64_t(double(sent) * double(kSec) / rate);
            publisher_->publish(1, payload, intended, [&answered, &ok](long good) {
                ++answered;
                ok += good;
            });
        }
        if (sent >= total)
            loop_.cancel(timer);
    };
    // A tick per message, at its due time (per batch of --publish-batch messages).
    timer = loop_.every(std::max<int64_t>(1, int64_t(double(kSec) * options_.publishBatch / rate)),
                        tick);
    loop_.runUntil([&] { return answered >= total; }, deadline);
    loop_.cancel(timer);
    if (answered < total) // the callbacks refer to this frame: drop what is still outstanding
        dropPublishers();
    *failed = total - ok;
    return ok;
}

double Coordinator::clientCpu() const {
    std::vector<pid_t> pids{getpid()};
    for (const auto& link : links_)
        pids.push_back(link->pid);
    return sampleProcesses(pids).cpuSec;
}

JsonObject Coordinator::start(const std::string& scenario) const {
    JsonObject o;
    o.str("scenario", scenario).str("peer", peer_.name());
    if (!options_.label.empty())
        o.str("label", options_.label);
    return o;
}

void Coordinator::emit(JsonObject& result, const std::string& summary) {
    result.str("publish_errors", publisher_->errors());
    std::printf("%s\n", result.text().c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "herald-bench %s: %s\n", peer_.name(), summary.c_str());
}

int Coordinator::run() {
    const long cap = std::min<long>(19000, raiseFileLimit() - 256);
    long biggest = options_.n;
    if (std::count(options_.scenarios.begin(), options_.scenarios.end(), "latency"))
        biggest = std::max(biggest, options_.receivers);
    int procs = int((biggest + cap - 1) / std::max<long>(1, cap));
    if (targets_.size() > 1)
        procs = std::max<int>(procs, int(targets_.size()));
    procs = std::max({procs, options_.procs, 1});
    // The hold scenario gives each worker one node: as many workers for each.
    if (std::count(options_.scenarios.begin(), options_.scenarios.end(), "hold"))
        procs = int((size_t(procs) + targets_.size() - 1) / targets_.size() * targets_.size());
    if (!spawnWorkers(procs))
        return 2;
    std::fprintf(stderr, "herald-bench %s: %d worker process(es), %d source address(es)\n",
                 peer_.name(), procs, options_.sources);
    bool allOk = true;
    for (const auto& s : options_.scenarios) {
        const int64_t deadline = nowNs() + int64_t(options_.timeout * double(kSec));
        publisher_->clearErrors();
        bool ok = false;
        if (s == "connect")
            ok = runConnect(deadline);
        else if (s == "idle")
            ok = runIdle(deadline);
        else if (s == "broadcast")
            ok = runBroadcast(deadline);
        else if (s == "fanout")
            ok = runFanout(deadline);
        else if (s == "slow")
            ok = runSlow(deadline);
        else if (s == "latency")
            ok = runLatency(deadline);
        else if (s == "hold")
            ok = runHold(deadline);
        allOk = allOk && ok;
    }
    if (population_.up) {
        const bool report = population_.reportTeardown;
        std::string summary;
        JsonObject result = teardown(nowNs() + int64_t(options_.timeout * double(kSec)), &summary);
        if (report)
            emit(result, summary);
    }
    return allOk ? 0 : 1;
}

} // namespace bench
