// console/app against real herald-server processes: the node rows and totals the console shows
// equal the servers' own /api/cluster (one node, and two nodes on a real Redis); a refused token
// stops retrying and says what to set on the node; a server restart is survived; nodes that die
// stay listed as down, then go.

#include "console/app/ConsoleSession.h"
#include "console/app/Profiles.h"
#include "console/app/TokenVault.h"
#include "shared/Codec.h"
#include "tests/common/RedisProcess.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"
#include "tests/console/ConsoleTestSupport.h"

#include <QJsonObject>
#include <QSettings>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

using namespace herald;
using namespace herald::test;
using console::AdminClient;
using console::ConsoleSession;

namespace {
const QByteArray kToken = "admin-secret";
QStringList adminArgs() {
    return {QStringLiteral("--admin-tokens"), QString::fromLatin1(kToken)};
}
} // namespace

class ConsoleModelsTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void adminUrlFollowsTheSameRulesAsHeraldctl() {
        using console::AdminClient;
        QCOMPARE(AdminClient::adminUrlFor(QUrl(QStringLiteral("https://example.org/herald/"))),
                 QUrl(QStringLiteral("wss://example.org/herald/admin"))); // a proxy's prefix
        QCOMPARE(AdminClient::adminUrlFor(QUrl(QStringLiteral("ws://127.0.0.1:8080"))),
                 QUrl(QStringLiteral("ws://127.0.0.1:8080/admin")));
        QCOMPARE(AdminClient::adminUrlFor(QUrl::fromUserInput(QStringLiteral("127.0.0.1:8080"))),
                 QUrl(QStringLiteral("ws://127.0.0.1:8080/admin")));
    }

    // The console's handshake, as a listener that never answers sees it: the token in the
    // header (not the URL, which proxies log) and who is asking.
    void handshakeCarriesBearerTokenAndUserAgent() {
        QTcpServer listener;
        QVERIFY(listener.listen(QHostAddress::LocalHost, 0));
        QByteArray request;
        QObject::connect(&listener, &QTcpServer::newConnection, &listener, [&] {
            while (QTcpSocket* s = listener.nextPendingConnection()) // owned by `listener`
                QObject::connect(s, &QTcpSocket::readyRead, s,
                                 [&request, s] { request += s->readAll(); });
        });
        AdminClient client;
        client.open(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(listener.serverPort())), kToken);
        QTRY_VERIFY_WITH_TIMEOUT(request.contains("\r\n\r\n"), 10000);
        const QByteArray lower = request.toLower();
        QVERIFY2(request.startsWith("GET /admin HTTP/1.1\r\n") &&
                     lower.contains("\r\nauthorization: bearer admin-secret\r\n") &&
                     lower.contains("\r\nuser-agent: herald-console/"),
                 request.constData());
        QCOMPARE(client.state(), AdminClient::State::Connecting);
    }

    void singleNodeMatchesApiCluster() {
        ServerProcess server(adminArgs());
        QString error;
        QVERIFY2(server.start(&error), qPrintable(error));
        WsClient a, b;
        QVERIFY(a.open(server.wsUrl(QStringLiteral("/public"))));
        QVERIFY(b.open(server.wsUrl(QStringLiteral("/public"))));
        b.subscribe({QStringLiteral("news")});
        QVERIFY(!b.waitFor(QStringLiteral("subscribed")).isEmpty());

        ConsoleSession session;
        session.open(server.httpUrl(QString()), kToken);
        QTRY_COMPARE_WITH_TIMEOUT(session.client().state(), AdminClient::State::Connected, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(session.nodes().rowCount() == 1, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(session.nodes().totalConnections() >= 2, 10000);
        QString diff;
        QTRY_VERIFY2_WITH_TIMEOUT(
            (diff = differenceFromApi(session.nodes(), server, kToken)).isEmpty(), qPrintable(diff),
            10000);
        QCOMPARE(session.nodes().stateOf(0), QStringLiteral("serving"));
        QVERIFY(session.nodes()
                    .data(session.nodes().index(0, console::NodesModel::Address))
                    .toString()
                    .size() > 0);

        // The audience preview follows the live counts.
        const console::AudiencePreview all = session.preview({admin::Target::Kind::All, {}});
        QCOMPARE(all.connections, session.nodes().totalConnections());
        QCOMPARE(all.nodes, 1);
        QVERIFY2(all.text.contains(QLatin1String("on 1 node")), qPrintable(all.text));
        QTRY_VERIFY_WITH_TIMEOUT(
            session.streams().subscribersOf(QStringLiteral("public.news")).value_or(0) >= 1, 10000);
        const console::AudiencePreview news =
            session.preview({admin::Target::Kind::Stream, QStringLiteral("news")});
        QVERIFY2(news.connections >= 1, qPrintable(news.text));
        QVERIFY(!session.preview({admin::Target::Kind::Stream, QStringLiteral("bad name!")}).valid);

        // Tail: a live copy of a stream, fed by a publish through the HTTP API.
        QVERIFY(session.startTail(QStringLiteral("news")));
        QCOMPARE(session.tailedStream(), QStringLiteral("public.news"));
        QTest::qWait(300); // let the subscribe reach the node before publishing
        const QByteArray body = codec::encode(
            PublishRequest{QStringLiteral("news"), {}, QJsonObject{{QStringLiteral("n"), 7}}});
        QCOMPARE(httpPost(server.httpUrl(QStringLiteral("/api/publish")), body, kToken).status,
                 200);
        QTRY_COMPARE_WITH_TIMEOUT(session.tail().rowCount(), 1, 10000);
        QCOMPARE(session.tail().index(0, console::TailModel::Stream).data().toString(),
                 QStringLiteral("public.news"));
        QCOMPARE(session.tail().index(0, console::TailModel::Data).data().toString(),
                 QStringLiteral("{\"n\":7}"));
    }

    void twoNodeClusterMatchesApiClusterAndKeepsDeadNodeAsDown() {
        RedisProcess redis;
        QString error;
        if (RedisProcess::binary().isEmpty())
            QSKIP("redis-server is not installed");
        QVERIFY2(redis.start(&error), qPrintable(error));
        QStringList args = adminArgs() + QStringList{QStringLiteral("--redis-url"), redis.url()};
        ServerProcess n1(args + QStringList{QStringLiteral("--node-id"), QStringLiteral("n1")});
        ServerProcess n2(args + QStringList{QStringLiteral("--node-id"), QStringLiteral("n2")});
        QVERIFY2(n1.start(&error), qPrintable(error));
        QVERIFY2(n2.start(&error), qPrintable(error));
        WsClient a, b, c;
        QVERIFY(a.open(n1.wsUrl(QStringLiteral("/public"))));
        QVERIFY(b.open(n2.wsUrl(QStringLiteral("/public"))));
        QVERIFY(c.open(n2.wsUrl(QStringLiteral("/public"))));

        ConsoleSession session;
        session.nodes().setDownRetentionMs(4000);
        session.open(n1.httpUrl(QString()), kToken);
        QTRY_VERIFY_WITH_TIMEOUT(session.nodes().liveNodes() == 2, 15000);
        QString diff;
        QTRY_VERIFY2_WITH_TIMEOUT((diff = differenceFromApi(session.nodes(), n1, kToken)).isEmpty(),
                                  qPrintable(diff), 15000);
        QTRY_VERIFY2_WITH_TIMEOUT((diff = differenceFromApi(session.nodes(), n2, kToken)).isEmpty(),
                                  qPrintable(diff), 15000);
        QVERIFY(session.nodes().liveNode(QStringLiteral("n2"))->connections >= 2);

        // Drain n2 from the console: it turns "draining" (or, once drained, leaves the cluster).
        QSignalSpy down(&session.nodes(), &console::NodesModel::nodeWentDown);
        QVERIFY(session.drain(QStringLiteral("n2")));
        auto n2State = [&session] {
            for (int row = 0; row < session.nodes().rowCount(); ++row)
                if (session.nodes().data(session.nodes().index(row, 0),
                                         console::NodesModel::NodeIdRole) == QStringLiteral("n2"))
                    return session.nodes().stateOf(row);
            return QString();
        };
        QTRY_VERIFY_WITH_TIMEOUT(n2State() == QLatin1String("draining") || down.count() == 1,
                                 15000);
        qInfo("n2 after drain: %s", qPrintable(n2State()));
        // The drain is in the audit log, which the console refreshes after the server's ack.
        QTRY_VERIFY_WITH_TIMEOUT(session.audit().rowCount() >= 1, 10000);
        QCOMPARE(session.audit().index(0, console::AuditModel::Action).data().toString(),
                 QStringLiteral("drain"));

        // n2 dies without a goodbye: it must turn "down" (not vanish), then leave after the
        // retention.
        n2.kill();
        QTRY_VERIFY_WITH_TIMEOUT(down.count() == 1, 15000);
        QCOMPARE(down.first().at(0).toString(), QStringLiteral("n2"));
        QCOMPARE(session.nodes().rowCount(), 2);
        QCOMPARE(session.nodes().downNodes(), 1);
        QTRY_VERIFY2_WITH_TIMEOUT((diff = differenceFromApi(session.nodes(), n1, kToken)).isEmpty(),
                                  qPrintable(diff), 15000);
        QTRY_COMPARE_WITH_TIMEOUT(session.nodes().rowCount(), 1, 10000);
    }

    void wrongTokenIsRefusedWithoutHammering() {
        ServerProcess server(adminArgs());
        QString error;
        QVERIFY2(server.start(&error), qPrintable(error));
        ConsoleSession session;
        session.client().setBackoff(50, 200);
        QSignalSpy states(&session.client(), &AdminClient::stateChanged);
        session.open(server.httpUrl(QString()), "wrong-token");
        QTRY_COMPARE_WITH_TIMEOUT(session.client().state(), AdminClient::State::Refused, 10000);
        QVERIFY2(session.client().stateText().contains(QLatin1String("token refused")),
                 qPrintable(session.client().stateText()));
        const qsizetype seen = states.count();
        QTest::qWait(
            1000); // with a 50 ms backoff a retrying client would have changed state many times
        QCOMPARE(states.count(), seen);
        QCOMPARE(session.client().state(), AdminClient::State::Refused);
    }

    // A node with no admin token refuses every console; the fix is on the node, so the console
    // says what to set there, not only to check its own profile.
    void refusalNamesWhatToSetOnTheNode() {
        ServerProcess server; // no tokens at all: a fresh install
        QString error;
        QVERIFY2(server.start(&error), qPrintable(error));
        ConsoleSession session;
        session.open(server.httpUrl(QString()), "some-token");
        QTRY_COMPARE_WITH_TIMEOUT(session.client().state(), AdminClient::State::Refused, 10000);
        const QString text = session.client().stateText();
        for (const char* part : {"no admin token is configured on this node", "HERALD_ADMIN_TOKENS",
                                 "connection profile"})
            QVERIFY2(text.contains(QLatin1String(part)), qPrintable(text));
    }

    void survivesServerRestart() {
        const quint16 port = freePort();
        const QStringList args =
            adminArgs() +
            QStringList{QStringLiteral("--listen"), QStringLiteral("127.0.0.1:%1").arg(port)};
        auto server = std::make_unique<ServerProcess>(args);
        QString error;
        QVERIFY2(server->start(&error), qPrintable(error));
        ConsoleSession session;
        session.client().setBackoff(100, 1000);
        session.open(server->httpUrl(QString()), kToken);
        QTRY_COMPARE_WITH_TIMEOUT(session.client().state(), AdminClient::State::Connected, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(session.nodes().liveNodes() == 1, 10000);

        server->stop();
        QTRY_COMPARE_WITH_TIMEOUT(session.client().state(), AdminClient::State::Reconnecting,
                                  10000);
        server = std::make_unique<ServerProcess>(args);
        QVERIFY2(server->start(&error), qPrintable(error));
        QCOMPARE(server->port(), port);
        WsClient client;
        QVERIFY(client.open(server->wsUrl(QStringLiteral("/public"))));
        QTRY_COMPARE_WITH_TIMEOUT(session.client().state(), AdminClient::State::Connected, 15000);
        QString diff;
        QTRY_VERIFY2_WITH_TIMEOUT(
            (diff = differenceFromApi(session.nodes(), *server, kToken)).isEmpty(),
            qPrintable(diff), 15000);
    }

    void profilesRoundTripAndTokenStorageAnswers() {
        QTemporaryDir dir;
        QSettings settings(dir.filePath(QStringLiteral("p.ini")), QSettings::IniFormat);
        console::ProfileStore store(settings);
        store.save({QStringLiteral("prod"), QStringLiteral("https://herald.example:8443"),
                    QStringLiteral("t1"), false});
        store.save(
            {QStringLiteral("staging"), QStringLiteral("http://10.0.0.5:8080"), QString(), true});
        store.save({QStringLiteral("prod"), QStringLiteral("https://herald.example:9443"),
                    QStringLiteral("t2"), false});
        QCOMPARE(store.all().size(), 2);
        QCOMPARE(store.find(QStringLiteral("prod"))->url,
                 QStringLiteral("https://herald.example:9443"));
        QCOMPARE(store.find(QStringLiteral("prod"))->token, QStringLiteral("t2"));
        QVERIFY(store.find(QStringLiteral("staging"))->tokenInKeyring);
        store.remove(QStringLiteral("prod"));
        QVERIFY(!store.find(QStringLiteral("prod")));
        QCOMPARE(store.all().size(), 1);

        // Whatever the machine has (a keyring, none, or a build without QtKeychain), the vault
        // answers asynchronously instead of hanging, and says whether the token is in a keyring.
        bool answered = false;
        QObject context;
        console::TokenVault::store(QStringLiteral("tst-console-profile"), QStringLiteral("secret"),
                                   &context, [&](bool inKeyring, const QString& why) {
                                       answered = true;
                                       qInfo("token vault: in keyring=%d (%s)", inKeyring,
                                             qPrintable(why));
                                   });
        QTRY_VERIFY_WITH_TIMEOUT(answered, 30000);
        console::TokenVault::forget(QStringLiteral("tst-console-profile"));
    }

    void nodesModelKeepsMissingNodesAsDownThenDropsThem() {
        console::NodesModel model;
        qint64 now = 1'000'000;
        model.setClock([&now] { return now; });
        auto node = [](const char* id, qint64 conns) {
            cluster::NodeInfo n;
            n.id = QString::fromLatin1(id);
            n.state = cluster::NodeState::Serving;
            n.connections = conns;
            return n;
        };
        model.applySnapshot({{node("a", 3), node("b", 4)}, 7, 5});
        QCOMPARE(model.rowCount(), 2);
        now += 1000;
        cluster::NodeInfo draining = node("a", 2);
        draining.state = cluster::NodeState::Draining;
        model.applySnapshot({{draining}, 2, 2});
        QCOMPARE(model.stateOf(0), QStringLiteral("draining"));
        QCOMPARE(model.stateOf(1), QStringLiteral("down"));
        QCOMPARE(model.totalConnections(), 2);
        now += 59'000;
        model.tick();
        QCOMPARE(model.rowCount(), 2);
        now += 1'000;
        model.tick();
        QCOMPARE(model.rowCount(), 1);
        now += 10'000; // no snapshot for 10 s: the remaining row is stale, not silently "live"
        model.tick();
        QCOMPARE(model.stateOf(0), QStringLiteral("stale"));
    }
};

QTEST_GUILESS_MAIN(ConsoleModelsTest)
#include "tst_console_models.moc"
