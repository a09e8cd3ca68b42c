#include "tests/common/TlsTestKit.h"

#include <QEventLoop>
#include <QFile>
#include <QSaveFile>
#include <QSslSocket>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>
#include <functional>
#include <list>
#include <sys/socket.h>

namespace herald::test {
namespace {

const char* const kPythonClient = R"PY(
import asyncio, json, ssl, sys, urllib.request
try:
    import websockets
except ImportError:
    print("MISSING the websockets module: install python3-websockets (packaging/bootstrap.sh)",
          flush=True)
    sys.exit(3)

port, cafile, stream = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.create_default_context(cafile=cafile)
with urllib.request.urlopen(f"https://localhost:{port}/healthz", context=context,
                            timeout=30) as reply:
    print("HEALTHZ", reply.status, flush=True)

async def main():
    async with websockets.connect(f"wss://localhost:{port}/public", ssl=context,
                                  open_timeout=30) as ws:
        print("WELCOME", json.loads(await ws.recv())["event"], flush=True)
        await ws.send(json.dumps({"event": "subscribe", "streams": [stream]}))
        print("SUBSCRIBED", json.loads(await ws.recv())["event"], flush=True)
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if event["event"] == "message":
                print("MESSAGE", json.dumps(event["data"]), flush=True)
                return

asyncio.run(main())
)PY";

constexpr char kTlsHandshakeRecord = 0x16;

// A real ClientHello, as Qt's client sends it: replayed from a plain socket, it lets a test
// hang up on the node after its answer has arrived, so that each connection is paced by the
// node and leaves TLS state there to clean up.
QByteArray recordedClientHello() {
    QTcpServer listener;
    if (!listener.listen(QHostAddress::LocalHost))
        return {};
    QSslSocket client;
    client.connectToHostEncrypted(QStringLiteral("localhost"), listener.serverPort());
    QTcpSocket* peer = nullptr;
    QByteArray bytes;
    auto complete = [&] {
        if (!peer && listener.hasPendingConnections())
            peer = listener.nextPendingConnection();
        if (peer)
            bytes += peer->readAll();
        return bytes.size() >= 5 &&
               bytes.size() >= 5 + ((quint8(bytes[3]) << 8) | quint8(bytes[4]));
    };
    if (!QTest::qWaitFor(complete, 20000))
        return {};
    return bytes.left(5 + ((quint8(bytes[3]) << 8) | quint8(bytes[4])));
}

QString leafSubject(const QString& name) {
    return QStringLiteral("/CN=herald-test-") + name;
}

} // namespace

bool TestPki::openssl(const QStringList& args, QString* error) {
    QProcess process;
    process.setWorkingDirectory(dir_.path());
    process.start(openssl_, args);
    if (!process.waitForFinished(60000) || process.exitStatus() != QProcess::NormalExit ||
        process.exitCode() != 0) {
        *error = QStringLiteral("openssl %1 failed: %2")
                     .arg(args.join(QLatin1Char(' ')),
                          QString::fromUtf8(process.readAllStandardError()));
        return false;
    }
    return true;
}

bool TestPki::make(QString* error) {
    openssl_ = QStandardPaths::findExecutable(QStringLiteral("openssl"));
    if (openssl_.isEmpty()) {
        *error = QStringLiteral("the openssl command is missing: install the openssl package "
                                "(packaging/bootstrap.sh installs the test tools)");
        return false;
    }
    if (!dir_.isValid()) {
        *error = QStringLiteral("no temporary directory");
        return false;
    }
    // EC P-256 keys: quick to make and to handshake with on a busy machine.
    const QStringList ec{QStringLiteral("-newkey"), QStringLiteral("ec"),
                         QStringLiteral("-pkeyopt"),
                         QStringLiteral("ec_paramgen_curve:prime256v1")};
    const QStringList ca{
        QStringLiteral("-addext"), QStringLiteral("basicConstraints=critical,CA:TRUE"),
        QStringLiteral("-addext"), QStringLiteral("keyUsage=critical,keyCertSign,cRLSign")};
    auto request = [&](const QStringList& extra) {
        return QStringList{QStringLiteral("req"), QStringLiteral("-x509"),
                           QStringLiteral("-nodes")} +
               ec + extra;
    };
    if (!openssl(
            request(QStringList{QStringLiteral("-keyout"), QStringLiteral("root.key"),
                                QStringLiteral("-out"), QStringLiteral("root.crt"),
                                QStringLiteral("-days"), QStringLiteral("30"),
                                QStringLiteral("-subj"), QStringLiteral("/CN=Herald Test Root")} +
                    ca),
            error))
        return false;
    // OpenSSL 3's req signs with another certificate's key when given -CA/-CAkey.
    if (!openssl(request(QStringList{QStringLiteral("-CA"), QStringLiteral("root.crt"),
                                     QStringLiteral("-CAkey"), QStringLiteral("root.key"),
                                     QStringLiteral("-keyout"), QStringLiteral("intermediate.key"),
                                     QStringLiteral("-out"), QStringLiteral("intermediate.crt"),
                                     QStringLiteral("-days"), QStringLiteral("30"),
                                     QStringLiteral("-subj"),
                                     QStringLiteral("/CN=Herald Test Intermediate")} +
                         ca),
                 error))
        return false;
    for (const auto& [name, days] :
         {std::pair{QStringLiteral("one"), 5}, std::pair{QStringLiteral("two"), 30}}) {
        if (!openssl(
                request({QStringLiteral("-CA"), QStringLiteral("intermediate.crt"),
                         QStringLiteral("-CAkey"), QStringLiteral("intermediate.key"),
                         QStringLiteral("-keyout"), name + QStringLiteral(".key"),
                         QStringLiteral("-out"), name + QStringLiteral(".crt"),
                         QStringLiteral("-days"), QString::number(days), QStringLiteral("-subj"),
                         leafSubject(name), QStringLiteral("-addext"),
                         QStringLiteral("subjectAltName=DNS:localhost,IP:127.0.0.1"),
                         QStringLiteral("-addext"),
                         QStringLiteral("basicConstraints=critical,CA:FALSE"),
                         QStringLiteral("-addext"), QStringLiteral("extendedKeyUsage=serverAuth")}),
                error))
            return false;
    }
    // A passphrase-protected key, and a certificate that expired in 2020: `openssl ca` is the
    // command that takes explicit dates (it wants a small config and a database).
    if (!openssl(QStringList{QStringLiteral("req"), QStringLiteral("-x509")} + ec +
                     QStringList{QStringLiteral("-keyout"), QStringLiteral("encrypted.key"),
                                 QStringLiteral("-out"), QStringLiteral("encrypted.crt"),
                                 QStringLiteral("-days"), QStringLiteral("2"),
                                 QStringLiteral("-subj"), QStringLiteral("/CN=encrypted"),
                                 QStringLiteral("-passout"), QStringLiteral("pass:secret")},
                 error))
        return false;
    if (!writeLive(dir_.path(), QStringLiteral("ca.cnf"),
                   "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\n"
                   "serial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n") ||
        !writeLive(dir_.path(), QStringLiteral("index.txt"), "") ||
        !writeLive(dir_.path(), QStringLiteral("serial"), "1000\n"))
        return false;
    if (!openssl(
            QStringList{QStringLiteral("req"), QStringLiteral("-new"), QStringLiteral("-nodes")} +
                ec +
                QStringList{QStringLiteral("-keyout"), QStringLiteral("expired.key"),
                            QStringLiteral("-out"), QStringLiteral("expired.csr"),
                            QStringLiteral("-subj"), QStringLiteral("/CN=expired")},
            error) ||
        !openssl({QStringLiteral("ca"), QStringLiteral("-batch"), QStringLiteral("-config"),
                  QStringLiteral("ca.cnf"), QStringLiteral("-selfsign"), QStringLiteral("-keyfile"),
                  QStringLiteral("expired.key"), QStringLiteral("-in"),
                  QStringLiteral("expired.csr"), QStringLiteral("-out"),
                  QStringLiteral("expired.crt"), QStringLiteral("-startdate"),
                  QStringLiteral("20200101000000Z"), QStringLiteral("-enddate"),
                  QStringLiteral("20200102000000Z")},
                 error))
        return false;
    return writeLive(dir_.path(), QStringLiteral("garbage.txt"), "not a certificate\n");
}

QList<QSslCertificate> TestPki::trusted() const {
    return QSslCertificate::fromPath(path(QStringLiteral("root.crt")));
}

QSslCertificate TestPki::certificate(const QString& leaf) const {
    const auto list = QSslCertificate::fromPath(path(leaf + QStringLiteral(".crt")));
    return list.isEmpty() ? QSslCertificate() : list.first();
}

QSslConfiguration TestPki::clientConfiguration() const {
    QSslConfiguration c = QSslConfiguration::defaultConfiguration();
    c.setCaCertificates(trusted());
    return c;
}

bool TestPki::install(const QString& leaf, const QString& dir) const {
    QFile cert(path(leaf + QStringLiteral(".crt")));
    QFile key(path(leaf + QStringLiteral(".key")));
    return cert.open(QIODevice::ReadOnly) && key.open(QIODevice::ReadOnly) &&
           writeLive(dir, QStringLiteral("tls.crt"), cert.readAll()) &&
           writeLive(dir, QStringLiteral("tls.key"), key.readAll());
}

bool TestPki::writeLive(const QString& dir, const QString& name, const QByteArray& bytes) {
    QSaveFile file(dir + QLatin1Char('/') + name); // written aside, then renamed over
    return file.open(QIODevice::WriteOnly) && file.write(bytes) == bytes.size() && file.commit();
}

QSslCertificate tlsPeerCertificate(quint16 port, const QList<QSslCertificate>& trusted,
                                   QString* why, int timeoutMs) {
    QSslSocket socket;
    QSslConfiguration c = QSslConfiguration::defaultConfiguration();
    c.setCaCertificates(trusted); // empty: nothing is trusted, not even the system's CAs
    socket.setSslConfiguration(c);
    QObject::connect(&socket, &QSslSocket::sslErrors, &socket,
                     [why](const QList<QSslError>& errors) {
                         if (!errors.isEmpty())
                             *why = errors.first().errorString();
                     });
    socket.connectToHostEncrypted(QStringLiteral("localhost"), port);
    (void)QTest::qWaitFor(
        [&] { return socket.isEncrypted() || socket.state() == QAbstractSocket::UnconnectedState; },
        timeoutMs);
    if (!socket.isEncrypted()) {
        if (why->isEmpty())
            *why = socket.errorString();
        return QSslCertificate();
    }
    const QSslCertificate peer = socket.peerCertificate();
    socket.disconnectFromHost();
    return peer;
}

PlainAnswer plainRequest(quint16 port, const QByteArray& request, int timeoutMs) {
    PlainAnswer answer;
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(timeoutMs))
        return answer;
    socket.write(request);
    QObject::connect(&socket, &QTcpSocket::readyRead, &socket,
                     [&] { answer.bytes += socket.readAll(); });
    answer.closedByServer = QTest::qWaitFor(
        [&] { return socket.state() == QAbstractSocket::UnconnectedState; }, timeoutMs);
    answer.bytes += socket.readAll();
    return answer;
}

int failHandshakes(quint16 port, BadHandshake kind, int count, QString* problem, int parallel,
                   int timeoutMs) {
    QEventLoop loop;
    int started = 0;
    int finished = 0;
    int good = 0;
    QSslConfiguration trustingNothing = QSslConfiguration::defaultConfiguration();
    trustingNothing.setCaCertificates({});
    const QByteArray hello = kind == BadHandshake::AbandonedHello ? recordedClientHello() : "";
    if (kind == BadHandshake::AbandonedHello && hello.isEmpty()) {
        if (problem)
            *problem = QStringLiteral("could not record a ClientHello");
        return 0;
    }
    // What each connection received; outlives its socket, whether it ended in time or not.
    std::list<QByteArray> receivedBy;
    std::function<void()> startOne = [&] {
        if (started >= count)
            return;
        const int index = started++;
        QTcpSocket* socket = nullptr;
        if (kind == BadHandshake::UntrustingPeer) {
            auto* tls = new QSslSocket(&loop);
            tls->setSslConfiguration(trustingNothing);
            QObject::connect(tls, &QSslSocket::sslErrors, tls,
                             [tls] { tls->setProperty("refused", true); });
            socket = tls;
        } else {
            socket = new QTcpSocket(&loop);
        }
        QByteArray* received = &receivedBy.emplace_back();
        socket->bind(QHostAddress(QStringLiteral("127.0.0.%1").arg(1 + index % 8)), 0);
        QObject::connect(socket, &QTcpSocket::connected, socket, [socket, kind, &hello] {
            switch (kind) {
            case BadHandshake::PlainHttp:
                socket->write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                break;
            case BadHandshake::AbandonedHello:
                socket->write(hello);
                break;
            case BadHandshake::Garbage:
                socket->write(QByteArray("\x01\x02\x03 not tls\r\n\r\n", 15));
                break;
            case BadHandshake::TruncatedHello:
            case BadHandshake::StalledHello:
                // A handshake record announcing 512 bytes, of which a few arrive.
                socket->write(QByteArray("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
                if (kind == BadHandshake::TruncatedHello) {
                    // Half-closed, so the connection ends only when the node has closed its
                    // side: one connection at a time per slot, not a burst.
                    socket->flush();
                    ::shutdown(static_cast<int>(socket->socketDescriptor()), SHUT_WR);
                }
                break;
            default:
                break;
            }
        });
        QObject::connect(socket, &QTcpSocket::readyRead, socket, [socket, received, kind] {
            if (qobject_cast<QSslSocket*>(socket))
                return;
            *received += socket->readAll();
            // The node has answered the hello and holds its TLS state: hang up, without an alert.
            if (kind == BadHandshake::AbandonedHello)
                socket->disconnectFromHost();
        });
        QObject::connect(socket, &QTcpSocket::readChannelFinished, socket,
                         [socket] { socket->disconnectFromHost(); });
        auto done = [&, socket, received, index] {
            bool ok = false;
            switch (kind) {
            case BadHandshake::PlainHttp:
                ok = received->startsWith("HTTP/1.1 400 ") && received->contains("speaks TLS");
                break;
            case BadHandshake::UntrustingPeer:
                ok = socket->property("refused").toBool() &&
                     !static_cast<QSslSocket*>(socket)->isEncrypted();
                break;
            case BadHandshake::AbandonedHello:
                ok = received->startsWith(kTlsHandshakeRecord); // the node's ServerHello
                break;
            default:
                ok = received->isEmpty();
                break;
            }
            if (ok)
                ++good;
            else if (problem && problem->isEmpty())
                *problem = QStringLiteral("connection %1 (%2) got: %3")
                               .arg(index)
                               .arg(socket->errorString(),
                                    QString::fromLatin1(received->left(200).toPercentEncoding()));
            received->clear();
            socket->deleteLater();
            if (++finished == count)
                loop.quit();
            else
                startOne();
        };
        QObject::connect(socket, &QTcpSocket::stateChanged, socket,
                         [socket, done](QAbstractSocket::SocketState state) {
                             if (state == QAbstractSocket::UnconnectedState &&
                                 !socket->property("done").toBool()) {
                                 socket->setProperty("done", true);
                                 done();
                             }
                         });
        if (auto* tls = qobject_cast<QSslSocket*>(socket))
            tls->connectToHostEncrypted(QStringLiteral("127.0.0.1"), port);
        else
            socket->connectToHost(QHostAddress::LocalHost, port);
    };
    for (int i = 0; i < parallel; ++i)
        startOne();
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    if (count > 0)
        loop.exec();
    // The sockets die with `loop`, after startOne and receivedBy: none may call back into them.
    for (QTcpSocket* s : loop.findChildren<QTcpSocket*>())
        s->disconnect();
    if (finished < count && problem && problem->isEmpty())
        *problem = QStringLiteral("%1 of %2 connections did not end in time")
                       .arg(count - finished)
                       .arg(count);
    return good;
}

PythonClient::~PythonClient() {
    if (process_.state() != QProcess::NotRunning) {
        process_.kill();
        process_.waitForFinished(5000);
    }
}

bool PythonClient::start(quint16 port, const QString& caFile, const QString& stream,
                         QString* error) {
    // Debian's interpreter: python3 on PATH may be another build without Debian's modules.
    const QString python = QStringLiteral("/usr/bin/python3");
    if (!QFile::exists(python)) {
        *error = QStringLiteral("%1 is missing: install python3 and python3-websockets "
                                "(packaging/bootstrap.sh)")
                     .arg(python);
        return false;
    }
    const QString script = dir_.filePath(QStringLiteral("client.py"));
    if (!TestPki::writeLive(dir_.path(), QStringLiteral("client.py"), kPythonClient)) {
        *error = QStringLiteral("cannot write %1").arg(script);
        return false;
    }
    process_.setProcessChannelMode(QProcess::MergedChannels);
    process_.start(python, {script, QString::number(port), caFile, stream});
    if (!process_.waitForStarted(20000)) {
        *error = QStringLiteral("cannot start %1: %2").arg(python, process_.errorString());
        return false;
    }
    return true;
}

bool PythonClient::waitForLine(const QByteArray& prefix, int timeoutMs) {
    return QTest::qWaitFor(
        [&] {
            out_ += process_.readAll();
            return out_.startsWith(prefix) || out_.contains(QByteArray(QByteArray("\n") + prefix));
        },
        timeoutMs);
}

int PythonClient::waitForExit(int timeoutMs) {
    const bool ended =
        QTest::qWaitFor([&] { return process_.state() == QProcess::NotRunning; }, timeoutMs);
    out_ += process_.readAll();
    return ended && process_.exitStatus() == QProcess::NormalExit ? process_.exitCode() : -1;
}

QString PythonClient::output() {
    out_ += process_.readAll();
    return QString::fromUtf8(out_);
}

} // namespace herald::test
