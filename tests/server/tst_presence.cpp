// Presence between several nodes over an in-memory bus that can lose messages: exact unique
// users across nodes, expiry of silent nodes, clean leaves, and resync after lost deltas.

#include "server/Presence.h"

#include <QSignalSpy>
#include <QTest>

using namespace herald;

namespace {

class SharedBus;

class BusBroker final : public Broker {
public:
    explicit BusBroker(SharedBus& bus);
    ~BusBroker() override;
    void arrive(const QString& key, const QByteArray& payload) { deliver(key, payload); }
    void subscribe(const QString& key) override { keys.insert(key); }
    void unsubscribe(const QString& key) override { keys.remove(key); }
    void publish(const QString& key, const QByteArray& payload, PublishDone done) override;
    bool isReady() const override { return !muted; }
    QString describe() const override { return QStringLiteral("bus"); }
    // Presence uses the control key only: no streams, no history.
    void publishKept(const QString&, const Retention&, const QByteArray&, const QString&,
                     KeptDone) override {}
    void readHistory(const QString&, const QString&, int, ReadDone) override {}
    bool isLive(const QString& key) const override { return keys.contains(key); }
    QSet<QString> keys;
    bool muted = false; // a crashed or cut-off node: sends nothing, hears nothing
    SharedBus& bus;
};

class SharedBus {
public:
    QList<BusBroker*> brokers;
    int dropUsersMessages = 0; // lose the next N "users" messages (a pub/sub blip)
    void deliver(const QString& key, const QByteArray& payload) {
        if (dropUsersMessages > 0 && payload.contains(R"("type":"users")")) {
            --dropUsersMessages;
            return;
        }
        for (BusBroker* b : std::as_const(brokers))
            if (!b->muted && b->keys.contains(key))
                QMetaObject::invokeMethod(
                    b, [b, key, payload] { b->arrive(key, payload); }, Qt::QueuedConnection);
    }
};

BusBroker::BusBroker(SharedBus& b)
    : bus(b) {
    bus.brokers.append(this);
}
BusBroker::~BusBroker() {
    bus.brokers.removeAll(this);
}
void BusBroker::publish(const QString& key, const QByteArray& payload, PublishDone done) {
    if (!muted)
        bus.deliver(key, payload);
    if (done)
        done(std::nullopt);
}

struct TestNode {
    TestNode(SharedBus& bus, const QString& id, qint64 connections)
        : broker(bus)
        , presence(id, 100, broker,
                   [id, this] {
                       cluster::NodeInfo n;
                       n.id = id;
                       n.connections = this->connections;
                       return n;
                   })
        , connections(connections) {}
    BusBroker broker;
    Presence presence;
    qint64 connections;
};

} // namespace

class PresenceTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void totalsCountAUserOnTwoNodesOnce() {
        SharedBus bus;
        TestNode a(bus, QStringLiteral("a"), 2), b(bus, QStringLiteral("b"), 1);
        a.presence.start();
        b.presence.start();
        a.presence.userArrived(QStringLiteral("u1"));
        b.presence.userArrived(QStringLiteral("u1"));
        b.presence.userArrived(QStringLiteral("u2"));
        for (TestNode* n : {&a, &b}) {
            QTRY_COMPARE(n->presence.totals().nodes, 2);
            QTRY_COMPARE(n->presence.totals().users, 2);
            QTRY_COMPARE(n->presence.totals().connections, 3);
        }
        b.presence.userLeft(QStringLiteral("u1")); // still on a
        b.presence.userLeft(QStringLiteral("u2"));
        QTRY_COMPARE(a.presence.totals().users, 1);
        QCOMPARE(b.presence.liveNodes().size(), 2);
        QCOMPARE(b.presence.liveNodes().first().id, QStringLiteral("b")); // self first
    }

    void silentNodeExpiresAndCleanLeaveIsImmediate() {
        SharedBus bus;
        TestNode a(bus, QStringLiteral("a"), 1), b(bus, QStringLiteral("b"), 5),
            c(bus, QStringLiteral("c"), 7);
        for (TestNode* n : {&a, &b, &c})
            n->presence.start();
        b.presence.userArrived(QStringLiteral("only-on-b"));
        QTRY_COMPARE(a.presence.totals().connections, 13);
        QTRY_COMPARE(a.presence.totals().users, 1);
        QSignalSpy left(&a.presence, &Presence::nodeLeft);
        b.broker.muted = true; // crash: no more heartbeats
        QTRY_COMPARE_WITH_TIMEOUT(a.presence.totals().connections, 8, 2000);
        QCOMPARE(a.presence.totals().users, 0);
        QCOMPARE(left.size(), 1);
        QCOMPARE(left.first().at(1).toBool(), true); // expired
        c.presence.leave();
        QTRY_COMPARE(a.presence.totals().nodes, 1);
        QCOMPARE(left.last().at(1).toBool(), false); // left cleanly
    }

    void aNodeThatCannotHearDoesNotExpireOthers() {
        // a's link to the control channel breaks (a Redis failover): it hears nobody, itself
        // included, and must not conclude that b and c are gone; b, which hears c but not a,
        // expires a as it should.
        SharedBus bus;
        TestNode a(bus, QStringLiteral("a"), 1), b(bus, QStringLiteral("b"), 5),
            c(bus, QStringLiteral("c"), 7);
        for (TestNode* n : {&a, &b, &c})
            n->presence.start();
        QTRY_COMPARE(a.presence.totals().connections, 13);
        QSignalSpy left(&a.presence, &Presence::nodeLeft);
        a.broker.muted = true;
        QTRY_COMPARE_WITH_TIMEOUT(b.presence.totals().connections, 12, 2000); // a expired on b
        QTest::qWait(600); // 6 intervals: a would have expired b and c twice over
        QCOMPARE(left.size(), 0);
        QCOMPARE(a.presence.totals().connections, 13);
        a.broker.muted = false; // heard again: still nobody expired
        QTRY_COMPARE(b.presence.totals().connections, 13);
        QTest::qWait(300);
        QCOMPARE(left.size(), 0);
        // Silence while a hears itself is a real departure.
        c.broker.muted = true;
        QTRY_COMPARE_WITH_TIMEOUT(a.presence.totals().connections, 6, 2000);
    }

    void lostDeltasAreHealedByResync() {
        SharedBus bus;
        TestNode a(bus, QStringLiteral("a"), 1), b(bus, QStringLiteral("b"), 1);
        a.presence.start();
        b.presence.start();
        QTRY_COMPARE(a.presence.totals().nodes, 2);
        bus.dropUsersMessages = 1; // b's next delta is lost
        b.presence.userArrived(QStringLiteral("x"));
        b.presence.userArrived(QStringLiteral("y"));
        QTRY_COMPARE(a.presence.totals().users,
                     2); // heartbeat announces seq; a asks for the full set
        bus.dropUsersMessages = 1;
        b.presence.userLeft(QStringLiteral("x"));
        QTRY_COMPARE(a.presence.totals().users, 1);
    }

    void returningNodeIsResynced() {
        SharedBus bus;
        TestNode a(bus, QStringLiteral("a"), 1), b(bus, QStringLiteral("b"), 1);
        a.presence.start();
        b.presence.start();
        b.presence.userArrived(QStringLiteral("u"));
        QTRY_COMPARE(a.presence.totals().users, 1);
        b.broker.muted = true; // network cut: a drops b
        QTRY_COMPARE(a.presence.totals().nodes, 1);
        QCOMPARE(a.presence.totals().users, 0);
        b.broker.muted = false; // back: heartbeats resume, a resyncs b's users
        QTRY_COMPARE(a.presence.totals().nodes, 2);
        QTRY_COMPARE(a.presence.totals().users, 1);
    }

    void brokerLagIsMeasured() {
        SharedBus bus;
        TestNode a(bus, QStringLiteral("a"), 0);
        a.presence.start();
        QTRY_VERIFY(a.presence.brokerLagMs() >= 0);
    }
};

QTEST_GUILESS_MAIN(PresenceTest)
#include "tst_presence.moc"
