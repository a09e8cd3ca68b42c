// The real herald-server binary on a free loopback port, driven by real WebSocket and HTTP
// clients: delivery, isolation of private streams, limits, errors, metrics and shutdown.

#include "shared/JwtVerifier.h"
#include "tests/common/RawWs.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QTest>
#include <csignal>
#include <memory>

using namespace herald::test;

namespace {
const QByteArray kApiToken = "api-token-for-tests";
const QByteArray kAdminToken = "admin-token-for-tests";
const QByteArray kJwtSecret = "jwt-secret-for-tests-0123456789abcdef";

QByteArray jwtFor(const QString& user, qint64 ttlSeconds = 3600) {
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    return herald::mintHs256({{QStringLiteral("sub"), user},
                              {QStringLiteral("iat"), now},
                              {QStringLiteral("exp"), now + ttlSeconds}},
                             kJwtSecret);
}

QStringList baseArgs() {
    return {QStringLiteral("--api-tokens"),   QString::fromLatin1(kApiToken),
            QStringLiteral("--admin-tokens"), QString::fromLatin1(kAdminToken),
            QStringLiteral("--jwt-secret"),   QString::fromLatin1(kJwtSecret)};
}

// Reads one counter or gauge sample from the Prometheus text; -1 when absent.
qint64 metric(const QByteArray& text, const QString& sample) {
    for (const QByteArray& line : text.split('\n'))
        if (line.startsWith(QByteArray(sample.toUtf8() + ' ')))
            return line.mid(sample.size() + 1).toLongLong();
    return -1;
}
} // namespace

class SingleNodeTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<ServerProcess> server_;

    QByteArray publish(const QJsonObject& body, int expectStatus = 200) {
        const HttpResult r =
            httpPost(server_->httpUrl(QStringLiteral("/api/publish")),
                     QJsonDocument(body).toJson(QJsonDocument::Compact), kApiToken);
        if (r.status != expectStatus)
            qWarning() << "publish answered" << r.status << r.body;
        return r.status == expectStatus ? r.body : QByteArray();
    }

    std::unique_ptr<WsClient> connectPrivate(const QString& user) {
        auto client = std::make_unique<WsClient>();
        if (!client->open(server_->wsUrl(QStringLiteral("/private?auth_header=") +
                                         QString::fromLatin1(jwtFor(user)))))
            return nullptr;
        return client;
    }

private Q_SLOTS:
    void initTestCase() {
        server_ = std::make_unique<ServerProcess>(baseArgs());
        QString error;
        QVERIFY2(server_->start(&error), qPrintable(error));
    }

    void cleanupTestCase() { QCOMPARE(server_->stop(), 0); }

    void subscribeThenPublishOverHttpDelivers() {
        WsClient client;
        QVERIFY(client.open(server_->wsUrl(QStringLiteral("/public"))));
        client.subscribe({QStringLiteral("promotional")});
        const QJsonObject subscribed = client.waitFor(QStringLiteral("subscribed"));
        QCOMPARE(subscribed.value(QLatin1String("streams")).toArray(),
                 QJsonArray{QStringLiteral("public.promotional")});

        const QJsonObject data{{QStringLiteral("text"), QStringLiteral("50% off")},
                               {QStringLiteral("n"), 7}};
        const QByteArray reply = publish({{QStringLiteral("stream"), QStringLiteral("promotional")},
                                          {QStringLiteral("data"), data}});
        QVERIFY(!reply.isEmpty());
        const QString id =
            QJsonDocument::fromJson(reply).object().value(QLatin1String("id")).toString();
        QVERIFY(!id.isEmpty());

        const QJsonObject message = client.waitFor(QStringLiteral("message"));
        QCOMPARE(message.value(QLatin1String("stream")).toString(),
                 QStringLiteral("public.promotional"));
        QCOMPARE(message.value(QLatin1String("id")).toString(), id);
        QCOMPARE(message.value(QLatin1String("data")).toObject(), data);
    }

    void scalarAndArrayDataArriveUnchanged() {
        WsClient client;
        QVERIFY(client.open(server_->wsUrl(QStringLiteral("/public"))));
        client.subscribe({QStringLiteral("public.scalars")});
        QVERIFY(!client.waitFor(QStringLiteral("subscribed")).isEmpty());
        QVERIFY(!publish({{QStringLiteral("stream"), QStringLiteral("public.scalars")},
                          {QStringLiteral("data"), QStringLiteral("plain \"text\" é")}})
                     .isEmpty());
        QVERIFY(!publish({{QStringLiteral("stream"), QStringLiteral("scalars")},
                          {QStringLiteral("data"), QJsonArray{1, true, QJsonValue()}}})
                     .isEmpty());
        QVERIFY(QTest::qWaitFor(
            [&] { return client.eventsOf(QStringLiteral("message")).size() == 2; }, 10000));
        const auto messages = client.eventsOf(QStringLiteral("message"));
        QCOMPARE(messages[0].value(QLatin1String("data")).toString(),
                 QStringLiteral("plain \"text\" é"));
        QCOMPARE(messages[1].value(QLatin1String("data")).toArray(),
                 (QJsonArray{1, true, QJsonValue()}));
    }

    void privateStreamsStayPrivate() {
        auto alice = connectPrivate(QStringLiteral("alice"));
        auto bob = connectPrivate(QStringLiteral("bob"));
        QVERIFY(alice && bob);
        QCOMPARE(alice->events().first().value(QLatin1String("user")).toString(),
                 QStringLiteral("alice"));

        // Alice tries Bob's stream: refused with forbidden, and nothing subscribed.
        alice->subscribe({QStringLiteral("private.bob.order")});
        const QJsonObject refused = alice->waitFor(QStringLiteral("error"));
        QCOMPARE(refused.value(QLatin1String("code")).toString(), QStringLiteral("forbidden"));
        QCOMPARE(refused.value(QLatin1String("stream")).toString(),
                 QStringLiteral("private.bob.order"));
        QVERIFY(alice->eventsOf(QStringLiteral("subscribed")).isEmpty());

        alice->subscribe({QStringLiteral("private.order")});
        bob->subscribe({QStringLiteral("private.order")});
        QCOMPARE(
            alice->waitFor(QStringLiteral("subscribed")).value(QLatin1String("streams")).toArray(),
            QJsonArray{QStringLiteral("private.alice.order")});
        QCOMPARE(
            bob->waitFor(QStringLiteral("subscribed")).value(QLatin1String("streams")).toArray(),
            QJsonArray{QStringLiteral("private.bob.order")});

        QVERIFY(!publish({{QStringLiteral("stream"), QStringLiteral("private.bob.order")},
                          {QStringLiteral("data"), QStringLiteral("for bob")}})
                     .isEmpty());
        // Then one for Alice through the "user" field: when it arrives, Bob's has been fanned out.
        QVERIFY(!publish({{QStringLiteral("stream"), QStringLiteral("order")},
                          {QStringLiteral("user"), QStringLiteral("alice")},
                          {QStringLiteral("data"), QStringLiteral("for alice")}})
                     .isEmpty());
        QCOMPARE(bob->waitFor(QStringLiteral("message")).value(QLatin1String("data")).toString(),
                 QStringLiteral("for bob"));
        QCOMPARE(alice->waitFor(QStringLiteral("message")).value(QLatin1String("data")).toString(),
                 QStringLiteral("for alice"));
        QCOMPARE(alice->eventsOf(QStringLiteral("message")).size(), 1);
        QCOMPARE(bob->eventsOf(QStringLiteral("message")).size(), 1);
    }

    void systemBroadcastReachesPublicAndPrivate() {
        WsClient anonymous;
        QVERIFY(anonymous.open(server_->wsUrl(QStringLiteral("/public"))));
        auto carol = connectPrivate(QStringLiteral("carol"));
        QVERIFY(carol);
        const HttpResult r =
            httpPost(server_->httpUrl(QStringLiteral("/api/broadcast")),
                     R"({"title":"Maintenance","body":"at 22:00","level":"warning"})", kApiToken);
        QCOMPARE(r.status, 200);
        for (WsClient* client : {&anonymous, carol.get()}) {
            const QJsonObject system = client->waitFor(QStringLiteral("system"));
            QCOMPARE(system.value(QLatin1String("id")).toString(),
                     r.json().value(QLatin1String("id")).toString());
            const QJsonObject data = system.value(QLatin1String("data")).toObject();
            QCOMPARE(data.value(QLatin1String("title")).toString(), QStringLiteral("Maintenance"));
            QCOMPARE(data.value(QLatin1String("body")).toString(), QStringLiteral("at 22:00"));
            QCOMPARE(data.value(QLatin1String("level")).toString(), QStringLiteral("warning"));
        }
    }

    void oversizedFrameClosesOnlyThatConnection() {
        WsClient bystander;
        WsClient offender;
        QVERIFY(bystander.open(server_->wsUrl(QStringLiteral("/public"))));
        QVERIFY(offender.open(server_->wsUrl(QStringLiteral("/public"))));
        offender.send(QByteArray(70 * 1024, 'x'));
        QVERIFY(offender.waitForClosed());
        QCOMPARE(offender.closeCode(), 1009);
        bystander.send(R"({"event":"ping"})");
        QVERIFY(!bystander.waitFor(QStringLiteral("pong")).isEmpty());
        QVERIFY(bystander.isOpen());
    }

    void malformedInputGetsErrorAndConnectionStaysUsable() {
        WsClient client;
        QVERIFY(client.open(server_->wsUrl(QStringLiteral("/public"))));
        const QList<QPair<QByteArray, QString>> cases = {
            {"{not json", QStringLiteral("bad_json")},
            {"[1,2]", QStringLiteral("bad_request")},
            {R"({"event":"dance"})", QStringLiteral("unknown_event")},
            {R"({"event":"subscribe","streams":"x"})", QStringLiteral("bad_request")},
            {R"({"event":"subscribe","streams":["bad name!"]})", QStringLiteral("bad_stream")},
        };
        for (const auto& [frame, code] : cases) {
            const int before = static_cast<int>(client.events().size());
            client.send(frame);
            const QJsonObject error = client.waitFor(QStringLiteral("error"), 10000, before);
            QCOMPARE(error.value(QLatin1String("code")).toString(), code);
            QVERIFY(!error.value(QLatin1String("message")).toString().isEmpty());
        }
        client.socket().sendBinaryMessage("binary");
        QCOMPARE(client
                     .waitFor(QStringLiteral("error"), 10000,
                              static_cast<int>(client.events().size()) - 1)
                     .value(QLatin1String("code"))
                     .toString()
                     .isEmpty(),
                 false);
        client.send(R"({"event":"ping"})");
        QVERIFY(!client.waitFor(QStringLiteral("pong")).isEmpty());
        QVERIFY(client.isOpen());
    }

    void onlineStreamPushesLiveCounts() {
        // The earlier cases' connections may still be closing on the node (their clients are
        // gone, the node has not read the close yet): start from a node that counts none, or a
        // count taken now could drop by one before the watcher's first event.
        const auto connectionsNow = [this] {
            return httpGet(server_->httpUrl(QStringLiteral("/api/cluster")), kApiToken)
                .json()
                .value(QLatin1String("totals"))
                .toObject()
                .value(QLatin1String("connections"))
                .toInteger();
        };
        QTRY_COMPARE_WITH_TIMEOUT(connectionsNow(), qint64(0), 10000);
        const qint64 before = 0;
        WsClient watcher;
        QVERIFY(watcher.open(server_->wsUrl(QStringLiteral("/public"))));
        watcher.subscribe({QStringLiteral("online")});
        const QJsonObject first = watcher.waitFor(QStringLiteral("online"));
        QCOMPARE(first.value(QLatin1String("connections")).toInteger(), before + 1);
        auto dave = connectPrivate(QStringLiteral("dave"));
        QVERIFY(dave);
        QVERIFY(QTest::qWaitFor(
            [&] {
                const auto online = watcher.eventsOf(QStringLiteral("online"));
                return online.last().value(QLatin1String("connections")).toInteger() ==
                           before + 2 &&
                       online.last().value(QLatin1String("users")).toInteger() >= 1;
            },
            10000));
    }

    void refusedCredentialsCloseWith4001() {
        const qint64 now = QDateTime::currentSecsSinceEpoch();
        const QByteArray expired = herald::mintHs256(
            {{QStringLiteral("sub"), QStringLiteral("eve")}, {QStringLiteral("exp"), now - 3600}},
            kJwtSecret);
        const QByteArray forged =
            herald::mintHs256({{QStringLiteral("sub"), QStringLiteral("eve")}}, "not-the-secret");
        const QList<QPair<QString, QString>> cases = {
            {QStringLiteral("/private"), QStringLiteral("needs a token")},
            {QStringLiteral("/private?token=") + QString::fromLatin1(expired),
             QStringLiteral("token expired")},
            {QStringLiteral("/private?token=") + QString::fromLatin1(forged),
             QStringLiteral("bad signature")},
            {QStringLiteral("/private?token=garbage"), QStringLiteral("malformed token")},
            {QStringLiteral("/admin?token=wrong"), QStringLiteral("wrong admin token")},
        };
        for (const auto& [path, reason] : cases) {
            WsClient client;
            QVERIFY(!client.open(server_->wsUrl(path)));
            QVERIFY(client.waitForClosed());
            QCOMPARE(client.closeCode(), 4001);
            QVERIFY2(client.closeReason().contains(reason),
                     qPrintable(path + QStringLiteral(": ") + client.closeReason()));
            QCOMPARE(client.eventsOf(QStringLiteral("error"))
                         .value(0)
                         .value(QLatin1String("code"))
                         .toString(),
                     QStringLiteral("unauthorized"));
        }
        WsClient admin;
        QVERIFY(admin.open(
            server_->wsUrl(QStringLiteral("/admin?token=") + QString::fromLatin1(kAdminToken))));
        // Authorization: Bearer works too.
        QNetworkRequest request(server_->wsUrl(QStringLiteral("/private")));
        request.setRawHeader("Authorization", "Bearer " + jwtFor(QStringLiteral("frank")));
        WsClient bearer;
        bearer.socket().open(request);
        QCOMPARE(bearer.waitFor(QStringLiteral("welcome")).value(QLatin1String("user")).toString(),
                 QStringLiteral("frank"));
    }

    void httpApiRefusesBadRequests() {
        const QUrl url = server_->httpUrl(QStringLiteral("/api/publish"));
        const QByteArray good = R"({"stream":"x","data":1})";
        QCOMPARE(httpPost(url, good).status, 401);
        QCOMPARE(httpPost(url, good, "wrong")
                     .json()
                     .value(QLatin1String("error"))
                     .toObject()
                     .value(QLatin1String("code"))
                     .toString(),
                 QStringLiteral("unauthorized"));
        QCOMPARE(httpPost(url, good, kAdminToken).status, 200); // admin tokens work for the API too
        const HttpResult badJson = httpPost(url, "{oops", kApiToken);
        QCOMPARE(badJson.status, 400);
        QCOMPARE(badJson.json()
                     .value(QLatin1String("error"))
                     .toObject()
                     .value(QLatin1String("code"))
                     .toString(),
                 QStringLiteral("bad_json"));
        QCOMPARE(httpPost(url, R"({"stream":"no spaces","data":1})", kApiToken)
                     .json()
                     .value(QLatin1String("error"))
                     .toObject()
                     .value(QLatin1String("code"))
                     .toString(),
                 QStringLiteral("bad_stream"));
        QCOMPARE(httpPost(url, R"({"stream":"x"})", kApiToken).status, 400);
        QCOMPARE(httpPost(url, QByteArray(2 * 1024 * 1024, ' '), kApiToken).status, 413);
        QCOMPARE(httpPost(server_->httpUrl(QStringLiteral("/api/broadcast")), R"({"level":"info"})",
                          kApiToken)
                     .status,
                 400);
        QCOMPARE(httpGet(url).status, 405);
        QCOMPARE(httpGet(server_->httpUrl(QStringLiteral("/nowhere"))).status, 404);
        QCOMPARE(httpGet(server_->httpUrl(QStringLiteral("/public"))).status, 426);
        QCOMPARE(httpGet(server_->httpUrl(QStringLiteral("/api/cluster"))).status, 401);
        QCOMPARE(httpGet(server_->httpUrl(QStringLiteral("/readyz"))).status, 200);
        const HttpResult page = httpGet(server_->httpUrl(QStringLiteral("/")));
        QCOMPARE(page.status, 200);
        QVERIFY(page.body.contains("<html") || page.body.contains("<!doctype"));
    }

    void metricsCountWhatHappened() {
        const HttpResult r = httpGet(server_->httpUrl(QStringLiteral("/metrics")));
        QCOMPARE(r.status, 200);
        QVERIFY(metric(r.body, QStringLiteral("herald_errors_total{code=\"bad_json\"}")) >= 2);
        QVERIFY(metric(r.body, QStringLiteral("herald_errors_total{code=\"forbidden\"}")) >= 1);
        QVERIFY(metric(r.body, QStringLiteral("herald_errors_total{code=\"unauthorized\"}")) >= 5);
        QVERIFY(metric(r.body, QStringLiteral("herald_errors_total{code=\"too_large\"}")) >= 1);
        QVERIFY(metric(r.body, QStringLiteral("herald_messages_published_total")) >= 6);
        QVERIFY(metric(r.body, QStringLiteral("herald_deliveries_total")) >= 10);
        QVERIFY(metric(r.body, QStringLiteral("herald_connections_refused_total")) >= 5);
        QVERIFY(metric(r.body, QStringLiteral("herald_messages_in_total")) >= 10);
        QVERIFY(metric(r.body, QStringLiteral("herald_connections")) >= 0);
        const QJsonObject node =
            httpGet(server_->httpUrl(QStringLiteral("/api/cluster")), kApiToken)
                .json()
                .value(QLatin1String("node"))
                .toObject();
        QCOMPARE(node.value(QLatin1String("connections")).toInteger(),
                 metric(r.body, QStringLiteral("herald_connections")));
    }

    // With workers, each connection belongs to one worker thread, the fewest-connections one
    // first: 6 clients on 2 workers are 3 and 3, and a publish reaches all of them. Without,
    // there is nothing to show.
    void workerThreadsShareTheConnections() {
        for (const int workers : {2, 0}) {
            ServerProcess node(baseArgs() +
                               QStringList{QStringLiteral("--workers"), QString::number(workers)});
            QString error;
            QVERIFY2(node.start(&error), qPrintable(error));
            std::vector<std::unique_ptr<WsClient>> clients;
            for (int i = 0; i < 6; ++i) {
                clients.push_back(std::make_unique<WsClient>());
                QVERIFY(clients.back()->open(node.wsUrl(QStringLiteral("/public"))));
                clients.back()->subscribe({QStringLiteral("workers")});
                QVERIFY(!clients.back()->waitFor(QStringLiteral("subscribed")).isEmpty());
            }
            const auto perWorker = [&node](int i) {
                return metric(httpGet(node.httpUrl(QStringLiteral("/metrics"))).body,
                              QStringLiteral("herald_worker_connections{worker=\"%1\"}").arg(i));
            };
            if (workers == 2) {
                QTRY_COMPARE_WITH_TIMEOUT(perWorker(0), 3, 10000);
                QCOMPARE(perWorker(1), 3);
            } else {
                QCOMPARE(perWorker(0), -1);
            }
            const HttpResult r = httpPost(node.httpUrl(QStringLiteral("/api/publish")),
                                          R"({"stream":"workers","data":{"n":1}})", kApiToken);
            QCOMPARE(r.status, 200);
            for (auto& c : clients)
                QTRY_COMPARE_WITH_TIMEOUT(c->messagesOn(QStringLiteral("public.workers")), 1,
                                          10000);
        }
    }

    void nodeRefusesConnectionsOverTheLimit() {
        ServerProcess small(
            baseArgs() + QStringList{QStringLiteral("--max-connections"), QStringLiteral("2"),
                                     QStringLiteral("--max-subscriptions"), QStringLiteral("2")});
        QString error;
        QVERIFY2(small.start(&error), qPrintable(error));
        WsClient a, b, c;
        QVERIFY(a.open(small.wsUrl(QStringLiteral("/public"))));
        QVERIFY(b.open(small.wsUrl(QStringLiteral("/public"))));
        QVERIFY(!c.open(small.wsUrl(QStringLiteral("/public")), 5000));
        QVERIFY(c.waitForClosed() || !c.isOpen());
        QVERIFY(a.isOpen() && b.isOpen());
        QCOMPARE(httpGet(small.httpUrl(QStringLiteral("/healthz"))).status, 200);

        a.subscribe({QStringLiteral("s1"), QStringLiteral("s2"), QStringLiteral("s3")});
        const QJsonObject refused = a.waitFor(QStringLiteral("error"));
        QCOMPARE(refused.value(QLatin1String("code")).toString(),
                 QStringLiteral("too_many_subscriptions"));
        QCOMPARE(refused.value(QLatin1String("stream")).toString(), QStringLiteral("s3"));
        QCOMPARE(a.waitFor(QStringLiteral("subscribed"))
                     .value(QLatin1String("streams"))
                     .toArray()
                     .size(),
                 2);
        const HttpResult metrics = httpGet(small.httpUrl(QStringLiteral("/metrics")));
        QCOMPARE(metric(metrics.body, QStringLiteral("herald_connections_refused_total")), 1);
    }

    void silentClientIsClosedAfterIdleTimeout() {
        ServerProcess quick(baseArgs() + QStringList{QStringLiteral("--keepalive-interval"),
                                                     QStringLiteral("200ms"),
                                                     QStringLiteral("--idle-timeout"),
                                                     QStringLiteral("1s")});
        QString error;
        QVERIFY2(quick.start(&error), qPrintable(error));
        // A raw socket that completes the handshake and then never answers pings.
        QTcpSocket raw;
        raw.connectToHost(QHostAddress::LocalHost, quick.port());
        QVERIFY(raw.waitForConnected(5000));
        raw.write(
            "GET /public HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: "
            "Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        QByteArray received;
        // Ping frames (0x89) arrive while silent, then a close frame (0x88) with code 4008.
        const bool closed = QTest::qWaitFor(
            [&] {
                raw.waitForReadyRead(50);
                received += raw.readAll();
                const qsizetype close = received.indexOf("\x88");
                return close >= 0 && received.size() >= close + 4;
            },
            15000);
        QVERIFY2(closed, received.left(200).toHex().constData());
        QVERIFY(received.startsWith("HTTP/1.1 101"));
        QVERIFY(received.contains("\x89"));
        const qsizetype at = received.indexOf("\x88");
        const int code =
            (static_cast<quint8>(received[at + 2]) << 8) | static_cast<quint8>(received[at + 3]);
        QCOMPARE(code, 4008);
    }

    void gracefulStopClosesClientsWith1001() {
        ServerProcess doomed(baseArgs());
        QString error;
        QVERIFY2(doomed.start(&error), qPrintable(error));
        WsClient client;
        QVERIFY(client.open(doomed.wsUrl(QStringLiteral("/public"))));
        QCOMPARE(doomed.stop(), 0);
        QVERIFY(client.waitForClosed());
        QCOMPARE(client.closeCode(), 1001);
    }

    void sigtermWithShutdownDrainDrainsFirst() {
        ServerProcess doomed({QStringLiteral("--shutdown-drain"), QStringLiteral("3s")});
        QString error;
        QVERIFY2(doomed.start(&error), qPrintable(error));
        std::vector<std::unique_ptr<raw::Connection>> clients;
        for (int i = 0; i < 3; ++i) {
            clients.push_back(std::make_unique<raw::Connection>(doomed.port()));
            clients.back()->write(raw::upgradeRequest("/public"));
            QCOMPARE(clients.back()->readResponseHead(), 101);
        }
        ::kill(static_cast<pid_t>(doomed.process().processId()), SIGTERM);
        // While it drains: not ready, new WebSockets refused with 1012, clients asked to move.
        QTRY_COMPARE_WITH_TIMEOUT(httpGet(doomed.httpUrl(QStringLiteral("/readyz"))).status, 503,
                                  5000);
        raw::Connection late(doomed.port());
        late.write(raw::upgradeRequest("/public"));
        QCOMPARE(late.readResponseHead(), 101);
        QCOMPARE(late.waitForClose(), 1012);
        for (auto& c : clients)
            QCOMPARE(c->waitForClose(), 1012);
        QVERIFY(doomed.process().waitForFinished(15000));
        QCOMPARE(doomed.process().exitCode(), 0);
    }

    void badConfigurationExitsWithCode2() {
        const QList<QStringList> cases = {
            {QStringLiteral("--listen"), QStringLiteral("nowhere:99999")},
            {QStringLiteral("--max-connections"), QStringLiteral("zero")},
            {QStringLiteral("--no-such-option")},
            {QStringLiteral("--config"), QStringLiteral("/nonexistent/herald.ini")},
            {QStringLiteral("--jwt-public-key-file"), QStringLiteral("/nonexistent/key.pem")},
        };
        for (const QStringList& args : cases) {
            QProcess p;
            p.start(ServerProcess::binary(QStringLiteral("herald-server")), args);
            QVERIFY(p.waitForFinished(10000));
            QCOMPARE(p.exitCode(), 2);
            const QString err = QString::fromUtf8(p.readAllStandardError());
            QVERIFY2(err.startsWith(QStringLiteral("herald-server: ")) && err.size() > 20,
                     qPrintable(err));
        }
        QProcess help;
        help.start(ServerProcess::binary(QStringLiteral("herald-server")),
                   {QStringLiteral("--help")});
        QVERIFY(help.waitForFinished(10000));
        QCOMPARE(help.exitCode(), 0);
        QVERIFY(help.readAllStandardOutput().contains("HERALD_MAX_CONNECTIONS"));
        QProcess version;
        version.start(ServerProcess::binary(QStringLiteral("herald-server")),
                      {QStringLiteral("--version")});
        QVERIFY(version.waitForFinished(10000));
        QVERIFY(QString::fromUtf8(version.readAllStandardOutput())
                    .contains(QRegularExpression(QStringLiteral("herald-server \\d+\\.\\d+"))));
    }
};

QTEST_GUILESS_MAIN(SingleNodeTest)
#include "tst_single_node.moc"
