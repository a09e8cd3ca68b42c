#include "tests/common/RedisProcess.h"

#include <csignal>

#include <QDeadlineTimer>
#include <QFile>
#include <QHostAddress>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslSocket>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTest>

namespace herald::test {
namespace {

quint16 freeLoopbackPort() {
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort(); // closed on return; redis-server takes it a moment later
}

} // namespace

RedisProcess::RedisProcess(QStringList extraArgs, RedisTls tls)
    : extraArgs_(std::move(extraArgs))
    , tls_(tls) {}

RedisProcess::~RedisProcess() {
    stop();
}

QString RedisProcess::binary() {
    return QStandardPaths::findExecutable(QStringLiteral("redis-server"));
}

bool RedisProcess::isRunning() const {
    return process_ && process_->state() != QProcess::NotRunning;
}

QString RedisProcess::url(const QByteArray& password) const {
    const QString auth =
        password.isEmpty()
            ? QString()
            : QString(QLatin1Char(':') + QString::fromUtf8(password) + QLatin1Char('@'));
    if (tls_ == RedisTls::Off)
        return QStringLiteral("redis://") + auth + QStringLiteral("127.0.0.1:") +
               QString::number(port_);
    QString options = QStringLiteral("?ca=") + caFile();
    if (tls_ == RedisTls::ClientCertificate)
        options +=
            QStringLiteral("&cert=") + clientCertFile() + QStringLiteral("&key=") + clientKeyFile();
    return QStringLiteral("rediss://") + auth + QStringLiteral("127.0.0.1:") +
           QString::number(port_) + options;
}

QString RedisProcess::file(const char* name) const {
    return haveCertificates_ ? dir_.filePath(QString::fromLatin1(name)) : QString();
}
QString RedisProcess::caFile() const {
    return file("ca.pem");
}
QString RedisProcess::clientCertFile() const {
    return file("client.pem");
}
QString RedisProcess::clientKeyFile() const {
    return file("client.key");
}
QString RedisProcess::otherCaFile() const {
    return file("other-ca.pem");
}

bool RedisProcess::makeCertificates(QString* error) {
    const QString openssl = QStandardPaths::findExecutable(QStringLiteral("openssl"));
    if (openssl.isEmpty()) {
        *error = QStringLiteral("openssl not found (the TLS tests make their certificates with "
                                "it): apt-get install openssl");
        return false;
    }
    QFile extensions(dir_.filePath(QStringLiteral("ext.cnf")));
    if (!extensions.open(QIODevice::WriteOnly) ||
        extensions.write("[server]\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
                         "extendedKeyUsage=serverAuth\n"
                         "[client]\nextendedKeyUsage=clientAuth\n") < 0) {
        *error = QStringLiteral("cannot write %1").arg(extensions.fileName());
        return false;
    }
    extensions.close();
    const QStringList ecKey{
        QStringLiteral("-newkey"), QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
        QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes")};
    auto selfSigned = [&](const QString& name, const QString& subject) {
        return QStringList{QStringLiteral("req"), QStringLiteral("-x509")} + ecKey +
               QStringList{QStringLiteral("-keyout"), name + QStringLiteral(".key"),
                           QStringLiteral("-out"),    name + QStringLiteral(".pem"),
                           QStringLiteral("-days"),   QStringLiteral("2"),
                           QStringLiteral("-subj"),   subject};
    };
    auto request = [&](const QString& name, const QString& subject) {
        return QStringList{QStringLiteral("req"), QStringLiteral("-new")} + ecKey +
               QStringList{QStringLiteral("-keyout"), name + QStringLiteral(".key"),
                           QStringLiteral("-out"),    name + QStringLiteral(".csr"),
                           QStringLiteral("-subj"),   subject};
    };
    auto sign = [&](const QString& name, const QString& serial) {
        return QStringList{QStringLiteral("x509"),        QStringLiteral("-req"),
                           QStringLiteral("-in"),         name + QStringLiteral(".csr"),
                           QStringLiteral("-CA"),         QStringLiteral("ca.pem"),
                           QStringLiteral("-CAkey"),      QStringLiteral("ca.key"),
                           QStringLiteral("-set_serial"), serial,
                           QStringLiteral("-days"),       QStringLiteral("2"),
                           QStringLiteral("-out"),        name + QStringLiteral(".pem"),
                           QStringLiteral("-extfile"),    QStringLiteral("ext.cnf"),
                           QStringLiteral("-extensions"), name};
    };
    const QList<QStringList> steps{
        selfSigned(QStringLiteral("ca"), QStringLiteral("/CN=Herald test CA")),
        selfSigned(QStringLiteral("other-ca"), QStringLiteral("/CN=Herald unrelated CA")),
        request(QStringLiteral("server"), QStringLiteral("/CN=localhost")),
        sign(QStringLiteral("server"), QStringLiteral("1001")),
        request(QStringLiteral("client"), QStringLiteral("/CN=herald-test-client")),
        sign(QStringLiteral("client"), QStringLiteral("1002"))};
    for (const QStringList& args : steps) {
        QProcess run;
        run.setWorkingDirectory(dir_.path());
        run.setProcessChannelMode(QProcess::MergedChannels);
        run.start(openssl, args);
        if (!run.waitForFinished(30000) || run.exitStatus() != QProcess::NormalExit ||
            run.exitCode() != 0) {
            *error = QStringLiteral("openssl %1 failed: %2")
                         .arg(args.join(QLatin1Char(' ')), QString::fromLocal8Bit(run.readAll()));
            return false;
        }
    }
    haveCertificates_ = true;
    return true;
}

QString RedisProcess::output() const {
    if (process_)
        captured_ += process_->readAll();
    return QString::fromLocal8Bit(captured_);
}

bool RedisProcess::start(QString* error, int timeoutMs) {
    if (binary().isEmpty()) {
        *error = QStringLiteral("redis-server not found: apt-get install redis-server");
        return false;
    }
    if (tls_ != RedisTls::Off && !haveCertificates_ && !makeCertificates(error))
        return false;
    // Another process may grab the probed port before redis binds it: try a few ports.
    QString last;
    for (int attempt = 0; attempt < 5; ++attempt) {
        const quint16 port = freeLoopbackPort();
        if (port != 0 && launch(port, &last, timeoutMs))
            return true;
    }
    *error = QStringLiteral("redis-server did not start: ") + last;
    return false;
}

bool RedisProcess::restart(QString* error, int timeoutMs) {
    stop();
    // The same port, so clients reconnect to where they were; retry while it is still held.
    const QDeadlineTimer deadline(timeoutMs);
    QString last;
    while (!deadline.hasExpired()) {
        if (launch(port_, &last, static_cast<int>(deadline.remainingTime())))
            return true;
        QTest::qWait(100);
    }
    *error = QStringLiteral("redis-server did not restart on port %1: %2").arg(port_).arg(last);
    return false;
}

bool RedisProcess::launch(quint16 port, QString* error, int timeoutMs) {
    stop();
    port_ = port;
    captured_.clear();
    process_ = std::make_unique<QProcess>();
    process_->setProcessChannelMode(QProcess::MergedChannels);
    QStringList args{QStringLiteral("--save"),       QString(),
                     QStringLiteral("--appendonly"), QStringLiteral("no"),
                     QStringLiteral("--dir"),        dir_.path()};
    if (tls_ == RedisTls::Off)
        args += {QStringLiteral("--port"), QString::number(port), QStringLiteral("--bind"),
                 QStringLiteral("127.0.0.1")};
    else // the arguments docs/operations.md ("Redis over TLS") shows
        args +=
            {QStringLiteral("--port"),
             QStringLiteral("0"),
             QStringLiteral("--tls-port"),
             QString::number(port),
             QStringLiteral("--bind"),
             QStringLiteral("127.0.0.1"),
             QStringLiteral("127.0.0.2"),
             QStringLiteral("--tls-cert-file"),
             dir_.filePath(QStringLiteral("server.pem")),
             QStringLiteral("--tls-key-file"),
             dir_.filePath(QStringLiteral("server.key")),
             QStringLiteral("--tls-ca-cert-file"),
             caFile(),
             QStringLiteral("--tls-auth-clients"),
             tls_ == RedisTls::ClientCertificate ? QStringLiteral("yes") : QStringLiteral("no")};
    args += extraArgs_;
    process_->start(binary(), args);
    if (!process_->waitForStarted(5000)) {
        *error = QStringLiteral("cannot run %1: %2").arg(binary(), process_->errorString());
        return false;
    }
    const QDeadlineTimer deadline(timeoutMs);
    while (!deadline.hasExpired()) {
        if (!isRunning()) {
            *error = QStringLiteral("redis-server exited: ") + output();
            return false;
        }
        if (answersPing(500))
            return true;
        QTest::qWait(20);
    }
    *error =
        QStringLiteral("redis-server did not answer PING on port %1: %2").arg(port).arg(output());
    stop();
    return false;
}

bool RedisProcess::answersPing(int timeoutMs) const {
    // A raw inline PING: the answer is +PONG, or -NOAUTH on a password-protected server. Over
    // TLS the probe does not verify Redis (the tests do that); it shows its client certificate.
    QSslSocket socket;
    if (tls_ != RedisTls::Off) {
        QSslConfiguration config = socket.sslConfiguration();
        config.setPeerVerifyMode(QSslSocket::VerifyNone);
        config.setLocalCertificateChain(QSslCertificate::fromPath(clientCertFile()));
        QFile key(clientKeyFile());
        if (key.open(QIODevice::ReadOnly))
            config.setPrivateKey(QSslKey(key.readAll(), QSsl::Ec));
        socket.setSslConfiguration(config);
        socket.connectToHostEncrypted(QStringLiteral("127.0.0.1"), port_);
    } else {
        socket.connectToHost(QHostAddress::LocalHost, port_);
    }
    if (!QTest::qWaitFor(
            [&] {
                return (socket.state() == QAbstractSocket::ConnectedState &&
                        (tls_ == RedisTls::Off || socket.isEncrypted())) ||
                       socket.state() == QAbstractSocket::UnconnectedState;
            },
            timeoutMs) ||
        socket.state() != QAbstractSocket::ConnectedState)
        return false;
    socket.write("PING\r\n");
    if (!QTest::qWaitFor(
            [&] {
                return socket.canReadLine() || socket.state() != QAbstractSocket::ConnectedState;
            },
            timeoutMs))
        return false;
    const QByteArray line = socket.readLine();
    return line.startsWith("+PONG") || line.startsWith("-NOAUTH");
}

void RedisProcess::stop() {
    if (!process_)
        return;
    if (isRunning()) {
        process_->kill();
        process_->waitForFinished(5000);
    }
    captured_ += process_->readAll();
}

void RedisProcess::freeze() {
    if (isRunning())
        ::kill(static_cast<pid_t>(process_->processId()), SIGSTOP);
}

void RedisProcess::thaw() {
    if (isRunning())
        ::kill(static_cast<pid_t>(process_->processId()), SIGCONT);
}

} // namespace herald::test
