// herald-bench's own parts that decide what it counts: the server-frame reader (fragments,
// control frames between fragments, extended lengths, protocol violations), the handshake
// accept value, masking, the latency histogram, the peers' delivery parsing and the Socket.IO
// dialect's packets.
#include "tests/load/bench/Histogram.h"
#include "tests/load/bench/Peer.h"
#include "tests/load/bench/SocketIo.h"
#include "tests/load/bench/WsCodec.h"

#include <QTest>
#include <string>
#include <utility>
#include <vector>

using namespace bench;

namespace {

struct Recorder : FrameSink {
    std::vector<std::pair<Opcode, std::string>> frames;
    void onFrame(Opcode opcode, std::string_view payload) override {
        frames.emplace_back(opcode, std::string(payload));
    }
    bool stopped() const override { return false; }
};

// An unmasked server frame.
std::string frame(uint8_t first, const std::string& payload) {
    std::string out(1, char(first));
    if (payload.size() < 126) {
        out += char(payload.size());
    } else if (payload.size() <= 0xffff) {
        out += char(126);
        out += char(payload.size() >> 8);
        out += char(payload.size() & 0xff);
    } else {
        out += char(127);
        for (int shift = 56; shift >= 0; shift -= 8)
            out += char((uint64_t(payload.size()) >> shift) & 0xff);
    }
    return out + payload;
}

} // namespace

class TstBenchCodec : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void acceptValueIsRfc6455s() {
        // The example of RFC 6455, section 1.3.
        QCOMPARE(expectedAccept("dGhlIHNhbXBsZSBub25jZQ=="),
                 std::string("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    }

    void clientFramesAreMasked() {
        std::string out;
        appendClientFrame(out, kText, "Hello", 0x7d3fa137u);
        QCOMPARE(uint8_t(out[0]), uint8_t(0x81));
        QCOMPARE(uint8_t(out[1]), uint8_t(0x85)); // mask bit and length 5
        const std::string key = out.substr(2, 4);
        std::string unmasked;
        for (size_t i = 0; i < 5; ++i)
            unmasked += char(out[6 + i] ^ key[i & 3]);
        QCOMPARE(unmasked, std::string("Hello"));
    }

    void fragmentsJoinAroundControlFrames() {
        const std::string bytes =
            frame(0x01, "Hel") + frame(0x89, "p") + frame(0x00, "lo, ") + frame(0x80, "world");
        FrameReader reader;
        Recorder rec;
        QCOMPARE(reader.feed(bytes.data(), bytes.size(), rec), long(bytes.size()));
        QCOMPARE(rec.frames.size(), size_t(2));
        QCOMPARE(rec.frames[0].first, kPing); // delivered as it came, between the fragments
        QCOMPARE(rec.frames[1].first, kText);
        QCOMPARE(rec.frames[1].second, std::string("Hello, world"));
    }

    void partialInputWaitsForTheRest() {
        const std::string big(70000, 'x'); // 64-bit length
        const std::string bytes = frame(0x81, std::string(300, 'y')) + frame(0x81, big);
        FrameReader reader;
        Recorder rec;
        const long used = reader.feed(bytes.data(), bytes.size() - 1, rec);
        QCOMPARE(used, long(4 + 300)); // the first frame only
        QCOMPARE(rec.frames.size(), size_t(1));
        const std::string rest = bytes.substr(size_t(used));
        QCOMPARE(reader.feed(rest.data(), rest.size(), rec), long(rest.size()));
        QCOMPARE(rec.frames.size(), size_t(2));
        QCOMPARE(rec.frames[1].second.size(), big.size());
    }

    void violationsAreRefused_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::newRow("masked") << QByteArray("\x81\x81\x00\x00\x00\x00x", 7);
        QTest::newRow("reserved bit") << QByteArray("\xc1\x01x", 3);
        QTest::newRow("fragmented ping") << QByteArray("\x09\x01x", 3);
        QTest::newRow("lone continuation") << QByteArray("\x80\x01x", 3);
        QTest::newRow("text inside fragments") << QByteArray("\x01\x01x\x81\x01y", 6);
        QTest::newRow("unknown opcode") << QByteArray("\x83\x01x", 3);
    }
    void violationsAreRefused() {
        QFETCH(QByteArray, bytes);
        FrameReader reader;
        Recorder rec;
        QCOMPARE(reader.feed(bytes.constData(), size_t(bytes.size()), rec), -1L);
    }

    void histogramPercentiles() {
        Histogram h;
        for (int i = 1; i <= 1000; ++i)
            h.add(int64_t(i) * 1000000); // 1..1000 ms
        QCOMPARE(h.count(), uint64_t(1000));
        QCOMPARE(h.min(), int64_t(1000000));
        QCOMPARE(h.max(), int64_t(1000000000));
        QVERIFY(qAbs(double(h.percentile(0.5)) / 500e6 - 1) < 0.01);
        QVERIFY(qAbs(double(h.percentile(0.99)) / 990e6 - 1) < 0.01);
        Histogram copy;
        QVERIFY(copy.parse(h.serialize()));
        copy.merge(h);
        QCOMPARE(copy.count(), uint64_t(2000));
        QCOMPARE(copy.percentile(0.5), h.percentile(0.5));
        QVERIFY(!copy.parse("garbage"));
    }

    void deliveriesCarryTheirSendTime() {
        int64_t t = 0;
        QVERIFY(Peer::parseDelivery(
            R"({"event":"message","stream":"public.b","id":"1","data":{"p":"xx","s":3,"t":1234567}})",
            &t));
        QCOMPARE(t, int64_t(1234567));
        // A server that re-encodes the number as a double is read the same.
        QVERIFY(Peer::parseDelivery(R"({"event":"message","data":{"t":1.5e+12}})", &t));
        QCOMPARE(t, int64_t(1500000000000));
        QVERIFY(!Peer::parseDelivery(R"({"event":"welcome","t":1})", &t));
        // Socket.IO's "message" event carries the same fields.
        QVERIFY(Peer::parseDelivery(
            R"(42["message",{"stream":"public.b","id":"a-1","data":{"s":3,"t":7654321,"p":"x"}}])",
            &t));
        QCOMPARE(t, int64_t(7654321));
        QVERIFY(!Peer::parseDelivery(R"(42["messages",{"data":{"t":1}}])", &t));
        QVERIFY(!Peer::parseDelivery(R"(42["subscribed",{"t":1}])", &t));
    }

    void socketIoDialect() {
        QCOMPARE(sio::classify(R"(0{"sid":"x","upgrades":[],"pingInterval":25000})"),
                 sio::Packet::Open);
        QCOMPARE(sio::classify("2"), sio::Packet::Ping);
        QCOMPARE(sio::classify("2probe"), sio::Packet::Other);
        QCOMPARE(sio::classify(R"(40{"sid":"y"})"), sio::Packet::Connected);
        QCOMPARE(sio::classify(R"(44{"message":"no"})"), sio::Packet::ConnectRefused);
        QCOMPARE(sio::classify(R"(42["message",{}])"), sio::Packet::Event);
        QCOMPARE(sio::classify(""), sio::Packet::Other);
        QCOMPARE(sio::event("subscribe", R"("bench")"), std::string(R"(42["subscribe","bench"])"));
        QVERIFY(sio::isEvent(R"(42["subscribed",{"streams":["public.bench"]}])", "subscribed"));
        QVERIFY(sio::isEvent(R"(42["subscribed"])", "subscribed"));
        QVERIFY(!sio::isEvent(R"(42["subscribed2",{}])", "subscribed"));
        QVERIFY(!sio::isEvent(R"(43["subscribed",{}])", "subscribed"));
        QVERIFY(!sio::isEvent("42[\"sub", "subscribed")); // cut short

        Peer peer;
        QVERIFY(Peer::fromName("socketio", &peer));
        QVERIFY(peer.hasSession());
        peer.setStream("bench");
        QCOMPARE(peer.subscribeMessage(), std::string(R"(42["subscribe","bench"])"));
        QVERIFY(peer.upgradeRequest("127.0.0.1:1", "k")
                    .starts_with("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"));
        QVERIFY(peer.completesSubscription(R"(42["subscribed",{"streams":["public.bench"]}])"));
        QVERIFY(!peer.completesSubscription(R"(40{"sid":"y"})"));
        QVERIFY(Peer::isRefusal(R"(42["error",{"code":"bad_stream"}])"));
        QCOMPARE(peer.parseCount("connections 12\n"), 12L);
        // The publish goes to the same HTTP API as Herald's.
        QVERIFY(peer.publishRequest("127.0.0.1:1", 1, 5, 100).starts_with("POST /api/publish "));
    }
};

QTEST_APPLESS_MAIN(TstBenchCodec)
#include "tst_bench_codec.moc"
