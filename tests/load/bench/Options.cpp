#include "Options.h"

#include <cstdlib>
#include <sstream>

namespace bench {

const char* usage() {
    return R"(herald-bench: load generator for Herald and its peers (WebSocket fan-out servers).
Usage: herald-bench --target HOST:PORT [options]
  --peer herald|nchan|node|socketio
                             the server's protocol adapter (default herald); socketio:
                             Socket.IO v4 (Engine.IO 4 over WebSocket), see SocketIo.h
  --target HOST:PORT[,...]   the server (node A; hold: every node, comma-separated);
                             loopback only
  --target-b HOST:PORT       node B of a cluster (latency scenario)
  --server-pid PID[,PID]     the server's processes: CPU and RSS are read from /proc
  --server-pid-b PID[,PID]   node B's processes
  --scenarios LIST           comma-separated, run in order (default connect,idle,broadcast,fanout):
                             connect    N subscribers as fast as possible; then teardown
                             idle       server RSS per idle subscribed connection
                             broadcast  one message to N: first/last/p50/p99 receive times
                             fanout     bursts of --burst messages to N subscribers
                             slow       one subscriber stops reading during a steady stream
                             latency    --rate msg/s on node A, --receivers on A and B
                             hold       N idle subscribers over every --target node, one
                                        of --streams streams each, held --duration s
                                        while --rate msg/s go to the streams; then
                                        (stdin `killed`) a failover; counts drops, lost
                                        and duplicated messages (Holder.h)
  --n N                      subscribers (default 1000)
  --burst M --bursts B       fan-out: B bursts of M messages (default 100, 2)
  --publishers P             HTTP keep-alive connections publishing (default 4)
  --pipeline K               requests in flight on each of them (default 64: a burst of 100
                             goes out at once); the rest waits in herald-bench
  --publish-batch K          latency: up to K messages per POST, as Herald's batch publish (a
                             JSON array); the publisher then ticks every K/rate (default 1)
  --payload BYTES            message data size (default 100)
  --broadcasts R             broadcast repetitions (default 3)
  --inflight K               handshakes in flight at once (default 256)
  --sources S                source addresses 127.0.0.1..127.0.0.S (default 8)
  --procs P                  worker processes (default: as the open-file limit needs)
  --rate R --duration S      steady publishing for latency/slow (default 1000/s, 5 s)
  --receivers R              latency receivers, half on each node (default 20)
  --slow-rate R              messages/s in the slow scenario (default 200)
  --slow-payload BYTES       message size in the slow scenario (default 16384): with a few
                             dozen subscribers, enough bytes to overflow the slow reader's
                             buffers in seconds and few enough for the others to keep up
  --timeout S                hard deadline per scenario (default 180)
  --settle S                 wait before reading idle memory (default 2); hold: the quiet
                             spell before publishing (after 5 s of connect aftermath)
  --stream NAME              stream name (default bench)
  --label TEXT               copied into every result
  --streams S                hold: streams <prefix>0..S-1 (default 1000)
  --stream-prefix P          hold: stream name prefix (default public.s)
  --api-token T              hold: bearer token of the publish API
  --failover-wait S          hold: after the hold, wait up to S s for a line on stdin,
                             `failover` (the harness is killing a Redis master) or
                             `finish` (default 0: finish at once)
  --after S                  hold: publish at least S s after `failover` (default 30), and
                             until 10 s have passed without a failed publish
  --drain S                  hold: time for the last deliveries to arrive (default 60)
Output: one JSON object per scenario on stdout; a summary on stderr.
)";
}

namespace {

bool number(const std::string& text, double* out) {
    char* end = nullptr;
    *out = std::strtod(text.c_str(), &end);
    return end && *end == '\0' && !text.empty();
}

} // namespace

bool parseOptions(int argc, char** argv, Options* out, std::string* error) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string key = argv[i];
        if (key == "-h" || key == "--help") {
            *error = "help";
            return false;
        }
        if (i + 1 >= argc) {
            *error = "missing value for " + key;
            return false;
        }
        const std::string value = argv[++i];
        double v = 0;
        const bool isNumber = number(value, &v);
        auto need = [&](auto& field) {
            if (!isNumber || v < 0)
                return false;
            field = static_cast<std::remove_reference_t<decltype(field)>>(v);
            return true;
        };
        bool ok = true;
        if (key == "--peer")
            o.peer = value;
        else if (key == "--target")
            o.target = value;
        else if (key == "--target-b")
            o.targetB = value;
        else if (key == "--server-pid")
            o.serverPids = value;
        else if (key == "--server-pid-b")
            o.serverPidsB = value;
        else if (key == "--stream")
            o.stream = value;
        else if (key == "--label")
            o.label = value;
        else if (key == "--scenarios") {
            o.scenarios.clear();
            std::istringstream in(value);
            std::string item;
            while (std::getline(in, item, ','))
                if (!item.empty())
                    o.scenarios.push_back(item);
        } else if (key == "--n")
            ok = need(o.n);
        else if (key == "--burst")
            ok = need(o.burst);
        else if (key == "--bursts")
            ok = need(o.bursts);
        else if (key == "--publishers")
            ok = need(o.publishers) && o.publishers > 0;
        else if (key == "--pipeline")
            ok = need(o.pipeline) && o.pipeline > 0;
        else if (key == "--publish-batch")
            ok = need(o.publishBatch) && o.publishBatch > 0 && o.publishBatch <= 1000;
        else if (key == "--payload")
            ok = need(o.payload);
        else if (key == "--broadcasts")
            ok = need(o.broadcasts);
        else if (key == "--inflight")
            ok = need(o.inflight) && o.inflight > 0;
        else if (key == "--sources")
            ok = need(o.sources) && o.sources > 0 && o.sources < 255;
        else if (key == "--procs")
            ok = need(o.procs);
        else if (key == "--rate")
            ok = need(o.rate) && o.rate > 0;
        else if (key == "--duration")
            ok = need(o.duration);
        else if (key == "--receivers")
            ok = need(o.receivers);
        else if (key == "--slow-rate")
            ok = need(o.slowRate) && o.slowRate > 0;
        else if (key == "--slow-payload")
            ok = need(o.slowPayload);
        else if (key == "--timeout")
            ok = need(o.timeout) && o.timeout > 0;
        else if (key == "--settle")
            ok = need(o.settle);
        else if (key == "--streams")
            ok = need(o.streams) && o.streams > 0;
        else if (key == "--stream-prefix")
            o.streamPrefix = value;
        else if (key == "--api-token")
            o.apiToken = value;
        else if (key == "--failover-wait")
            ok = need(o.failoverWait);
        else if (key == "--after")
            ok = need(o.after);
        else if (key == "--drain")
            ok = need(o.drain) && o.drain > 0;
        else {
            *error = "unknown option " + key;
            return false;
        }
        if (!ok) {
            *error = "bad value for " + key + ": " + value;
            return false;
        }
    }
    if (o.target.empty()) {
        *error = "--target is required";
        return false;
    }
    if (o.publishBatch > 1 && o.peer != "herald") {
        *error = "--publish-batch is Herald's batch publish: --peer herald only";
        return false;
    }
    for (const auto& s : o.scenarios) {
        if (s != "connect" && s != "idle" && s != "broadcast" && s != "fanout" && s != "slow" &&
            s != "latency" && s != "hold") {
            *error = "unknown scenario " + s;
            return false;
        }
    }
    *out = o;
    return true;
}

} // namespace bench
