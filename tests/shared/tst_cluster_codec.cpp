// Control messages between nodes survive encode/decode; malformed ones are refused.

#include "shared/Cluster.h"

#include <QTest>

#include <limits>

using namespace herald;
using namespace herald::cluster;

class ClusterCodecTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void everyControlMessageRoundTrips() {
        NodeInfo node;
        node.id = QStringLiteral("n1");
        node.address = QStringLiteral("127.0.0.1:1");
        node.state = cluster::NodeState::Draining;
        node.connections = 12;
        node.users = 7;
        node.messagesInPerSecond = 2.5;
        node.brokerLagMs = 3;
        const QList<ControlMessage> messages = {
            Heartbeat{node, 123, 9, 500},
            UsersChanged{
                QStringLiteral("n1"), 4, false, {QStringLiteral("a")}, {QStringLiteral("b")}},
            UsersChanged{
                QStringLiteral("n1"), 5, true, {QStringLiteral("a"), QStringLiteral("c")}, {}},
            SyncRequest{QStringLiteral("*"), QStringLiteral("n2")},
            Leave{QStringLiteral("n1")},
            AdminBroadcast{QStringLiteral("m1"),
                           QStringLiteral("n1"),
                           QStringLiteral("r1"),
                           TargetKind::Stream,
                           QStringLiteral("public.x"),
                           {QStringLiteral("T"), QStringLiteral("B"), Level::Critical}},
            DeliveryReport{QStringLiteral("m1"), QStringLiteral("n1"), QStringLiteral("n2"), 42},
            StreamsQuery{QStringLiteral("q1"), QStringLiteral("n1")},
            StreamsAnswer{QStringLiteral("q1"),
                          QStringLiteral("n1"),
                          QStringLiteral("n2"),
                          {{QStringLiteral("public.x"), 3}}},
            DrainOrder{QStringLiteral("n2"), QStringLiteral("n1")},
            DisconnectOrder{QStringLiteral("u1"), QStringLiteral("n1")},
            AdminBroadcast{QStringLiteral("m2"),
                           QStringLiteral("n1"),
                           QString(),
                           TargetKind::All,
                           QString(),
                           {QStringLiteral("T"), QStringLiteral("B"), Level::Info},
                           1795386060000},
            StickyWithdraw{QStringLiteral("m2"), QStringLiteral("n1")},
        };
        for (const ControlMessage& m : messages) {
            const QByteArray once = encode(m);
            const auto decoded = decode(once);
            QVERIFY2(decoded.has_value(), once.constData());
            QCOMPARE(decoded->index(), m.index());
            QCOMPARE(encode(*decoded), once);
        }
        const auto heartbeat = std::get<Heartbeat>(*decode(encode(Heartbeat{node, 123, 9, 500})));
        QVERIFY(heartbeat.node == node);
        QCOMPARE(heartbeat.usersSeq, 9);
    }

    // Found by fuzz_admin_codec and fuzz_cluster_codec: counts come from any peer (or anyone who
    // can publish on Redis), and a plain cast of 1e300 to qint64 is undefined behaviour.
    void outOfRangeCountsSaturate() {
        const auto heartbeat =
            decode(R"({"type":"heartbeat","node":{"id":"n1","connections":1e300,"users":-1e300}})");
        QVERIFY(heartbeat && std::holds_alternative<Heartbeat>(*heartbeat));
        QCOMPARE(std::get<Heartbeat>(*heartbeat).node.connections,
                 std::numeric_limits<qint64>::max());
        QCOMPARE(std::get<Heartbeat>(*heartbeat).node.users, std::numeric_limits<qint64>::min());
        const auto answer =
            decode(R"({"type":"streams-answer","node":"n2","streams":[["public.a",9.3e18]]})");
        QVERIFY(answer && std::holds_alternative<StreamsAnswer>(*answer));
        QCOMPARE(std::get<StreamsAnswer>(*answer).streams.value(0).second,
                 std::numeric_limits<qint64>::max());
    }

    void malformedControlMessagesAreRefused() {
        for (const QByteArray& bad :
             {QByteArray(), QByteArray("{"), QByteArray(R"({"type":"nope","node":"n"})"),
              QByteArray(R"({"type":"heartbeat","node":{}})"), QByteArray(R"({"type":"leave"})"),
              QByteArray("[]")})
            QVERIFY2(!decode(bad).has_value(), bad.constData());
    }
};

QTEST_APPLESS_MAIN(ClusterCodecTest)
#include "tst_cluster_codec.moc"
