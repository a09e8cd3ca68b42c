// The WebSocket edge against a real herald-server, byte by byte: RFC 6455 handshakes and
// framing as a careful client and as a hostile one would send them, origins and per-address
// limits. Each case names the rule it checks.

#include "shared/JwtVerifier.h"
#include "tests/common/RawWs.h"
#include "tests/common/ServerProcess.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpSocket>
#include <QTest>
#include <memory>

using namespace herald::test;
using raw::clientFrame;
using raw::upgradeRequest;

namespace {
const QByteArray kJwtSecret = "jwt-secret-for-tests-0123456789abcdef";
const QByteArray kAdminToken = "admin-token-for-tests";

QJsonObject json(const raw::ServerFrame& frame) {
    return QJsonDocument::fromJson(frame.payload).object();
}
QString eventOf(const raw::ServerFrame& frame) {
    return json(frame).value(QLatin1String("event")).toString();
}
} // namespace

class TestWebSocket : public QObject {
    Q_OBJECT
    std::unique_ptr<ServerProcess> server_;

    // An open connection on /public that has read its welcome.
    std::unique_ptr<raw::Connection> openPublic(const QByteArray& firstFrames = {}) {
        auto c = std::make_unique<raw::Connection>(server_->port());
        c->write(upgradeRequest("/public") + firstFrames);
        if (c->readResponseHead() != 101)
            return nullptr;
        auto welcome = c->nextFrame();
        if (!welcome || eventOf(*welcome) != QLatin1String("welcome"))
            return nullptr;
        return c;
    }

private Q_SLOTS:
    void initTestCase() {
        server_ = std::make_unique<ServerProcess>(
            QStringList{QStringLiteral("--jwt-secret"), QString::fromLatin1(kJwtSecret),
                        QStringLiteral("--admin-tokens"), QString::fromLatin1(kAdminToken),
                        QStringLiteral("--max-message-bytes"), QStringLiteral("4096"),
                        QStringLiteral("--jwt-leeway"), QStringLiteral("0")});
        QString error;
        QVERIFY2(server_->start(&error), qPrintable(error));
    }

    void malformedUpgradesGet400WithABody_data() {
        QTest::addColumn<QByteArray>("request");
        QTest::addColumn<int>("status");
        const QByteArray tail = "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
                                "dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
        QTest::newRow("bad Upgrade value")
            << QByteArray("GET /public HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: "
                          "Upgrade\r\n" +
                          tail)
            << 400;
        QTest::newRow("no key") << upgradeRequest("/public", {}, {}) << 400;
        QTest::newRow("key abc (RFC 6455 4.2.1: base64 of 16 bytes)")
            << upgradeRequest("/public", {}, "abc") << 400;
        QTest::newRow("no version")
            << QByteArray("GET /public HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: "
                          "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            << 426;
        QTest::newRow("POST")
            << QByteArray("POST /public HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: "
                          "Upgrade\r\nContent-Length: 0\r\n" +
                          tail)
            << 400;
        QTest::newRow("HTTP/1.0")
            << QByteArray("GET /public HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\nConnection: "
                          "Upgrade\r\n" +
                          tail)
            << 400;
    }
    void malformedUpgradesGet400WithABody() {
        QFETCH(QByteArray, request);
        QFETCH(int, status);
        raw::Connection c(server_->port());
        c.write(request);
        QCOMPARE(c.readResponseHead(), status);
        const QByteArray body = c.responseBody();
        QVERIFY2(body.contains("\"bad_request\""), body.constData());
        if (status == 426)
            QVERIFY(c.responseHead().contains("Sec-WebSocket-Version: 13"));
    }

    void acceptKeyIsTheRfcExample() {
        // RFC 6455 1.3: this key must be answered with exactly this accept value.
        raw::Connection c(server_->port());
        c.write(upgradeRequest("/public"));
        QCOMPARE(c.readResponseHead(), 101);
        QVERIFY(
            c.responseHead().contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    }

    void bigHandshakeIsAnsweredNotDropped() {
        // A long token in the query and a 6 KB header: 12 KB in all, under the 16 KB head limit.
        const QByteArray longToken(9000, 'x');
        raw::Connection c(server_->port());
        c.write(upgradeRequest("/private?auth_header=" + longToken,
                               "X-Padding: " + QByteArray(6000, 'p') + "\r\n"));
        QCOMPARE(c.readResponseHead(), 101);
        auto error = c.nextFrame();
        QVERIFY(error);
        QCOMPARE(eventOf(*error), QStringLiteral("error"));
        QCOMPARE(json(*error).value(QLatin1String("code")).toString(),
                 QStringLiteral("unauthorized"));
        QCOMPARE(c.waitForClose(), 4001);
    }

    void headOverTheLimitIs431() {
        raw::Connection c(server_->port());
        c.write(upgradeRequest("/public", "X-Padding: " + QByteArray(20000, 'p') + "\r\n"));
        QCOMPARE(c.readResponseHead(), 431);
    }

    void frameInTheSameWriteAsTheHandshakeIsRead() {
        auto c = openPublic(clientFrame(0x1, R"({"event":"ping"})"));
        QVERIFY(c);
        auto pong = c->nextFrame();
        QVERIFY(pong);
        QCOMPARE(eventOf(*pong), QStringLiteral("pong"));
    }

    void upgradeOnAKeepAliveConnectionThatServedRequests() {
        // As nginx does with its keep-alive pool: requests, then an upgrade on the same
        // connection, here even pipelined in one write. Each is answered, in order.
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, server_->port());
        QVERIFY(socket.waitForConnected(10000));
        const QByteArray healthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        socket.write(healthz + healthz + upgradeRequest("/public") +
                     clientFrame(0x1, R"({"event":"ping"})"));
        QByteArray in;
        auto frames = [&] {
            const qsizetype head = in.indexOf("HTTP/1.1 101 ");
            const qsizetype end = head < 0 ? -1 : in.indexOf("\r\n\r\n", head);
            QByteArray rest = end < 0 ? QByteArray() : in.mid(end + 4);
            return raw::takeFrames(rest);
        };
        QVERIFY(QTest::qWaitFor(
            [&] {
                in += socket.readAll();
                return frames().size() >= 2 || socket.state() != QAbstractSocket::ConnectedState;
            },
            10000));
        QCOMPARE(in.count("HTTP/1.1 200 OK"), 2);
        QVERIFY2(in.indexOf("HTTP/1.1 200 OK") < in.indexOf("HTTP/1.1 101 "), in.constData());
        const QList<raw::ServerFrame> got = frames();
        QVERIFY2(got.size() >= 2, in.constData());
        QCOMPARE(eventOf(got[0]), QStringLiteral("welcome"));
        QCOMPARE(eventOf(got[1]), QStringLiteral("pong"));
    }

    void unmaskedClientFrameIsClosed1002() {
        auto c = openPublic();
        QVERIFY(c);
        c->write(clientFrame(0x1, R"({"event":"ping"})", true, false));
        QCOMPARE(c->waitForClose(), 1002);
        QVERIFY(c->waitForDisconnected());
    }

    void fragmentsWithAPingBetweenThem() {
        auto c = openPublic();
        QVERIFY(c);
        c->write(clientFrame(0x1, R"({"event":)", false) + clientFrame(0x9, "hi") +
                 clientFrame(0x0, R"("ping"})", true));
        auto first = c->nextFrame();
        QVERIFY(first);
        QCOMPARE(first->opcode, 0xA); // the pong to our ping comes at once, with its data
        QCOMPARE(first->payload, QByteArray("hi"));
        auto second = c->nextFrame();
        QVERIFY(second);
        QCOMPARE(eventOf(*second), QStringLiteral("pong"));
    }

    void protocolErrorsCloseWithTheRightCode_data() {
        QTest::addColumn<QByteArray>("frames");
        QTest::addColumn<int>("code");
        QTest::newRow("invalid UTF-8 text") << clientFrame(0x1, "\xc3\x28") << 1007;
        QTest::newRow("encoded surrogate") << clientFrame(0x1, "\xed\xa0\x80") << 1007;
        QTest::newRow("over max_message_bytes") << clientFrame(0x1, QByteArray(5000, 'a')) << 1009;
        QTest::newRow("fragments adding up over the limit")
            << clientFrame(0x1, QByteArray(3000, 'a'), false) +
                   clientFrame(0x0, QByteArray(3000, 'a'))
            << 1009;
        QTest::newRow("continuation with nothing to continue") << clientFrame(0x0, "x") << 1002;
        QTest::newRow("new message inside a fragmented one")
            << clientFrame(0x1, "a", false) + clientFrame(0x1, "b") << 1002;
        QTest::newRow("fragmented ping") << clientFrame(0x9, "a", false) << 1002;
        QTest::newRow("ping over 125 bytes") << clientFrame(0x9, QByteArray(126, 'a')) << 1002;
        QTest::newRow("reserved opcode") << clientFrame(0x3, "a") << 1002;
        QTest::newRow("RSV1 without an extension")
            << QByteArray(1, char(0xC1)) + clientFrame(0x1, "a").mid(1) << 1002;
        QTest::newRow("close with a 1-byte payload") << clientFrame(0x8, "a") << 1002;
        QTest::newRow("close with code 1005") << clientFrame(0x8, "\x03\xed") << 1002;
    }
    void protocolErrorsCloseWithTheRightCode() {
        QFETCH(QByteArray, frames);
        QFETCH(int, code);
        auto c = openPublic();
        QVERIFY(c);
        c->write(frames);
        QCOMPARE(c->waitForClose(), code);
        QVERIFY(c->waitForDisconnected());
    }

    void closingHandshakeIsEchoed() {
        auto c = openPublic();
        QVERIFY(c);
        c->write(clientFrame(0x8, QByteArray("\x0b\xb8", 2) + "bye")); // 3000
        auto echo = c->nextFrame();
        QVERIFY(echo);
        QCOMPARE(echo->opcode, 0x8);
        QCOMPARE(echo->closeCode(), 3000);
        QCOMPARE(echo->payload.mid(2), QByteArray("bye")); // the reason is echoed too
        QVERIFY(c->waitForDisconnected()); // RFC 6455 7.1.1: the server closes the TCP connection
    }

    void binaryFrameIsAnErrorNotAClose() {
        auto c = openPublic();
        QVERIFY(c);
        c->write(clientFrame(0x2, "\x01\x02"));
        auto error = c->nextFrame();
        QVERIFY(error);
        QCOMPARE(json(*error).value(QLatin1String("code")).toString(),
                 QStringLiteral("bad_request"));
        c->write(clientFrame(0x1, R"({"event":"ping"})"));
        auto pong = c->nextFrame();
        QVERIFY(pong);
        QCOMPARE(eventOf(*pong), QStringLiteral("pong"));
    }

    void largeMessageInOneFrameWithA16BitLength() {
        auto c = openPublic();
        QVERIFY(c);
        QByteArray streams = R"({"event":"subscribe","streams":[)";
        for (int i = 0; i < 20; ++i)
            streams += (i ? "," : "") + QByteArray("\"stream-with-a-longer-name-") +
                       QByteArray::number(i) + '"';
        streams += "]}";
        QVERIFY(streams.size() > 125);
        c->write(clientFrame(0x1, streams));
        auto subscribed = c->nextFrame();
        QVERIFY(subscribed);
        QCOMPARE(eventOf(*subscribed), QStringLiteral("subscribed"));
        QVERIFY(subscribed->payload.size() > 125); // and our 16-bit length header decodes
    }

    void foreignOriginIsRefusedOwnHostIsNot() {
        const QByteArray host = "127.0.0.1:" + QByteArray::number(server_->port());
        {
            raw::Connection c(server_->port());
            c.write("GET /private HTTP/1.1\r\nHost: " + host +
                    "\r\nOrigin: https://evil.example\r\nUpgrade: websocket\r\nConnection: "
                    "Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
                    "dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
            QCOMPARE(c.readResponseHead(), 403);
        }
        {
            raw::Connection c(server_->port());
            c.write("GET /public HTTP/1.1\r\nHost: " + host + "\r\nOrigin: http://" + host +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: "
                    "13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
            QCOMPARE(c.readResponseHead(), 101);
        }
        const HttpResult metrics = httpGet(server_->httpUrl(QStringLiteral("/metrics")));
        QVERIFY(metrics.body.contains("herald_ws_refusals_total{reason=\"origin\"} 1"));
    }

    void allowedOriginPatterns() {
        ServerProcess node({QStringLiteral("--allowed-origins"),
                            QStringLiteral("https://app.example.com,https://*.example.org")});
        QString error;
        QVERIFY2(node.start(&error), qPrintable(error));
        auto statusFor = [&](const QByteArray& origin) {
            raw::Connection c(node.port());
            c.write(upgradeRequest("/public", "Origin: " + origin + "\r\n"));
            return c.readResponseHead();
        };
        QCOMPARE(statusFor("https://app.example.com"), 101);
        QCOMPARE(statusFor("https://eu.example.org"), 101);
        QCOMPARE(statusFor("https://example.org"), 403);   // the pattern is for subdomains
        QCOMPARE(statusFor("http://eu.example.org"), 403); // scheme must match
        QCOMPARE(statusFor("https://app.example.com.evil"), 403);
        QCOMPARE(statusFor("null"), 403);
    }

    void perAddressConnectionLimit() {
        ServerProcess node({QStringLiteral("--ip-max-connections"), QStringLiteral("2")});
        QString error;
        QVERIFY2(node.start(&error), qPrintable(error));
        std::vector<std::unique_ptr<raw::Connection>> open;
        for (int i = 0; i < 2; ++i) {
            open.push_back(std::make_unique<raw::Connection>(node.port()));
            open.back()->write(upgradeRequest("/public"));
            QCOMPARE(open.back()->readResponseHead(), 101);
        }
        raw::Connection third(node.port());
        third.write(upgradeRequest("/public"));
        QCOMPARE(third.readResponseHead(), 101);
        QCOMPARE(third.waitForClose(), 4029);
        // Another address is not affected.
        raw::Connection other(node.port(), QHostAddress(QStringLiteral("127.0.0.2")));
        other.write(upgradeRequest("/public"));
        QCOMPARE(other.readResponseHead(), 101);
        QCOMPARE(eventOf(*other.nextFrame()), QStringLiteral("welcome"));
        // A closed connection frees its place.
        open.front()->write(clientFrame(0x8, "\x03\xe8"));
        QVERIFY(open.front()->waitForDisconnected());
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                raw::Connection again(node.port());
                again.write(upgradeRequest("/public"));
                return again.readResponseHead() == 101 &&
                       eventOf(*again.nextFrame()) == QLatin1String("welcome");
            }(),
            10000);
    }

    void tokenExpiringOnAnOpenConnectionClosesOnTime() {
        // The keepalive sweep runs every 12.5 s; expiry must not wait for it.
        const qint64 exp = QDateTime::currentSecsSinceEpoch() + 2;
        const QByteArray token = herald::mintHs256(
            {{QStringLiteral("sub"), QStringLiteral("u1")}, {QStringLiteral("exp"), exp}},
            kJwtSecret);
        raw::Connection c(server_->port());
        c.write(upgradeRequest("/private?token=" + token));
        QCOMPARE(c.readResponseHead(), 101);
        QCOMPARE(eventOf(*c.nextFrame()), QStringLiteral("welcome"));
        auto expired = c.nextFrame(8000);
        QVERIFY2(expired, "not closed within 8 s of connecting (the token expired after 2 s)");
        QCOMPARE(json(*expired).value(QLatin1String("message")).toString(),
                 QStringLiteral("token expired"));
        QCOMPARE(c.waitForClose(2000), 4001);
        QVERIFY(QDateTime::currentSecsSinceEpoch() >= exp); // not early either
    }

    void tokenWithoutExpIsRefused() {
        const QByteArray token =
            herald::mintHs256({{QStringLiteral("sub"), QStringLiteral("u1")}}, kJwtSecret);
        raw::Connection c(server_->port());
        c.write(upgradeRequest("/private?token=" + token));
        QCOMPARE(c.readResponseHead(), 101);
        auto refusal = c.nextFrame();
        QVERIFY(refusal);
        QVERIFY(json(*refusal)
                    .value(QLatin1String("message"))
                    .toString()
                    .contains(QLatin1String("exp")));
        QCOMPARE(c.waitForClose(), 4001);
    }

    void failedAuthenticationsBackOff() {
        ServerProcess node({QStringLiteral("--jwt-secret"), QString::fromLatin1(kJwtSecret),
                            QStringLiteral("--auth-failure-limit"), QStringLiteral("3")});
        QString error;
        QVERIFY2(node.start(&error), qPrintable(error));
        for (int i = 0; i < 3; ++i) {
            raw::Connection c(node.port());
            c.write(upgradeRequest("/private?token=forged"));
            QCOMPARE(c.readResponseHead(), 101);
            QCOMPARE(c.waitForClose(), 4001);
        }
        // Now even a good token waits: the address is backing off.
        const qint64 now = QDateTime::currentSecsSinceEpoch();
        const QByteArray good = herald::mintHs256(
            {{QStringLiteral("sub"), QStringLiteral("u1")}, {QStringLiteral("exp"), now + 600}},
            kJwtSecret);
        raw::Connection c(node.port());
        c.write(upgradeRequest("/private?token=" + good));
        QCOMPARE(c.readResponseHead(), 101);
        auto refusal = c.nextFrame();
        QVERIFY(refusal);
        QCOMPARE(json(*refusal).value(QLatin1String("code")).toString(),
                 QStringLiteral("rate_limited"));
        QCOMPARE(c.waitForClose(), 4029);
        // Another address is not punished for it.
        raw::Connection other(node.port(), QHostAddress(QStringLiteral("127.0.0.3")));
        other.write(upgradeRequest("/private?token=" + good));
        QCOMPARE(other.readResponseHead(), 101);
        QCOMPARE(eventOf(*other.nextFrame()), QStringLiteral("welcome"));
        const HttpResult metrics = httpGet(node.httpUrl(QStringLiteral("/metrics")));
        QVERIFY(metrics.body.contains("herald_ws_refusals_total{reason=\"auth_backoff\"} 1"));
    }
};

QTEST_GUILESS_MAIN(TestWebSocket)
#include "tst_websocket.moc"
