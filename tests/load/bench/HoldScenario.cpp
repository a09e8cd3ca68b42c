// The hold scenario (issue 11's scale test), the coordinator's side: N idle subscribers spread
// over every node (a worker per node share) and over S streams, held while a steady rate of
// publishes goes to the streams through every node; then, on the harness's word (stdin
// `failover`: it is killing a Redis master now), publishing goes on through the failover. At the
// end every subscriber is checked against exactly the acknowledged publishes: lost (acked, not
// received), duplicated, received without an ack. Phase lines on stdout ({"phase":...}) let the
// harness sample the servers at the right moments; the result is one JSON object as usual.
#include "Coordinator.h"
#include "HoldPublisher.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace bench {
namespace {

// Lines from the harness on stdin; `eof` when there is no harness (a terminal closed, /dev/null).
struct StdinLines final : IoHandler {
    std::string buffer;
    std::vector<std::string> lines;
    bool eof = false;
    void onIo(uint32_t) override {
        char chunk[256];
        for (;;) {
            const ssize_t n = ::read(0, chunk, sizeof chunk);
            if (n > 0) {
                buffer.append(chunk, size_t(n));
            } else {
                if (n == 0 || (errno != EAGAIN && errno != EINTR))
                    eof = true;
                break;
            }
        }
        size_t nl;
        while ((nl = buffer.find('\n')) != std::string::npos) {
            lines.push_back(buffer.substr(0, nl));
            buffer.erase(0, nl + 1);
        }
    }
};

int64_t sum(const std::vector<ControlMessage>& replies, std::string_view key) {
    int64_t total = 0;
    for (const auto& r : replies)
        total += r.number(key);
    return total;
}

std::string joined(const std::vector<ControlMessage>& replies, std::string_view key) {
    std::string out;
    for (const auto& r : replies) {
        const std::string v = r.text(key);
        if (!v.empty() && v != "-")
            out += (out.empty() ? "" : " ") + v;
    }
    return out;
}

void phase(const char* name, int64_t sinceEpochNs, JsonObject extra = {}) {
    extra.str("phase", name).number("t", double(sinceEpochNs) / double(kSec));
    std::printf("%s\n", extra.text().c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "herald-bench hold: %s at %.1f s\n", name,
                 double(sinceEpochNs) / double(kSec));
}

} // namespace

bool Coordinator::runHold(int64_t deadline) {
    JsonObject result = start("hold");
    const size_t nodes = targets_.size();
    const size_t workers = links_.size();
    // Worker w serves node w % nodes; each node's share is split over its workers.
    std::vector<long> perWorker(workers, 0);
    for (size_t node = 0; node < nodes; ++node) {
        const long share = options_.n / long(nodes) + (long(node) < options_.n % long(nodes));
        std::vector<size_t> mine;
        for (size_t w = node; w < workers; w += nodes)
            mine.push_back(w);
        for (size_t i = 0; i < mine.size(); ++i)
            perWorker[mine[i]] = share / long(mine.size()) + (long(i) < share % long(mine.size()));
    }
    const int64_t t0 = nowNs();
    // Connecting at a few thousand a second; whatever is left by then counts as failed.
    const int64_t connectDeadline =
        std::min(deadline, t0 + 60 * kSec + int64_t(options_.n) * kSec / 1000);
    long base = 0;
    for (size_t w = 0; w < workers; ++w) {
        send(w, ControlMessage{"hold", {}}
                    .set("count", perWorker[w])
                    .set("base", base)
                    .set("streams", options_.streams)
                    .set("prefix", options_.streamPrefix)
                    .set("target", int64_t(w % nodes))
                    .set("inflight", std::max<long>(8, options_.inflight / long(workers)))
                    .set("deadline", rel(connectDeadline - 3 * kSec)));
        base += perWorker[w];
    }
    std::vector<ControlMessage> replies;
    collect(allWorkers(), "held", connectDeadline, &replies);
    const long connected = long(sum(replies, "ok"));
    const long failed = options_.n - connected;
    const double connectSeconds = double(nowNs() - t0) / double(kSec);
    phase("connected", rel(nowNs()),
          JsonObject()
              .integer("connected", connected)
              .integer("failed", failed)
              .number("seconds", connectSeconds));
    std::fprintf(stderr, "herald-bench hold: %ld of %ld subscribed in %.1f s%s%s\n", connected,
                 options_.n, connectSeconds, failed ? ", first failure: " : "",
                 failed ? joined(replies, "why").c_str() : "");

    auto status = [&](const char* verb, int64_t until, std::vector<ControlMessage>* out) {
        sendAll(ControlMessage{verb, {}});
        return collect(allWorkers(), verb, until, out);
    };

    // A quiet spell before publishing: what idle connections alone cost the nodes (keepalive
    // pings, heartbeats), measured by the harness between `quiet` and `holding`. The first
    // seconds after connecting still hold the connect's own work, so they are left out.
    if (options_.settle > 0) {
        loop_.runUntil([] { return false; }, std::min(deadline, nowNs() + 5 * kSec));
        phase("quiet", rel(nowNs()));
        loop_.runUntil([] { return false; },
                       std::min(deadline, nowNs() + int64_t(options_.settle * double(kSec))));
    }

    HoldPublisher publisher(loop_, targets_, size_t(options_.pipeline), uint32_t(options_.streams),
                            options_.streamPrefix, options_.payload, options_.apiToken, epoch_);
    const int64_t holdStart = nowNs();
    publisher.start(options_.rate);
    phase("holding", rel(holdStart));
    const int64_t holdEnd = std::min(deadline - int64_t(options_.drain * double(kSec)),
                                     holdStart + int64_t(options_.duration * double(kSec)));
    while (nowNs() < holdEnd) {
        loop_.runUntil([] { return false; }, std::min(holdEnd, nowNs() + 30 * kSec));
        if (nowNs() >= holdEnd)
            break;
        status("hstatus", nowNs() + 10 * kSec, &replies);
        std::fprintf(stderr,
                     "herald-bench hold: %.0f s: %lld ready, %lld closed, %lld messages, "
                     "%llu published\n",
                     double(nowNs() - holdStart) / double(kSec), (long long)sum(replies, "ready"),
                     (long long)sum(replies, "closed"), (long long)sum(replies, "messages"),
                     (unsigned long long)publisher.sent());
    }
    status("hstatus", nowNs() + 10 * kSec, &replies);
    const int64_t droppedDuringHold = sum(replies, "closed");
    const uint64_t publishedInHold = publisher.sent();
    phase("hold_done", rel(nowNs()),
          JsonObject()
              .integer("closed", droppedDuringHold)
              .integer("published", int64_t(publishedInHold)));

    // The failover: the harness says `failover` just before it kills a Redis master (`killed`,
    // just after, is taken as well), so every publish answered before that line came is one of
    // the hold's, and every failure after it is the failover's.
    StdinLines in;
    int64_t killedAt = 0;
    if (options_.failoverWait > 0) {
        fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
        const bool watching = loop_.add(0, EPOLLIN, &in);
        const int64_t until =
            std::min(deadline, nowNs() + int64_t(options_.failoverWait * double(kSec)));
        loop_.runUntil([&] { return in.eof || !in.lines.empty() || !watching; }, until);
        if (!in.lines.empty() && (in.lines.front() == "failover" || in.lines.front() == "killed"))
            killedAt = nowNs();
        if (watching)
            loop_.remove(0);
    }
    const uint64_t publishedBeforeKill = publisher.sent();
    if (killedAt) {
        phase("failover", rel(killedAt));
        // At least --after s; then until 10 s have gone by without a failed publish.
        const int64_t drainReserve = int64_t(options_.drain * double(kSec)) + 20 * kSec;
        loop_.runUntil(
            [&] {
                const int64_t now = nowNs();
                return now >= killedAt + int64_t(options_.after * double(kSec)) &&
                       now - publisher.lastFailureNs() >= 10 * kSec;
            },
            deadline - drainReserve);
    }
    publisher.stop();
    loop_.runUntil([&] { return publisher.outstanding() == 0; },
                   std::min(deadline, nowNs() + 20 * kSec));
    phase("published", rel(nowNs()));

    // Which messages were acknowledged, as a hex bitmap (digit d: sequences 4d..4d+3).
    const auto& st = publisher.status();
    std::string hex((st.size() + 3) / 4, '0');
    uint64_t acked = 0, ackedAfterKill = 0;
    int64_t expected = 0; // acked messages times their stream's subscribers
    const long perStream = options_.n / options_.streams,
               extraStreams = options_.n % options_.streams;
    std::map<int, long> failuresBeforeKill;
    std::map<uint64_t, long> failedStreams; // failures after the kill, by stream
    int64_t firstFailure = 0, lastFailure = 0, firstOkAfter = 0;
    for (size_t k = 0; k < st.size(); ++k) {
        const bool ok = st[k] >= 200 && st[k] < 300;
        if (ok) {
            ++acked;
            ackedAfterKill += k >= publishedBeforeKill;
            expected += perStream + (long(k % uint64_t(options_.streams)) < extraStreams);
            int v = hex[k / 4] >= 'a' ? hex[k / 4] - 'a' + 10 : hex[k / 4] - '0';
            v |= 1 << (k % 4);
            hex[k / 4] = char(v < 10 ? '0' + v : 'a' + v - 10);
        } else if (!killedAt || publisher.answeredAt()[k] < rel(killedAt)) {
            ++failuresBeforeKill[st[k]];
        } else {
            ++failedStreams[k % uint64_t(options_.streams)];
            firstFailure = firstFailure ? firstFailure : publisher.dueAt()[k];
            lastFailure = std::max(lastFailure, publisher.answeredAt()[k]);
        }
    }
    for (size_t k = publishedBeforeKill; k < st.size(); ++k)
        if (st[k] >= 200 && st[k] < 300 && publisher.dueAt()[k] > lastFailure && lastFailure) {
            firstOkAfter = publisher.answeredAt()[k];
            break;
        }
    sendAll(ControlMessage{"hcheck", {}}
                .set("acked", hex)
                .set("deadline",
                     rel(std::min(deadline, nowNs() + int64_t(options_.drain * double(kSec))))));
    collect(allWorkers(), "hchecked", deadline + 5 * kSec, &replies);
    const bool answered = replies.size() == workers;
    const int64_t lost = sum(replies, "lost"), dups = sum(replies, "duplicates");
    phase("checked", rel(nowNs()));

    std::string failures, failuresBefore;
    for (const auto& [code, n] : publisher.failures())
        failures += (failures.empty() ? "" : ",") + std::to_string(code) + ":" + std::to_string(n);
    for (const auto& [code, n] : failuresBeforeKill)
        failuresBefore +=
            (failuresBefore.empty() ? "" : ",") + std::to_string(code) + ":" + std::to_string(n);
    std::string byStream;
    for (const auto& [stream, n] : failedStreams)
        byStream +=
            (byStream.empty() ? "" : ",") + std::to_string(stream) + ":" + std::to_string(n);
    const double killT = killedAt ? double(rel(killedAt)) / double(kSec) : 0;
    auto after = [&](int64_t t) { return t && killedAt ? double(t - rel(killedAt)) / 1e9 : -1.0; };
    const bool ok = answered && connected == options_.n && lost == 0 && dups == 0 &&
                    droppedDuringHold == 0 && sum(replies, "gone") == 0 && failuresBefore.empty();
    result.integer("n", options_.n)
        .integer("nodes", int64_t(nodes))
        .integer("workers", int64_t(workers))
        .integer("streams", options_.streams)
        .number("rate", options_.rate)
        .integer("connected", connected)
        .integer("connect_failed", failed)
        .number("connect_seconds", connectSeconds)
        .number("hold_seconds", double(holdEnd - holdStart) / double(kSec))
        .integer("published", int64_t(st.size()))
        .integer("published_in_hold", int64_t(publishedInHold))
        .integer("acked", int64_t(acked))
        .integer("acked_after_failover", int64_t(ackedAfterKill))
        .str("failed_publishes", failures)
        .str("failed_publishes_before_failover", failuresBefore)
        .str("failed_after_kill_by_stream", byStream)
        .boolean("failover", killedAt != 0)
        .number("failover_at_s", killT)
        .number("first_failed_publish_after_kill_s", after(firstFailure))
        .number("last_failed_publish_after_kill_s", after(lastFailure))
        .number("publishes_ok_again_after_kill_s", after(firstOkAfter))
        .integer("dropped_during_hold", droppedDuringHold)
        .integer("closed_total", sum(replies, "closed"))
        .str("close_codes", joined(replies, "codes"))
        .integer("reconnects", sum(replies, "reconnects"))
        .integer("reconnect_failures", sum(replies, "reconnect_failures"))
        .integer("subscribers_gone", sum(replies, "gone"))
        .integer("resumed_recovered", sum(replies, "recovered_true"))
        .integer("resumed_not_recovered", sum(replies, "recovered_false"))
        .integer("messages_received", sum(replies, "messages"))
        .integer("expected_deliveries", expected)
        .integer("lost", lost)
        .integer("lost_at_gone_subscribers", sum(replies, "lost_at_gone"))
        .integer("subscribers_missing_some", sum(replies, "subscribers_missing"))
        .integer("duplicated", dups)
        .integer("received_unacked", sum(replies, "unacked_received"))
        .integer("out_of_order", sum(replies, "out_of_order"))
        .integer("wrong_stream", sum(replies, "wrong_stream"))
        .integer("unparsed", sum(replies, "unparsed"))
        .integer("before_subscribed", sum(replies, "before_subscribed"))
        .str("first_lost", joined(replies, "first_lost"))
        .str("first_duplicate", joined(replies, "first_duplicate"))
        .boolean("check_answered", answered)
        .boolean("complete", ok);
    char line[300];
    std::snprintf(line, sizeof line,
                  "%ld held over %zu nodes, %lld dropped in the hold; %llu of %zu publishes "
                  "acked; lost %lld, duplicated %lld",
                  connected, nodes, (long long)droppedDuringHold, (unsigned long long)acked,
                  st.size(), (long long)lost, (long long)dups);
    emit(result, line);
    sendAll(ControlMessage{"hclose", {}});
    collect(allWorkers(), "hclosed", nowNs() + 30 * kSec, &replies);
    return ok;
}

} // namespace bench
