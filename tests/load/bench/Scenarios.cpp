// The scenarios, built from the coordinator's steps. Each returns whether everything expected
// happened (all connected, every subscriber got every message); its JSON says what was measured.
#include "Coordinator.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace bench {
namespace {

std::vector<long> split(long n, size_t parts) {
    std::vector<long> out(parts, long(n / long(parts)));
    for (size_t i = 0; i < size_t(n % long(parts)); ++i)
        ++out[i];
    return out;
}

double ms(int64_t ns) {
    return double(ns) / 1e6;
}

double median(std::vector<double> v) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

__attribute__((format(printf, 1, 2))) std::string format(const char* fmt, ...) {
    char line[256];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    return line;
}

} // namespace

bool Coordinator::ensurePopulation(int64_t deadline) {
    if (population_.up)
        return population_.ok > 0;
    JsonObject ignored;
    connectPopulation(split(options_.n, links_.size()), std::vector<int>(links_.size(), 0),
                      deadline, &ignored);
    return population_.ok > 0;
}

bool Coordinator::runConnect(int64_t deadline) {
    if (population_.up) {
        std::string ignored;
        teardown(deadline, &ignored);
    }
    JsonObject result = start("connect");
    const bool ok = connectPopulation(split(options_.n, links_.size()),
                                      std::vector<int>(links_.size(), 0), deadline, &result);
    population_.reportTeardown = true;
    emit(result, format("%.0f of %.0f connected: %.0f connections/s, server CPU %.0f us each",
                        double(population_.ok), double(options_.n), lastConnect_.perSecond,
                        lastConnect_.cpuUsEach));
    return ok;
}

bool Coordinator::runIdle(int64_t deadline) {
    JsonObject result = start("idle");
    const bool up = ensurePopulation(deadline);
    // Let the server finish what connecting left behind (timers, buffers) before reading; what
    // it spends meanwhile is what idle connections cost it (keepalive pings and the like).
    const ProcSample settling = server();
    const int64_t t0 = nowNs();
    loop_.runUntil([] { return false; },
                   std::min(deadline, nowNs() + int64_t(options_.settle * double(kSec))));
    const ProcSample now = server();
    const double idleSeconds = double(nowNs() - t0) / double(kSec);
    const double perConnection =
        up ? double(now.rssKb - population_.before.rssKb) * 1024.0 / double(population_.ok) : 0;
    result.integer("n", population_.ok)
        .integer("server_rss_kb_before", population_.before.rssKb)
        .integer("server_rss_kb_after", now.rssKb)
        .number("rss_bytes_per_connection", perConnection)
        .number("idle_seconds", idleSeconds)
        .number("server_cpu_percent_idle", (now.cpuSec - settling.cpuSec) * 100 / idleSeconds)
        .boolean("complete", up && population_.ok == options_.n);
    emit(result, format("%.0f idle connections: %.1f KB of server RSS each", double(population_.ok),
                        perConnection / 1024));
    return up && population_.ok == options_.n;
}

bool Coordinator::runBroadcast(int64_t deadline) {
    JsonObject result = start("broadcast");
    bool ok = ensurePopulation(deadline);
    std::vector<double> first, last, p50, p99, delivered;
    long expected = 0, lost = 0;
    for (int r = 0; ok && r < options_.broadcasts; ++r) {
        if (!resetCounts(deadline)) {
            ok = false;
            break;
        }
        bool answered = false;
        long published = 0;
        publishBurst(1, options_.payload, [&](long good) {
            answered = true;
            published = good;
        });
        const Deliveries d = expect(1, std::min(deadline, nowNs() + 60 * kSec), {});
        loop_.runUntil([&] { return answered; }, deadline);
        if (!answered)
            dropPublishers();
        lost += population_.active - d.ready;
        population_.active = d.ready;
        ok = ok && d.complete && published == 1;
        expected = d.ready;
        first.push_back(ms(d.latency.min()));
        last.push_back(ms(d.latency.max()));
        p50.push_back(ms(d.latency.percentile(0.50)));
        p99.push_back(ms(d.latency.percentile(0.99)));
        delivered.push_back(double(d.count));
    }
    result.integer("n", population_.ok)
        .integer("expected_per_broadcast", expected)
        .numbers("delivered", delivered)
        .numbers("first_ms", first)
        .numbers("last_ms", last)
        .numbers("p50_ms", p50)
        .numbers("p99_ms", p99)
        .number("first_ms_median", median(first))
        .number("last_ms_median", median(last))
        .number("p50_ms_median", median(p50))
        .number("p99_ms_median", median(p99))
        .integer("subscribers_lost", lost)
        .boolean("complete", ok && lost == 0);
    emit(result, format("one message to %.0f: first %.2f ms, last %.1f ms, p50 %.1f ms",
                        double(population_.ok), median(first), median(last), median(p50)));
    return ok && lost == 0;
}

bool Coordinator::runFanout(int64_t deadline) {
    JsonObject result = start("fanout");
    bool ok = ensurePopulation(deadline);
    const ProcSample before = server();
    const double clientBefore = clientCpu();
    int64_t peakRss = before.rssKb;
    const auto sampler =
        loop_.every(50 * kMs, [&] { peakRss = std::max(peakRss, server().rssKb); });
    uint64_t deliveries = 0;
    long expected = 0, published = 0, lost = 0;
    double seconds = 0;
    Histogram latency;
    for (long b = 0; ok && b < options_.bursts; ++b) {
        if (!resetCounts(deadline)) {
            ok = false;
            break;
        }
        bool answered = false;
        const int64_t t0 = nowNs();
        publishBurst(options_.burst, options_.payload, [&](long good) {
            answered = true;
            published += good;
        });
        const Deliveries d = expect(options_.burst, deadline, {});
        loop_.runUntil([&] { return answered; }, deadline);
        if (!answered)
            dropPublishers();
        lost += population_.active - d.ready;
        population_.active = d.ready;
        ok = ok && d.complete && answered;
        deliveries += d.count;
        expected += d.ready * options_.burst;
        seconds += double(std::max<int64_t>(1, d.last - rel(t0))) / double(kSec);
        latency.merge(d.latency);
    }
    loop_.cancel(sampler);
    const ProcSample after = server();
    const double cpu = after.cpuSec - before.cpuSec;
    const double rate = seconds > 0 ? double(deliveries) / seconds : 0;
    result.integer("n", population_.ok)
        .integer("burst", options_.burst)
        .integer("bursts", options_.bursts)
        .integer("published", published)
        .integer("deliveries", int64_t(deliveries))
        .integer("expected", expected)
        .number("seconds", seconds)
        .number("deliveries_per_s", rate)
        .number("server_cpu_s", cpu)
        .number("server_cpu_us_per_delivery", deliveries ? cpu * 1e6 / double(deliveries) : 0)
        .str("server_cpu_by_thread", threadSplit(before, after))
        .number("client_cpu_s", clientCpu() - clientBefore)
        .integer("server_rss_kb_before", before.rssKb)
        .integer("server_rss_kb_peak", peakRss)
        .number("latency_p50_ms", ms(latency.percentile(0.5)))
        .number("latency_p99_ms", ms(latency.percentile(0.99)))
        .integer("subscribers_lost", lost)
        .boolean("complete", ok && lost == 0 && int64_t(deliveries) >= expected);
    emit(result, format("%.0f deliveries/s, server CPU %.2f us each, peak RSS %.0f MB", rate,
                        deliveries ? cpu * 1e6 / double(deliveries) : 0, double(peakRss) / 1024));
    return ok;
}

bool Coordinator::runSlow(int64_t deadline) {
    JsonObject result = start("slow");
    bool ok = ensurePopulation(deadline) && population_.ok >= 2;
    const ProcSample before = server();
    std::vector<ControlMessage> replies;
    send(0, ControlMessage{"slow", {}});
    ok = collect({0}, "ok", deadline, &replies) && ok && replies[0].number("index") >= 0;
    if (ok)
        --population_.active;
    ok = ok && resetCounts(deadline);
    int64_t peakRss = before.rssKb;
    const auto sampler =
        loop_.every(100 * kMs, [&] { peakRss = std::max(peakRss, server().rssKb); });
    long failed = 0;
    const long published = ok ? publishSteady(options_.slowRate, options_.duration,
                                              options_.slowPayload, deadline, &failed)
                              : 0;
    const Deliveries d = expect(published, std::min(deadline, nowNs() + 30 * kSec), {});
    loop_.cancel(sampler);
    const ProcSample during = server();
    // Reading again shows whether the server had closed the slow subscriber, and with what.
    send(0, ControlMessage{"slowresume", {}}.set("deadline", rel(nowNs() + 15 * kSec)));
    const bool resumed = collect({0}, "slow", nowNs() + 20 * kSec, &replies);
    const bool closed = resumed && replies[0].number("closed") == 1;
    const int code = resumed ? int(replies[0].number("code")) : 0;
    const long lost = population_.active - d.ready;
    population_.active = d.ready;
    ok = ok && d.complete && failed == 0 && lost == 0;
    result.integer("n", population_.ok)
        .integer("published", published)
        .integer("failed_publishes", failed)
        .number("rate", options_.slowRate)
        .integer("payload_bytes", options_.slowPayload)
        .integer("others_lost", lost)
        .integer("deliveries", int64_t(d.count))
        .integer("expected", int64_t(published) * d.ready)
        .number("others_p50_ms", ms(d.latency.percentile(0.5)))
        .number("others_p99_ms", ms(d.latency.percentile(0.99)))
        .integer("server_rss_kb_before", before.rssKb)
        .integer("server_rss_kb_peak", peakRss)
        .integer("server_rss_kb_after", during.rssKb)
        .boolean("slow_closed_by_server", closed)
        .integer("slow_close_code", code)
        .boolean("complete", ok);
    char line[200];
    std::snprintf(line, sizeof line,
                  "slow reader closed by the server: %s (code %d); others p99 %.2f ms; "
                  "server RSS peak +%.0f MB",
                  closed ? "yes" : "no", code, ms(d.latency.percentile(0.99)),
                  double(peakRss - before.rssKb) / 1024);
    emit(result, line);
    return ok;
}

bool Coordinator::runLatency(int64_t deadline) {
    JsonObject result = start("latency");
    if (population_.up) {
        std::string ignored;
        teardown(deadline, &ignored);
    }
    // Receivers split evenly over the nodes, each worker serving one node.
    const size_t nodes = targets_.size();
    std::vector<int> targetOf(links_.size());
    std::vector<long> perWorker(links_.size(), 0);
    const std::vector<long> perNode = split(options_.receivers, nodes);
    for (size_t node = 0; node < nodes; ++node) {
        std::vector<size_t> mine;
        for (size_t w = 0; w < links_.size(); ++w)
            if (w % nodes == node)
                mine.push_back(w);
        const std::vector<long> share = split(perNode[node], mine.size());
        for (size_t i = 0; i < mine.size(); ++i) {
            perWorker[mine[i]] = share[i];
            targetOf[mine[i]] = int(node);
        }
    }
    JsonObject ignored;
    bool ok = connectPopulation(perWorker, targetOf, deadline, &ignored);
    // Until a message reaches every receiver, subscriptions may still be on their way to the
    // other node (and Redis): warm up with single messages first.
    bool warm = false;
    for (int tries = 0; ok && !warm && tries < 20 && nowNs() < deadline; ++tries) {
        resetCounts(deadline);
        bool answered = false;
        publishBurst(1, options_.payload, [&](long) { answered = true; });
        warm = expect(1, std::min(deadline, nowNs() + 500 * kMs), targetOf).complete;
        loop_.runUntil([&] { return answered; }, deadline);
        if (!answered)
            dropPublishers();
    }
    ok = ok && warm && resetCounts(deadline);
    long failed = 0;
    const long published =
        ok ? publishSteady(options_.rate, options_.duration, options_.payload, deadline, &failed)
           : 0;
    const Deliveries d = expect(published, std::min(deadline, nowNs() + 30 * kSec), targetOf);
    const long lost = population_.active - d.ready;
    ok = ok && d.complete && failed == 0 && lost == 0;
    result.integer("receivers", population_.ok)
        .integer("receivers_lost", lost)
        .number("rate", options_.rate)
        .number("duration_s", options_.duration)
        .integer("published", published)
        .integer("failed_publishes", failed)
        .integer("deliveries", int64_t(d.count))
        .integer("expected", int64_t(published) * d.ready)
        .number("p50_ms", ms(d.latency.percentile(0.5)))
        .number("p99_ms", ms(d.latency.percentile(0.99)))
        .number("p999_ms", ms(d.latency.percentile(0.999)))
        .number("max_ms", ms(d.latency.max()));
    const char* names[] = {"a", "b"};
    for (size_t node = 0; node < nodes && node < 2; ++node) {
        const Histogram& h = d.perTarget[node];
        result.integer(std::string("deliveries_") + names[node], int64_t(h.count()))
            .number(std::string("p50_ms_") + names[node], ms(h.percentile(0.5)))
            .number(std::string("p99_ms_") + names[node], ms(h.percentile(0.99)))
            .number(std::string("p999_ms_") + names[node], ms(h.percentile(0.999)));
    }
    result.boolean("complete", ok);
    emit(result, format("%.0f msg/s to %.0f receivers: p50 %.2f ms, p99 %.2f ms", options_.rate,
                        double(population_.ok), ms(d.latency.percentile(0.5)),
                        ms(d.latency.percentile(0.99))));
    std::string ignoredSummary;
    teardown(deadline, &ignoredSummary);
    return ok;
}

} // namespace bench
