// TLS on the node's own port (tls_cert, tls_key, tls_ca), against real clients: Qt's
// QNetworkAccessManager, QWebSocket and QSslSocket, and Debian's Python (ssl + websockets).
// Every run makes its own certificates with the openssl command: a root CA the clients trust,
// an intermediate the node must send (tls_ca), and two leaf certificates to swap on SIGHUP.

#include "tests/common/RawWs.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/TlsTestKit.h"
#include "tests/common/WsClient.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSslSocket>
#include <QElapsedTimer>
#include <QTest>
#include <csignal>
#include <memory>

using namespace herald::test;

namespace {
const QByteArray kApiToken = "api-token-for-tests";

QStringList tlsArgs(const TestPki& pki, const QString& leaf) {
    return {QStringLiteral("--tls-cert"),   pki.path(leaf + QStringLiteral(".crt")),
            QStringLiteral("--tls-key"),    pki.path(leaf + QStringLiteral(".key")),
            QStringLiteral("--tls-ca"),     pki.path(QStringLiteral("intermediate.crt")),
            QStringLiteral("--api-tokens"), QString::fromLatin1(kApiToken)};
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true; // this test and the node are built with HERALD_SANITIZE
#else
constexpr bool kSanitized = false;
#endif

int countOf(const QString& text, const QString& needle) {
    return static_cast<int>(text.count(needle));
}

int openFiles(qint64 pid) {
    return static_cast<int>(QDir(QStringLiteral("/proc/%1/fd").arg(pid))
                                .entryList(QDir::NoDotAndDotDot | QDir::System)
                                .size());
}

} // namespace

class TestTls : public QObject {
    Q_OBJECT
    TestPki pki_;
    std::unique_ptr<ServerProcess> node_; // serves leaf "one"; SIGHUP tests use their own

    bool publish(ServerProcess& node, const QString& stream, const QJsonObject& data) {
        const HttpResult r = httpPost(node.httpUrl(QStringLiteral("/api/publish")),
                                      QJsonDocument(QJsonObject{{QStringLiteral("stream"), stream},
                                                                {QStringLiteral("data"), data}})
                                          .toJson(QJsonDocument::Compact),
                                      kApiToken, 20000, pki_.trusted());
        if (r.status != 200)
            qWarning() << "publish answered" << r.status << r.body;
        return r.status == 200;
    }

    // A QWebSocket over wss:// trusting the test root, subscribed to `stream`.
    std::unique_ptr<WsClient> subscriber(ServerProcess& node, const QString& stream) {
        auto client = std::make_unique<WsClient>();
        client->socket().setSslConfiguration(pki_.clientConfiguration());
        if (!client->open(node.wsUrl(QStringLiteral("/public")), 20000))
            return nullptr;
        client->subscribe({stream});
        if (client->waitFor(QStringLiteral("subscribed"), 20000).isEmpty())
            return nullptr;
        return client;
    }

    qint64 metric(ServerProcess& node, const QByteArray& name) {
        const QByteArray text =
            httpGet(node.httpUrl(QStringLiteral("/metrics")), {}, 20000, pki_.trusted()).body;
        for (const QByteArray& line : text.split('\n'))
            if (line.startsWith(QByteArray(name + ' ')))
                return line.mid(name.size() + 1).toLongLong();
        return -1;
    }

    // Closed before they go: Qt 6.4's QWebSocket destructor leaks its close reason (found by
    // LeakSanitizer in a HERALD_SANITIZE build).
    static void close(std::initializer_list<WsClient*> clients) {
        for (WsClient* c : clients) {
            c->socket().close();
            QVERIFY(c->waitForClosed(20000));
        }
    }

    static bool received(WsClient& client, const QString& marker) {
        return QTest::qWaitFor(
            [&] {
                for (const QJsonObject& m : client.eventsOf(QStringLiteral("message")))
                    if (m.value(QLatin1String("data")).toObject().value(QLatin1String("n")) ==
                        marker)
                        return true;
                return false;
            },
            20000);
    }

private Q_SLOTS:
    void initTestCase() {
        QString error;
        QVERIFY2(pki_.make(&error), qPrintable(error));
        node_ = std::make_unique<ServerProcess>(tlsArgs(pki_, QStringLiteral("one")));
        node_->trust(pki_.trusted());
        QVERIFY2(node_->start(&error), qPrintable(error));
    }

    void startupLineSaysHttps() {
        QVERIFY(node_->isTls());
        QVERIFY2(node_->output().contains(
                     QStringLiteral("listening on https://127.0.0.1:%1").arg(node_->port())),
                 qPrintable(node_->output()));
        // Subject and expiry of the certificate in use are logged; "one" expires within 14 days.
        QVERIFY(node_->output().contains(QStringLiteral("TLS certificate in use: subject \"")));
        QVERIFY(node_->output().contains(QStringLiteral("TLS certificate expires on")));
    }

    void httpsHealthzWithQt() {
        const HttpResult r =
            httpGet(node_->httpUrl(QStringLiteral("/healthz")), {}, 20000, pki_.trusted());
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value(QLatin1String("status")).toString(), QStringLiteral("ok"));
        // The chain (leaf + intermediate from tls_ca) is what lets a client that only knows the
        // root verify the node; the peer seen is leaf "one".
        QString why;
        QCOMPARE(tlsPeerCertificate(node_->port(), pki_.trusted(), &why),
                 pki_.certificate(QStringLiteral("one")));
    }

    void wssWithQtWebSocket() {
        auto client = subscriber(*node_, QStringLiteral("tls-qt"));
        QVERIFY(client);
        QVERIFY(client->socket().sslConfiguration().sessionProtocol() >= QSsl::TlsV1_2);
        QVERIFY(publish(*node_, QStringLiteral("tls-qt"), {{QStringLiteral("n"), "qt-1"}}));
        QVERIFY(received(*client, QStringLiteral("qt-1")));
        close({client.get()});
    }

    void wssWithPython() {
        PythonClient python;
        QString error;
        QVERIFY2(python.start(node_->port(), pki_.path(QStringLiteral("root.crt")),
                              QStringLiteral("tls-py"), &error),
                 qPrintable(error));
        QVERIFY2(python.waitForLine("SUBSCRIBED", 30000), qPrintable(python.output()));
        QVERIFY(python.output().contains(QStringLiteral("HEALTHZ 200")));
        QVERIFY(publish(*node_, QStringLiteral("tls-py"), {{QStringLiteral("n"), "py-1"}}));
        QVERIFY2(python.waitForLine("MESSAGE {\"n\": \"py-1\"}", 30000),
                 qPrintable(python.output()));
        QCOMPARE(python.waitForExit(30000), 0);
    }

    void plainHttpIsRefusedCleanly() {
        const PlainAnswer answer =
            plainRequest(node_->port(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 20000);
        QVERIFY2(answer.bytes.startsWith("HTTP/1.1 400 Bad Request\r\n"), answer.bytes.constData());
        QVERIFY(answer.bytes.contains("this port speaks TLS"));
        QVERIFY2(answer.closedByServer, "the node must close the connection after its answer");
        // A ws:// client gets no welcome either.
        WsClient plain;
        QVERIFY(!plain.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/public").arg(node_->port())),
                            20000));
        // The node is unharmed.
        QCOMPARE(
            httpGet(node_->httpUrl(QStringLiteral("/healthz")), {}, 20000, pki_.trusted()).status,
            200);
    }

    void clientThatDoesNotTrustTheCertificateFails() {
        // Only the system's CAs: the handshake fails on the client's side.
        QString why;
        QVERIFY(tlsPeerCertificate(node_->port(), {}, &why).isNull());
        QVERIFY2(!why.isEmpty(), "expected a verification error");
        QCOMPARE(httpGet(node_->httpUrl(QStringLiteral("/healthz")), {}, 20000).status, 0);
        WsClient untrusting;
        QVERIFY(!untrusting.open(node_->wsUrl(QStringLiteral("/public")), 20000));
        QVERIFY(untrusting.events().isEmpty());
    }

    // The node's own closes go through the TLS layer (close_notify after the last bytes), so
    // what it says before closing arrives: a protocol error's close frame, an HTTP error.
    void closesOverTlsDeliverTheirLastWords_data() {
        QTest::addColumn<QByteArray>("request");
        QTest::addColumn<QByteArray>("expected");
        QTest::newRow("unmasked frame: close 1002")
            << raw::upgradeRequest("/public") + raw::clientFrame(0x1, "hi", true, false)
            << QByteArray("1002");
        QTest::newRow("malformed HTTP: 400")
            << QByteArray("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
            << QByteArray("HTTP/1.1 400 ");
    }
    void closesOverTlsDeliverTheirLastWords() {
        QFETCH(QByteArray, request);
        QFETCH(QByteArray, expected);
        QSslSocket socket;
        socket.setSslConfiguration(pki_.clientConfiguration());
        socket.connectToHostEncrypted(QStringLiteral("localhost"), node_->port());
        QVERIFY(socket.waitForEncrypted(20000));
        socket.write(request);
        QByteArray received;
        connect(&socket, &QSslSocket::readyRead, this, [&] { received += socket.readAll(); });
        QTRY_VERIFY_WITH_TIMEOUT(socket.state() == QAbstractSocket::UnconnectedState, 20000);
        received += socket.readAll();
        if (expected == "1002") {
            QVERIFY2(received.startsWith("HTTP/1.1 101 "), received.constData());
            QByteArray frames = received.mid(received.indexOf("\r\n\r\n") + 4);
            const QList<raw::ServerFrame> list = raw::takeFrames(frames);
            QVERIFY(!list.isEmpty());
            QCOMPARE(list.last().opcode, 0x8);
            QCOMPARE(list.last().closeCode(), 1002);
        } else {
            QVERIFY2(received.startsWith(expected), received.constData());
        }
    }

    // A wss:// client that stops reading is closed as a slow consumer: what Qt has already
    // encrypted for it counts against max_outbound_bytes, not only what waits to be encrypted.
    void slowConsumerOverTlsIsClosed() {
        ServerProcess node(
            tlsArgs(pki_, QStringLiteral("two")) +
            QStringList{QStringLiteral("--max-outbound-bytes"), QStringLiteral("65536")});
        node.trust(pki_.trusted());
        QString error;
        QVERIFY2(node.start(&error), qPrintable(error));
        QSslSocket socket;
        socket.setSslConfiguration(pki_.clientConfiguration());
        socket.connectToHostEncrypted(QStringLiteral("localhost"), node.port());
        QVERIFY(socket.waitForEncrypted(20000));
        socket.write(raw::upgradeRequest("/public") +
                     raw::clientFrame(0x1, R"({"event":"subscribe","streams":["slow"]})"));
        QTRY_VERIFY_WITH_TIMEOUT(socket.peek(1 << 16).contains("subscribed"), 20000);
        // From now on the client reads nothing: its buffers, then the kernel's, then the node's
        // fill up.
        socket.setReadBufferSize(1024);
        const QJsonObject big{{QStringLiteral("n"), QString(60 * 1024, QLatin1Char('x'))}};
        int published = 0;
        while (metric(node, "herald_connections") != 0 && published < 1000) {
            QVERIFY(publish(node, QStringLiteral("slow"), big));
            ++published;
        }
        QCOMPARE(metric(node, "herald_connections"), 0);
        qInfo("closed as a slow consumer after %d messages of 60 KB", published);
        QVERIFY(metric(node, "herald_drops_total") >= 1);
    }

    void startRefusesUnusableFiles_data() {
        QTest::addColumn<QString>("cert");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("missing certificate")
            << QStringLiteral("missing.crt") << QStringLiteral("one.key") << "cannot read";
        QTest::newRow("not a certificate")
            << QStringLiteral("garbage.txt") << QStringLiteral("one.key") << "no PEM certificate";
        QTest::newRow("key of another certificate")
            << QStringLiteral("one.crt") << QStringLiteral("two.key") << "not the private key";
        QTest::newRow("encrypted key (no passphrase prompt)")
            << QStringLiteral("encrypted.crt") << QStringLiteral("encrypted.key")
            << "an encrypted key is not supported";
        QTest::newRow("expired certificate")
            << QStringLiteral("expired.crt") << QStringLiteral("expired.key") << "expired on 2020";
        QTest::newRow("key without certificate")
            << QString() << QStringLiteral("one.key") << "TLS needs both tls_cert and tls_key";
        QTest::newRow("certificate given as key")
            << QStringLiteral("one.crt") << QStringLiteral("one.crt")
            << "no usable PEM private key";
    }
    void startRefusesUnusableFiles() {
        QFETCH(QString, cert);
        QFETCH(QString, key);
        QFETCH(QString, mentions);
        QProcess server;
        QStringList args{QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                         QStringLiteral("--tls-key"), pki_.path(key)};
        if (!cert.isEmpty())
            args += {QStringLiteral("--tls-cert"), pki_.path(cert)};
        server.start(ServerProcess::binary(QStringLiteral("herald-server")), args);
        QVERIFY(server.waitForFinished(20000));
        const QString err = QString::fromUtf8(server.readAllStandardError());
        QCOMPARE(server.exitCode(), 2);
        QVERIFY2(err.contains(mentions), qPrintable(err));
    }

    // SIGHUP with new files: open connections go on, new ones get the new certificate; SIGHUP
    // with a broken file: an error in the log, and the node goes on with what it had.
    void sighupReloadsWithoutDroppingConnections() {
        QTemporaryDir live; // the files the node is configured with, replaced as certbot would
        QVERIFY(pki_.install(QStringLiteral("one"), live.path()));
        ServerProcess node({QStringLiteral("--tls-cert"), live.filePath(QStringLiteral("tls.crt")),
                            QStringLiteral("--tls-key"), live.filePath(QStringLiteral("tls.key")),
                            QStringLiteral("--tls-ca"),
                            pki_.path(QStringLiteral("intermediate.crt")),
                            QStringLiteral("--api-tokens"), QString::fromLatin1(kApiToken)});
        node.trust(pki_.trusted());
        QString error;
        QVERIFY2(node.start(&error), qPrintable(error));
        auto before = subscriber(node, QStringLiteral("reload"));
        QVERIFY(before);
        QCOMPARE(before->socket().sslConfiguration().peerCertificate(),
                 pki_.certificate(QStringLiteral("one")));

        QVERIFY(pki_.install(QStringLiteral("two"), live.path()));
        QCOMPARE(::kill(static_cast<pid_t>(node.process().processId()), SIGHUP), 0);
        QTRY_VERIFY_WITH_TIMEOUT(
            countOf(node.output(), QStringLiteral("TLS certificate reloaded, now in use")) == 1,
            20000);
        QString why;
        QCOMPARE(tlsPeerCertificate(node.port(), pki_.trusted(), &why),
                 pki_.certificate(QStringLiteral("two")));
        auto after = subscriber(node, QStringLiteral("reload"));
        QVERIFY(after);
        QCOMPARE(after->socket().sslConfiguration().peerCertificate(),
                 pki_.certificate(QStringLiteral("two")));
        QVERIFY(publish(node, QStringLiteral("reload"), {{QStringLiteral("n"), "after-reload"}}));
        QVERIFY(received(*before, QStringLiteral("after-reload")));
        QVERIFY(received(*after, QStringLiteral("after-reload")));

        // A broken certificate file: logged as an error, "two" stays in use.
        QVERIFY(pki_.writeLive(live.path(), QStringLiteral("tls.crt"), "not a certificate\n"));
        QCOMPARE(::kill(static_cast<pid_t>(node.process().processId()), SIGHUP), 0);
        QTRY_VERIFY_WITH_TIMEOUT(
            node.output().contains(QStringLiteral("error herald.gateway: SIGHUP: TLS certificate "
                                                  "not reloaded")),
            20000);
        QVERIFY(node.output().contains(QStringLiteral("holds no PEM certificate")));
        QCOMPARE(tlsPeerCertificate(node.port(), pki_.trusted(), &why),
                 pki_.certificate(QStringLiteral("two")));
        QVERIFY(publish(node, QStringLiteral("reload"), {{QStringLiteral("n"), "after-broken"}}));
        QVERIFY(received(*before, QStringLiteral("after-broken")));
        QVERIFY(received(*after, QStringLiteral("after-broken")));
        QVERIFY(before->isOpen());
        QVERIFY(after->isOpen());
        QCOMPARE(node.process().state(), QProcess::Running);
        QCOMPARE(countOf(node.output(), QStringLiteral("TLS certificate reloaded, now in use")), 1);
        close({before.get(), after.get()});
    }

    // A failed handshake leaves nothing behind: after a warm-up, 1000 of each kind (plain HTTP,
    // a client that does not trust the certificate, a client that hangs up after its
    // ClientHello, garbage, a cut-off ClientHello) leave the node's resident memory within 2 MB,
    // and each is counted once. A stalled ClientHello is closed at handshake_timeout.
    void failedHandshakesLeaveNothing() {
        constexpr int kEach = 1000;
        constexpr int kWarmUp = 250;
        constexpr qint64 kAllowedGrowthKb = 2048;
        constexpr int kParallel = 4;
        const QList<BadHandshake> kinds{BadHandshake::PlainHttp, BadHandshake::UntrustingPeer,
                                        BadHandshake::AbandonedHello, BadHandshake::Garbage,
                                        BadHandshake::TruncatedHello};
        ServerProcess node(
            tlsArgs(pki_, QStringLiteral("two")) +
            QStringList{QStringLiteral("--handshake-timeout"), QStringLiteral("1s")});
        node.trust(pki_.trusted());
        QString error;
        QVERIFY2(node.start(&error), qPrintable(error));
        const QByteArray failures = "herald_tls_handshake_failures_total";
        QString problem;
        // Each connection ends when the node has dealt with it (answered, closed or hung up on
        // after its answer), so the count of handshakes in progress stays small and what is
        // measured is what remains, not a burst's peak.
        for (BadHandshake kind : kinds)
            QCOMPARE(failHandshakes(node.port(), kind, kWarmUp, &problem, kParallel), kWarmUp);
        QTRY_COMPARE_WITH_TIMEOUT(metric(node, failures), qint64(kWarmUp * kinds.size()), 30000);
        const qint64 pid = node.process().processId();
        const qint64 before = ServerProcess::rssKb(pid);
        const int filesBefore = openFiles(pid);
        QVERIFY(before > 0);
        for (BadHandshake kind : kinds) {
            QElapsedTimer took;
            took.start();
            const int good = failHandshakes(node.port(), kind, kEach, &problem, kParallel);
            qInfo("kind %d: %d of %d as expected in %lld ms", int(kind), good, kEach,
                  took.elapsed());
            QVERIFY2(good == kEach, qPrintable(problem));
        }
        QTRY_COMPARE_WITH_TIMEOUT(metric(node, failures), qint64((kWarmUp + kEach) * kinds.size()),
                                  30000);
        // Every socket is closed...
        QTRY_VERIFY_WITH_TIMEOUT(openFiles(pid) <= filesBefore, 20000);
        // ...and its memory given back.
        const qint64 after = ServerProcess::rssKb(pid);
        qInfo("RSS %lld kB before, %lld kB after %lld failed handshakes (%+lld kB)", before, after,
              qint64(kEach * kinds.size()), after - before);
        // AddressSanitizer keeps freed memory in quarantine, so RSS says nothing in such a
        // build; there LeakSanitizer checks the node when it exits (below).
        if (!kSanitized)
            QVERIFY2(after - before <= kAllowedGrowthKb,
                     qPrintable(QStringLiteral("RSS grew by %1 kB").arg(after - before)));

        QCOMPARE(failHandshakes(node.port(), BadHandshake::StalledHello, 20, &problem, 20), 20);
        QTRY_COMPARE_WITH_TIMEOUT(metric(node, failures),
                                  qint64((kWarmUp + kEach) * kinds.size() + 20), 30000);
        // And the node still serves.
        auto client = subscriber(node, QStringLiteral("after-failures"));
        QVERIFY(client);
        close({client.get()});
        QCOMPARE(node.stop(), 0);
    }
};

QTEST_GUILESS_MAIN(TestTls)
#include "tst_tls.moc"
